package compile

import (
	"errors"
	"testing"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/parse"
)

func inetPieces(t *testing.T, words string, fam parse.Family) []expr.Rule {
	t.Helper()
	r, err := parse.ParseText(words, parse.Options{Family: fam})
	if err != nil {
		t.Fatal(err)
	}
	rules, err := Rule(r, Options{Table: expr.FamilyInet, Family: fam, Counter: true})
	if err != nil {
		t.Fatal(err)
	}
	return rules
}

func stripNfproto(rs []expr.Rule) []expr.Rule {
	out := make([]expr.Rule, len(rs))
	for i, r := range rs {
		r.Matches = r.Matches[1:]
		out[i] = r
	}
	return out
}

// TestChainBoth: a rule of an inet table without meta nfproto is read back
// as one rule of both families, from its group's words or from its
// expressions; one that no words compile to alike in both families is not.
func TestChainBoth(t *testing.T) {
	for _, words := range []string{
		"-m conntrack --ctstate NEW,DNAT -j ACCEPT",
		"-i lo -p tcp -m comment --comment ssh -j ACCEPT",
		"-m conntrack ! --ctstate SNAT -j DROP",
	} {
		both := stripNfproto(inetPieces(t, words, parse.IPv4))
		for _, rec := range []string{words, ""} {
			var listed []Listed
			for k, p := range both {
				listed = append(listed, Listed{Rule: p, Grouped: true, Group: expr.Group{ID: 7, Index: k, Count: len(both), Words: rec}})
			}
			ds := Chain(listed, expr.FamilyInet)
			if len(ds) != 1 || ds[0].Err != nil || !ds[0].Both || ds[0].Count != len(both) {
				t.Fatalf("%s (record words %q): %+v, want one rule of both families", words, rec, ds)
			}
			if got := ds[0].Rule.String(); got != words {
				t.Errorf("%s (record words %q): decompiled to %q", words, rec, got)
			}
		}
	}
	// Ports: xt_tcpudp's fragment test has another nft form in each family,
	// so the IPv4 rule without its meta nfproto is no rule of both.
	v4 := stripNfproto(inetPieces(t, "-p tcp --dport 22 -j ACCEPT", parse.IPv4))
	ds := Chain([]Listed{{Rule: v4[0], Grouped: true, Group: expr.Group{ID: 1, Count: 1, Words: "-p tcp --dport 22 -j ACCEPT"}}}, expr.FamilyInet)
	if len(ds) != 1 || !errors.Is(ds[0].Err, ErrNotUnderstood) || ds[0].Both {
		t.Errorf("IPv4 ports without meta nfproto: %+v, want not understood", ds)
	}
	// A rule nft wrote (no group record) is not ctmatch's rule of both
	// families.
	ds = Chain([]Listed{{Rule: stripNfproto(inetPieces(t, "-i lo -j ACCEPT", parse.IPv4))[0]}}, expr.FamilyInet)
	if len(ds) != 1 || ds[0].Err == nil || ds[0].Both {
		t.Errorf("a rule without a group record: %+v, want not understood", ds)
	}
}
