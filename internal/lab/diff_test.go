package lab

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// judge reports a divergence of an expire case as the 32-bit limit only as
// far as the first packets that may be beyond nft's 32 bits explain it: one
// such packet makes xt and nft differ by one at most. A made-up report: one
// class, one first packet beyond 32 bits at the router, none at the server.
func TestJudgeLimits(t *testing.T) {
	cases := []Case{
		{Name: "one off", Words: "-m conntrack --ctexpire 4294968"},
		{Name: "one off the other way", Words: "-m conntrack ! --ctexpire 4294968"},
		{Name: "two off", Words: "-m conntrack --ctexpire 0:10"},
		{Name: "state", Words: "-m conntrack --ctstate NEW"},
		{Name: "equal", Words: "-m conntrack --ctexpire 5"},
	}
	counts := [][]Count{
		{{XT: 1, NFT: 0}, {XT: 3, NFT: 4}, {XT: 0, NFT: 2}, {XT: 1, NFT: 0}, {XT: 2, NFT: 2}}, // router: 1 beyond
		{{XT: 1, NFT: 0}, {XT: 3, NFT: 3}, {XT: 2, NFT: 2}, {XT: 1, NFT: 1}, {XT: 2, NFT: 2}}, // server: none
	}
	r := &Report{Cases: cases, Classes: []Class{{Name: "first"}}, Counts: [][][]Count{counts}, Beyond: [][]uint64{{1, 0}}}
	r.judge(0)
	names := func(ds []Divergence) []string {
		var out []string
		for _, d := range ds {
			out = append(out, fmt.Sprintf("%s at the %s", d.Case, d.Point))
		}
		return out
	}
	if got, want := names(r.Limits), []string{"one off at the router", "one off the other way at the router"}; !slices.Equal(got, want) {
		t.Errorf("limits %q, want %q", got, want)
	}
	// Two packets off with one beyond is a fault of the translation, and
	// so is one off where no first packet is beyond, or in a case that does
	// not read the remaining time.
	if got, want := names(r.Divergences), []string{"two off at the router", "state at the router", "one off at the server"}; !slices.Equal(got, want) {
		t.Errorf("divergences %q, want %q", got, want)
	}
}

// The lab's own rule counts every first packet that may read more than
// nft's 32 bits hold: from 4,294,967 s on, the second whose last 0.704 s
// are beyond them (Reading.MaybeBeyond32).
func TestBeyondWords(t *testing.T) {
	want := fmt.Sprintf("--ctexpire %d:4294967295", MaybeBeyondSeconds)
	if !strings.HasSuffix(beyondWords, want) {
		t.Errorf("the lab's rule %q: want it to end with %q", beyondWords, want)
	}
	if MaybeBeyondSeconds != 4294967 {
		t.Errorf("MaybeBeyondSeconds = %d, want 4294967", MaybeBeyondSeconds)
	}
}
