package firewall

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ctmatch/ctmatch"
	"github.com/ctmatch/ctmatch/expr"
)

// Deleting any rule of a group deletes the group; a rule in no group goes
// alone.
func TestDelete(t *testing.T) {
	ctx := context.Background()
	const fam = expr.FamilyIP
	f := newFakeConn()
	ch := f.addTable(fam, "fw", nil).addChain("in", nil)
	grouped := translate(t, fam, "-m conntrack --ctstate NEW,DNAT -j ACCEPT")
	var hs []uint64
	for i, b := range lowered(t, grouped) {
		ud, _ := expr.Group{ID: 1, Index: i, Count: 2}.UserData("")
		hs = append(hs, f.addRule(ch, b, ud, nil))
	}
	single := f.addRule(ch, lowered(t, translate(t, fam, "-m conntrack --ctstate INVALID -j DROP"))[0], nil, nil)
	// Two rules without records that one iptables rule compiles to (as nft
	// loads translate's output, or as someone writes them by hand, each
	// with its comment): nothing says they are one rule's pieces, so each
	// is deleted alone.
	var shaped []uint64
	for i, b := range lowered(t, translate(t, fam, "-m conntrack ! --ctstate SNAT -j DROP")) {
		shaped = append(shaped, f.addRule(ch, b, nftComment(fmt.Sprintf("by hand %d", i)), nil))
	}
	xt := f.addRule(ch, xtRule(), nil, nil)

	c := f.client()
	res, err := c.Delete(ctx, fam, "fw", "in", hs[1], DeleteOptions{Check: true})
	if err != nil || !res.Checked || len(ch.rules) != 6 {
		t.Fatalf("check: %v, %+v; %d rules left, want 6", err, res, len(ch.rules))
	}
	for _, step := range []struct {
		handle uint64
		gone   []uint64
		words  string
	}{
		{hs[1], hs, "-m conntrack --ctstate NEW,DNAT -j ACCEPT"},
		{shaped[0], shaped[:1], `-m conntrack --ctstate INVALID,UNTRACKED -m comment --comment "by hand 0" -j DROP`},
		{shaped[1], shaped[1:], `-m conntrack ! --ctstate SNAT -m conntrack ! --ctstatus NONE -m comment --comment "by hand 1" -j DROP`},
		{single, []uint64{single}, "-m conntrack --ctstate INVALID -j DROP"},
		{xt, []uint64{xt}, ""},
	} {
		res, err := c.Delete(ctx, fam, "fw", "in", step.handle, DeleteOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(step.gone, res.Handles); diff != "" {
			t.Errorf("delete handle %d (-want +got):\n%s", step.handle, diff)
		}
		if ctmatch.Words(res.Rule) != step.words {
			t.Errorf("delete handle %d: rule %q, want %q", step.handle, ctmatch.Words(res.Rule), step.words)
		}
		ch = f.table(fam, "fw").chain("in")
		for _, r := range ch.rules {
			for _, h := range step.gone {
				if r.Handle == h {
					t.Errorf("handle %d is still there", h)
				}
			}
		}
	}
	_, err = c.Delete(ctx, fam, "fw", "in", hs[0], DeleteOptions{})
	if !errors.Is(err, ErrNoRule) || err.Error() != fmt.Sprintf("delete rule ip fw in handle %d: no rule with handle %d in chain ip fw in", hs[0], hs[0]) ||
		hintOf(err) != "ctmatch list chain ip fw in -a shows the handles" {
		t.Errorf("delete of a handle that is gone: %v (hint %q)", err, hintOf(err))
	}
}

// A rule another program put between the pieces of a group (nft add rule
// … position H) splits it in List; deleting either piece still deletes
// the whole group, and the rule between stays.
func TestDeleteScatteredGroup(t *testing.T) {
	ctx := context.Background()
	const fam = expr.FamilyInet
	for _, at := range []int{0, 1} {
		f := newFakeConn()
		ch := f.addTable(fam, "fw", nil).addChain("input", nil)
		pieces := lowered(t, translate(t, fam, "-m conntrack --ctstate NEW,DNAT -j ACCEPT"))
		var hs []uint64
		for i, b := range pieces {
			if i == 1 {
				f.addRule(ch, xtRule(), nil, nil) // between the pieces
			}
			ud, _ := expr.Group{ID: 7, Index: i, Count: len(pieces), Words: "-m conntrack --ctstate NEW,DNAT -j ACCEPT"}.UserData("")
			hs = append(hs, f.addRule(ch, b, ud, nil))
		}
		res, err := f.client().Delete(ctx, fam, "fw", "input", hs[at], DeleteOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(hs, res.Handles); diff != "" || ctmatch.Words(res.Rule) != "-m conntrack --ctstate NEW,DNAT -j ACCEPT" {
			t.Errorf("delete handle %d: handles (-want +got):\n%s; rule %q", hs[at], diff, ctmatch.Words(res.Rule))
		}
		if ch = f.table(fam, "fw").chain("input"); len(ch.rules) != 1 {
			t.Errorf("delete handle %d: %d rules left, want the one between", hs[at], len(ch.rules))
		}
	}
}
