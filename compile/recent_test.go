package compile_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/ctmatch/ctmatch/compile"
	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/parse"
)

// -m recent --set compiles to no expression, so its rules decompile, as
// every rule without a group record does, to the rule without the match:
// nothing in the nft rules names a list. A group record's words come back
// as they were given, -m recent --set included, since they compile to
// exactly the listed rules.
func TestRecentDecompile(t *testing.T) {
	for _, tc := range []struct {
		fam         parse.Family
		table       expr.Family
		words, want string
	}{
		{parse.IPv4, expr.FamilyIP, "-A INPUT -m recent --set -j ACCEPT", "-j ACCEPT"},
		{parse.IPv4, expr.FamilyInet, "-A INPUT -p tcp --dport 22 -m recent --set --name ssh --rdest -m conntrack --ctstate NEW -j ACCEPT",
			"-p tcp -m tcp --dport 22 -m conntrack --ctstate NEW -j ACCEPT"},
		{parse.IPv6, expr.FamilyIP6, "-A OUTPUT -o lo -m recent --set --name v6 --mask ffff:ffff:: -j DROP", "-o lo -j DROP"},
		{parse.IPv4, expr.FamilyIP, "-m recent --set -m recent --set --name b", ""},
	} {
		checkDecompiles(t, tc.fam, tc.table, tc.words, tc.want)
	}

	words := "-A INPUT -p udp --dport 53 -m recent --set --name dns -j ACCEPT"
	r, err := parse.ParseText(words, parse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rules, err := compile.Rule(r, compile.Options{Table: expr.FamilyIP, Counter: true})
	if err != nil {
		t.Fatal(err)
	}
	var listed []compile.Listed
	for i, nr := range rules {
		listed = append(listed, compile.Listed{Rule: nr, Grouped: true, Group: expr.Group{ID: 7, Index: i, Count: len(rules), Words: words}})
	}
	ds := compile.Chain(listed, expr.FamilyIP)
	if len(ds) != 1 || ds[0].Err != nil || ds[0].Rule.String() != r.String() {
		t.Errorf("Chain of a group recorded as %q: %+v, want the words back as %q", words, ds, r.String())
	}
}

// compile refuses every form of -m recent but --set, at the mode's word,
// whatever built the rule, as parse refuses them first (Recent.Refusal).
func TestRecentCompileRefuses(t *testing.T) {
	for _, tc := range []struct {
		mode parse.RecentMode
		neg  bool
		want string
	}{
		{parse.RecentCheck, false, "-m recent --rcheck is valid iptables, but ctmatch cannot translate it exactly: it reads the list x"},
		{parse.RecentUpdate, true, "-m recent ! --update is valid iptables"},
		{parse.RecentRemove, false, "-m recent --remove is valid iptables"},
		{parse.RecentSet, true, "-m recent ! --set is valid iptables, but ctmatch does not translate it: it adds the address to the list x and matches no packet"},
	} {
		text := "-A INPUT -m recent --set --name x -j DROP"
		r, err := parse.ParseText(text, parse.Options{})
		if err != nil {
			t.Fatal(err)
		}
		m := r.Matches[0].(*parse.Recent)
		m.Mode, m.Negated = tc.mode, tc.neg
		_, err = compile.Rule(r, compile.Options{Table: expr.FamilyIP})
		var e *parse.Error
		if !errors.As(err, &e) || e.Kind != parse.Unsupported || e.Pos != m.ModePos || e.Word != "--set" || !strings.Contains(e.Msg, tc.want) {
			t.Errorf("%v (negated %v): %#v, want Unsupported at --set saying %q", tc.mode, tc.neg, err, tc.want)
		}
	}
}
