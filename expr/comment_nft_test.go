package expr_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/internal/ktest"
)

// TestCommentMatchesNft checks a rule's comment against nft 1.0.6: the text
// ctmatch writes for it makes nft send the userdata CommentUserData gives,
// byte for byte, and the expressions Lower gives (the comment is not one of
// them), and nft --debug=netlink prints it as DebugUserData does;
// Group.UserData writes that same record first, then its own.
func TestCommentMatchesNft(t *testing.T) {
	ns := ktest.Namespace(t, "nft")
	comments := []string{"x", "allow ssh", "é€", `a\b`, "it's", "tab\tx", "new\nline", "$x{};#", strings.Repeat("c", expr.MaxComment)}
	var script strings.Builder
	script.WriteString("add table ip t\nadd chain ip t c\n")
	rules := make([]expr.Rule, len(comments))
	for i, c := range comments {
		rules[i] = expr.Rule{Counter: true, Verdict: expr.Verdict{Kind: expr.VerdictAccept}, Comment: c}
		script.WriteString("add rule ip t c " + rules[i].String() + "\n")
	}
	sent := nftSends(t, ns, script.String())
	if len(sent) != len(comments) {
		t.Fatalf("nft sent %d rules, want %d", len(sent), len(comments))
	}
	for i, c := range comments {
		want, err := expr.CommentUserData(c)
		if err != nil {
			t.Fatalf("CommentUserData(%q): %v", c, err)
		}
		if !bytes.Equal(sent[i].userdata, want) {
			t.Errorf("comment %q: nft sends userdata % x, CommentUserData gives % x", c, sent[i].userdata, want)
		}
		if got := expr.DebugUserData(want); got != sent[i].udLine {
			t.Errorf("comment %q: nft --debug=netlink prints %q, DebugUserData %q", c, sent[i].udLine, got)
		}
		exprs, err := rules[i].Lower(expr.FamilyIP)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(sent[i].exprs, exprs) {
			t.Errorf("comment %q: nft sends expressions % x, Lower gives % x", c, sent[i].exprs, exprs)
		}
		ud, err := expr.Group{ID: 7, Count: 1, Words: "-j ACCEPT"}.UserData(c)
		if err != nil {
			t.Fatalf("Group.UserData(%q): %v", c, err)
		}
		if !bytes.HasPrefix(ud, want) {
			t.Errorf("comment %q: the group's userdata % x does not start with nft's comment record % x", c, ud, want)
		}
		got, _, err := expr.ParseUserData(ud)
		if err != nil || got != c {
			t.Errorf("ParseUserData(Group.UserData(%q)) = %q, %v", c, got, err)
		}
	}
}
