package firewall

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ctmatch/ctmatch"
	"github.com/ctmatch/ctmatch/compile"
	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/kernel"
	"github.com/ctmatch/ctmatch/parse"
)

// Rules without a group record list as one group each, with their own
// counters, though one iptables rule compiles to them; the comment of each
// is its -m comment.
func TestListWithoutRecords(t *testing.T) {
	const fam = expr.FamilyIP
	f := newFakeConn()
	ch := f.addTable(fam, "fw", nil).addChain("in", nil)
	for i, b := range lowered(t, translate(t, fam, "-m conntrack --ctstate NEW,DNAT -j ACCEPT")) {
		f.addRule(ch, b, nftComment(fmt.Sprintf("rule %d", i)), &kernel.Counter{Packets: uint64(1 + i), Bytes: uint64(100 + 100*i)})
	}
	l, err := f.client().List(context.Background(), Scope{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, g := range l.Tables[0].Chains[0].Groups {
		got = append(got, fmt.Sprintf("%s %v %s %+v", ctmatch.Words(g.Rule), g.Handles(), g.Pieces[0].Comment, *g.Counter))
	}
	want := []string{
		`-m conntrack --ctstate NEW -m comment --comment "rule 0" -j ACCEPT [101] rule 0 {Packets:1 Bytes:100}`,
		`-m conntrack ! --ctstate NEW -m conntrack --ctstate DNAT -m comment --comment "rule 1" -j ACCEPT [102] rule 1 {Packets:2 Bytes:200}`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("groups (-want +got):\n%s", diff)
	}
}

// List decompiles groups, sums their counters, and keeps every rule it does
// not understand, with its debug lines.
func TestList(t *testing.T) {
	const fam = expr.FamilyInet
	f := newFakeConn()
	owned, _ := expr.TableUserData("")
	tb := f.addTable(fam, "fw", owned)
	ch := tb.addChain("input", &kernel.BaseChain{Type: "filter", Hook: kernel.HookInput})
	r := translate(t, fam, "-m conntrack --ctstate NEW,DNAT -j ACCEPT")
	for i, b := range lowered(t, r) {
		ud, _ := expr.Group{ID: 1, Index: i, Count: 2, Words: ctmatch.Words(r.Source)}.UserData("")
		f.addRule(ch, b, ud, &kernel.Counter{Packets: uint64(3 + i), Bytes: uint64(300 + 100*i)})
	}
	f.addRule(ch, xtRule(), nil, nil)
	r6, err := ctmatch.Translate("-m conntrack --ctorigsrc 2001:db8::/32 -j DROP", ctmatch.Options{Table: fam, IPv6: true, NoCounter: true})
	if err != nil {
		t.Fatal(err)
	}
	ud, _ := expr.Group{ID: 2, Count: 1, IPv6: true, Words: ctmatch.Words(r6.Source)}.UserData("")
	f.addRule(ch, lowered(t, r6)[0], ud, nil)
	f.addTable(expr.Family(7), "br", nil) // a bridge table: not listed

	l, err := f.client().List(context.Background(), Scope{})
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Tables) != 1 || !l.Tables[0].Owned || len(l.Tables[0].Chains[0].Groups) != 3 {
		t.Fatalf("listing %+v", l)
	}
	g := l.Tables[0].Chains[0].Groups[0]
	if g.Counter == nil || *g.Counter != (kernel.Counter{Packets: 7, Bytes: 700}) {
		t.Errorf("summed counter %+v, want 7 packets, 700 bytes", g.Counter)
	}
	if x := l.Tables[0].Chains[0].Groups[1]; x.Rule != nil || x.Err == nil || len(x.Pieces[0].DebugLines()) != 1 {
		t.Errorf("the xt rule: %+v, want not understood, with its debug line", x)
	}

	var b strings.Builder
	for _, form := range []struct {
		f    ListFormat
		want string
	}{
		{ListIptables, `# table inet fw
# chain input (type filter hook input priority 0; policy accept)
-A input -m conntrack --ctstate NEW,DNAT -j ACCEPT # handles 101,102 packets 7 bytes 700
# not decompiled: handle 103: expression 1: expression "match" is not one ctmatch reads
#   [ match attr1=636f6e6e747261636b00 attr2=00000003 ]
-A input -m conntrack --ctorigsrc 2001:db8::/32 -j DROP # -6 handle 104
`},
		{ListNft, `table inet fw { # handle 1
	chain input { # handle 1
		type filter hook input priority 0; policy accept;
		meta nfproto ipv4 ct state new counter packets 3 bytes 300 accept # handle 101
		meta nfproto ipv4 ct state ! new ct status dnat counter packets 4 bytes 400 accept # handle 102
		# not decompiled: handle 103: expression 1: expression "match" is not one ctmatch reads
		#   [ match attr1=636f6e6e747261636b00 attr2=00000003 ]
		ctmatch-not-decompiled # nft refuses this line: the rule above is not in the listing
		meta nfproto ipv6 ct original ip6 saddr 2001:db8::/32 drop # handle 104
	}
}
`},
	} {
		b.Reset()
		if err := l.Write(&b, form.f, ListText{Handles: true}); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(strings.Split(form.want, "\n"), strings.Split(b.String(), "\n")); diff != "" {
			t.Errorf("format %d (-want +got):\n%s", form.f, diff)
		}
	}
	b.Reset()
	if err := l.Write(&b, ListBytecode, ListText{}); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(b.String(), "inet fw input\n  [ meta load nfproto => reg 1 ]\n") ||
		!strings.Contains(b.String(), "inet fw input\n  # not decompiled: expression 1: expression \"match\" is not one ctmatch reads\n  [ match") {
		t.Errorf("bytecode:\n%s", b.String())
	}

	for _, s := range []Scope{{Family: fam, Table: "nope"}, {Family: fam, Table: "fw", Chain: "nope"}, {Chain: "x"}} {
		if _, err := f.client().List(context.Background(), s); err == nil {
			t.Errorf("List(%+v) succeeded", s)
		}
	}
}

// Rules rebuilt from their expressions (no words in their record) come back
// as one conntrack match when that means the same, and only then.
func TestListOneMatch(t *testing.T) {
	const fam = expr.FamilyIP
	words := "-m conntrack --ctstate NEW,ESTABLISHED --ctproto 6 --ctorigdstport 22 -j ACCEPT"
	f := newFakeConn()
	ch := f.addTable(fam, "fw", nil).addChain("in", nil)
	for _, b := range lowered(t, translate(t, fam, words)) {
		f.addRule(ch, b, nil, nil)
	}
	l, err := f.client().List(context.Background(), Scope{})
	if err != nil {
		t.Fatal(err)
	}
	if g := l.Tables[0].Chains[0].Groups; len(g) != 1 || ctmatch.Words(g[0].Rule) != words {
		t.Errorf("listed %+v, want %q", g, words)
	}

	// Two matches that mean something else as one: kept as they are.
	two := translate(t, fam, "-m conntrack --ctstate INVALID -m conntrack --ctproto 17")
	if got := compile.MergeMatches(two.Source, parse.IPv4, fam, two.Rules); got != two.Source {
		t.Errorf("MergeMatches merged %q into %q", ctmatch.Words(two.Source), ctmatch.Words(got))
	}
}
