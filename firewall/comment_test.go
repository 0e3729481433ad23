package firewall

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/ctmatch/ctmatch"
	"github.com/ctmatch/ctmatch/expr"
)

// A rule's -m comment is nft's comment on each of its nft rules, next to
// the group record, whether the change gives the rule or a Prepared one;
// List gives the same words back, from the record or, without it, from the
// expressions and the comment.
func TestApplyMatchComment(t *testing.T) {
	ctx := context.Background()
	f := newFakeConn()
	c := f.client()
	const words = `-m conntrack --ctstate NEW,DNAT -m comment --comment "new flows" -j ACCEPT`
	r := translate(t, expr.FamilyInet, words)
	p, err := Prepare(translate(t, expr.FamilyInet, words))
	if err != nil {
		t.Fatal(err)
	}
	changes := []Change{
		{Family: expr.FamilyInet, Table: "fw", Chain: "input", Rule: r},
		{Family: expr.FamilyInet, Table: "fw", Chain: "input", Prepared: p},
		{Family: expr.FamilyInet, Table: "fw", Chain: "input", Rule: r, Comment: "new flows"},
	}
	if _, err := c.Apply(ctx, changes, ApplyOptions{Create: true}); err != nil {
		t.Fatal(err)
	}
	rules := f.table(expr.FamilyInet, "fw").chain("input").rules
	if len(rules) != 6 {
		t.Fatalf("%d nft rules, want three groups of two", len(rules))
	}
	for _, kr := range rules {
		comment, g, err := expr.ParseUserData(kr.UserData)
		if err != nil || comment != "new flows" || g.Words != words {
			t.Errorf("handle %d: comment %q, group %+v, %v", kr.Handle, comment, g, err)
		}
	}
	l, err := c.List(ctx, Scope{Family: expr.FamilyInet, Table: "fw"})
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range l.Tables[0].Chains[0].Groups {
		if g.Rule == nil || ctmatch.Words(g.Rule) != words {
			t.Errorf("listed %+v, want %q", g, words)
		}
	}
	// Without the group records, the comment and the expressions say the
	// same.
	ch := f.addTable(expr.FamilyInet, "bare", nil).addChain("in", nil)
	for _, b := range lowered(t, r) {
		f.addRule(ch, b, nftComment("new flows"), nil)
	}
	l, err = c.List(ctx, Scope{Family: expr.FamilyInet, Table: "bare"})
	if err != nil {
		t.Fatal(err)
	}
	groups := l.Tables[0].Chains[0].Groups
	if len(groups) != 2 {
		t.Fatalf("%d groups listed without records, want 2", len(groups))
	}
	for _, g := range groups {
		if g.Rule == nil || g.Pieces[0].Comment != "new flows" {
			t.Fatalf("listed: %+v", g)
		}
	}
	if got, want := ctmatch.Words(groups[0].Rule), `-m conntrack --ctstate NEW -m comment --comment "new flows" -j ACCEPT`; got != want {
		t.Errorf("listed %q, want %q", got, want)
	}
}

// A rule with a comment of its own takes no other: an nft rule has one.
func TestApplyTwoComments(t *testing.T) {
	f := newFakeConn()
	r := translate(t, expr.FamilyInet, "-m comment --comment ssh -j ACCEPT")
	_, err := f.client().Apply(context.Background(), []Change{{Family: expr.FamilyInet, Table: "fw", Chain: "input", Rule: r, Comment: "other"}}, ApplyOptions{Create: true})
	if !errors.Is(err, ErrInvalidChange) {
		t.Errorf("Comment next to -m comment: %v, want ErrInvalidChange", err)
	}
}

// A comment nft could not hold is refused before anything is sent: longer
// than 128 bytes, with a double quote, with a NUL.
func TestApplyCommentNftCannotHold(t *testing.T) {
	ctx := context.Background()
	f := newFakeConn()
	c := f.client()
	r := translate(t, expr.FamilyInet, "-j ACCEPT")
	for _, comment := range []string{string(make([]byte, 129)), `a"b`, "a\x00b", strings.Repeat("x", 129)} {
		_, err := c.Apply(ctx, []Change{{Family: expr.FamilyInet, Table: "fw", Chain: "input", Rule: r, Comment: comment}}, ApplyOptions{Create: true})
		if !errors.Is(err, ErrInvalidChange) {
			t.Errorf("comment %q: %v, want ErrInvalidChange", comment, err)
		}
	}
	if f.table(expr.FamilyInet, "fw") != nil {
		t.Error("a refused change created the table")
	}
	if _, err := c.Apply(ctx, []Change{{Family: expr.FamilyInet, Table: "fw", Chain: "input", Rule: r, Comment: strings.Repeat("x", 128)}}, ApplyOptions{Create: true}); err != nil {
		t.Errorf("a comment of 128 bytes: %v", err)
	}
}
