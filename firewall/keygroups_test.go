package firewall

import (
	"testing"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/kernel"
)

// Sync takes for one group only what List takes for one: pieces 0..n-1 of
// one id, each saying the group has n pieces. Two pieces of one id whose
// counts disagree are two rules, as decompile sees them.
func TestKeyGroupsWholeGroupsOnly(t *testing.T) {
	const fam = expr.FamilyIP
	b := lowered(t, translate(t, fam, "-m conntrack --ctstate NEW,DNAT -j ACCEPT"))
	ud0, _ := expr.Group{ID: 7, Index: 0, Count: 2}.UserData("")
	ud1, _ := expr.Group{ID: 7, Index: 1, Count: 2}.UserData("")
	bad1, _ := expr.Group{ID: 7, Index: 1, Count: 3}.UserData("")
	whole := keyGroups(fam, []kernel.Rule{{Exprs: b[0], UserData: ud0}, {Exprs: b[1], UserData: ud1}}, nil)
	if len(whole) != 1 || whole[0].key == "" {
		t.Errorf("a whole group of two pieces keys as %d groups: %+v", len(whole), whole)
	}
	split := keyGroups(fam, []kernel.Rule{{Exprs: b[0], UserData: ud0}, {Exprs: b[1], UserData: bad1}}, nil)
	if len(split) != 2 {
		t.Errorf("two pieces whose counts disagree key as %d groups, want 2: %+v", len(split), split)
	}
}
