package e2e

import (
	"testing"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/internal/lab"
)

// expireWrapSet is the expire class of TestLabExpireLimit: two flows whose
// errors see 4294968.5 and 4294969.5 s left.
var expireWrapSet = lab.ExpireSet{Name: "expire-wrap", Timeouts: []int{4294969, 4294970}, FirstPort: 40201}

// expireCount is what xt and nft count.
type expireCount struct{ xt, nft uint64 }

// expireWrapCases are TestLabExpireLimit's cases, with the RELATED errors
// of expireWrapSet that xt and nft count at each point.
var expireWrapCases = []struct {
	words string
	want  expireCount
}{
	{"-m conntrack --ctexpire 4294968", expireCount{1, 0}},
	{"-m conntrack --ctexpire 4294967:4294967295", expireCount{2, 0}},
	{"-m conntrack ! --ctexpire 4294968", expireCount{1, 2}},
	{"-m conntrack --ctexpire 1", expireCount{0, 1}},
	{"-m conntrack --ctexpire 0:2", expireCount{0, 2}},
	{"-m conntrack --ctexpire 5:4294967", expireCount{0, 0}},
	{"-m conntrack ! --ctexpire 4294968:4294967295", expireCount{0, 2}},
}

// The limit design.md and docs/semantics.md state, shown with packets: nft's
// ct expiration is 32-bit milliseconds, so a conntrack with more than
// 4,294,967 s left wraps in nft but not in xt. Two flows get 4294969 and
// 4294970 s (reachable with conntrack -U, or with timeouts configured above
// 49.7 days); their RELATED errors see 4294968.5 and 4294969.5 s left: xt
// reads 4294968 and 4294969, nft 1204 and 2204 ms. ctmatch's translations
// differ from xt there, and only there; the day the kernel widens the key,
// this test says so.
func TestLabExpireLimit(t *testing.T) {
	l := lab.New(t)
	var lc []lab.Case
	for _, c := range expireWrapCases {
		lc = append(lc, lab.Case{Name: c.words, Words: c.words, Family: lab.IPv4})
	}
	rep, err := l.Differential(expr.FamilyIP, lc, lab.ExpirePhases(expireWrapSet, lab.IPv4))
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range expireWrapCases {
		for q, pt := range lab.Points {
			got := rep.Counts[1][q][i]
			if (expireCount{got.XT, got.NFT}) != c.want {
				t.Errorf("%s, errors at the %s: xt counted %d, nft %d; want %d and %d", c.words, pt.Name, got.XT, got.NFT, c.want.xt, c.want.nft)
			}
			if n := rep.Counts[0][q][i]; n.XT != n.NFT {
				t.Errorf("%s, the flows' own packets at the %s: xt counted %d, nft %d", c.words, pt.Name, n.XT, n.NFT)
			}
		}
	}
	t.Logf("%s", rep.Classes[1].Desc)
}
