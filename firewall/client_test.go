package firewall

import (
	"fmt"
	"testing"

	"github.com/mdlayher/netlink"

	"github.com/ctmatch/ctmatch"
	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/internal/nftwire"
	"github.com/ctmatch/ctmatch/kernel"
)

// translate compiles words for a table of family f, or fails the test.
func translate(t testing.TB, f expr.Family, words string) *ctmatch.Rule {
	t.Helper()
	r, err := ctmatch.Translate(words, ctmatch.Options{Table: f, IPv6: f == expr.FamilyIP6})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// lowered returns the wire expressions of r's nft rules.
func lowered(t testing.TB, r *ctmatch.Rule) [][]byte {
	t.Helper()
	w, err := r.Wire()
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// xtRule is an expression list with an xt match, as iptables-nft writes
// -m conntrack (the match's blob left out).
func xtRule() []byte {
	return nftwire.Expr("match", func(d *netlink.AttributeEncoder) {
		d.String(1, "conntrack") // NFTA_MATCH_NAME
		d.Uint32(2, 3)           // NFTA_MATCH_REV
	})
}

// nftComment is rule userdata as nft writes it for comment c: its comment
// record alone (type 0, NUL-terminated), no ctmatch group record.
func nftComment(c string) []byte {
	return append(append([]byte{0, byte(len(c) + 1)}, c...), 0)
}

// chainOrder returns, for each rule of the fake chain, "ID.INDEX/COUNT" of
// its group record, or "-" for a rule without one.
func chainOrder(t *testing.T, c *fakeChain) []string {
	t.Helper()
	return groupOrder(c.rules)
}

// groupOrder is chainOrder of a chain's rules.
func groupOrder(rules []kernel.Rule) []string {
	var out []string
	for _, r := range rules {
		_, g, err := expr.ParseUserData(r.UserData)
		if err != nil {
			out = append(out, "-")
			continue
		}
		id := fmt.Sprint(g.ID)
		if g.ID&(1<<63) != 0 {
			id = fmt.Sprintf("*%d", g.ID&^(1<<63))
		}
		out = append(out, fmt.Sprintf("%s.%d/%d", id, g.Index, g.Count))
	}
	return out
}

// placement is one Apply that places new groups in every way there is,
// among themselves and among a chain's existing groups: before an existing
// group, at the end, at the top before an existing group, after an existing
// group with a new one after it, between two new groups, at the top before
// a new group, and between a new group and an existing one. The chain
// holds G1 (two pieces, group 3), G2 (one rule without a record) and G3
// (group 7) at first; g1Last is the handle of G1's second rule.
func placement(t testing.TB, fam expr.Family, g1Last uint64) (changes []Change, want []string) {
	two := translate(t, fam, "-m conntrack ! --ctstate SNAT -j ACCEPT") // two pieces
	one := translate(t, fam, "-m conntrack --ctstate NEW")
	c := func(r *ctmatch.Rule, insert bool, index int, handle uint64) Change {
		return Change{Family: fam, Table: "fw", Chain: "in", Rule: r, Insert: insert, Index: index, Handle: handle}
	}
	changes = []Change{
		c(two, true, 2, 0),       // X: [G1 X G2 G3]
		c(one, false, 0, 0),      // Y: [G1 X G2 G3 Y]
		c(one, true, 0, 0),       // Z: [Z G1 X G2 G3 Y]
		c(two, false, 0, g1Last), // W: [Z G1 W X G2 G3 Y]
		c(two, true, 4, 0),       // V: [Z G1 W V X G2 G3 Y]
		c(two, true, 1, 0),       // T: [T Z G1 W V X G2 G3 Y]
		c(one, false, 1, 0),      // S: [T S Z G1 W V X G2 G3 Y]
		c(two, false, 10, 0),     // R: [T S Z G1 W V X G2 G3 Y R]
		c(one, true, 8, 0),       // Q: [T S Z G1 W V X Q G2 G3 Y R]
	}
	// (The ids, from the batch's base, which is 0 here: X 1, Y 2, … Q 9.)
	want = []string{"*6.0/2", "*6.1/2", "*7.0/1", "*3.0/1", "3.0/2", "3.1/2", "*4.0/2", "*4.1/2", "*5.0/2", "*5.1/2",
		"*1.0/2", "*1.1/2", "*9.0/1", "-", "7.0/1", "*2.0/1", "*8.0/2", "*8.1/2"}
	return changes, want
}

// placementStart returns the rules of placement's chain before the Apply:
// expressions and userdata.
func placementStart(t testing.TB, fam expr.Family) (exprs, userdata [][]byte) {
	g1 := translate(t, fam, "-m conntrack --ctstate NEW,DNAT -j ACCEPT")
	for i, b := range lowered(t, g1) {
		ud, _ := expr.Group{ID: 3, Index: i, Count: 2, Words: ctmatch.Words(g1.Source)}.UserData("")
		exprs, userdata = append(exprs, b), append(userdata, ud)
	}
	exprs, userdata = append(exprs, lowered(t, translate(t, fam, "-m conntrack --ctstate INVALID -j DROP"))[0]), append(userdata, nil)
	ud, _ := expr.Group{ID: 7, Count: 1}.UserData("a comment")
	exprs, userdata = append(exprs, lowered(t, translate(t, fam, "-m conntrack --ctdir REPLY"))[0]), append(userdata, ud)
	return exprs, userdata
}
