package firewall

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/kernel"
)

// A table that looks like iptables-nft's is refused unless Force, in every
// shape iptables-nft leaves (it marks its tables in no other way); a table
// ctmatch made is never refused, whatever its name; a table whose chains
// are all base chains iptables-nft does not make is not, but with Create.
func TestApplyIptablesTables(t *testing.T) {
	ctx := context.Background()
	owned, err := expr.TableUserData("")
	if err != nil {
		t.Fatal(err)
	}
	input := &kernel.BaseChain{Type: "filter", Hook: kernel.HookInput}
	native := lowered(t, translate(t, expr.FamilyIP, "-m conntrack --ctstate NEW -j ACCEPT"))[0]
	for _, tc := range []struct {
		name    string
		fam     expr.Family
		table   string
		chain   string // written into; INPUT when empty
		create  bool
		setup   func(f *fakeConn, tb *fakeTable)
		refused string // what the error says, "" when not refused
	}{
		{name: "built-in chain", fam: expr.FamilyIP, table: "filter", setup: func(f *fakeConn, tb *fakeTable) {
			tb.addChain("INPUT", input)
		}, refused: "it has iptables' built-in chain INPUT"},
		{name: "built-in chain of nat", fam: expr.FamilyIP6, table: "nat", chain: "mine", setup: func(f *fakeConn, tb *fakeTable) {
			tb.addChain("mine", &kernel.BaseChain{Type: "nat", Hook: kernel.HookPrerouting, Priority: 0})
			tb.addChain("POSTROUTING", &kernel.BaseChain{Type: "nat", Hook: kernel.HookPostrouting, Priority: 100})
		}, refused: "it has iptables' built-in chain POSTROUTING"},
		// iptables -N FOO; iptables -A FOO -s 10.0.0.1 -j ACCEPT: a user
		// chain with a native rule, and nothing else.
		{name: "user chain only", fam: expr.FamilyIP, table: "filter", chain: "FOO", setup: func(f *fakeConn, tb *fakeTable) {
			f.addRule(tb.addChain("FOO", nil), native, nil, nil)
		}, refused: "it has the regular chain FOO, which iptables lists as a user-defined chain"},
		{name: "regular chain named INPUT", fam: expr.FamilyIP, table: "security", setup: func(f *fakeConn, tb *fakeTable) {
			tb.addChain("INPUT", nil)
		}, refused: "it has the regular chain INPUT"},
		// iptables -N FOO; iptables -X FOO leaves the table empty.
		{name: "no chains", fam: expr.FamilyIP, table: "filter", create: true, setup: func(f *fakeConn, tb *fakeTable) {},
			refused: "it has no chains, as iptables -F and -X leave iptables-nft's tables"},
		{name: "xt match in a base chain of another priority", fam: expr.FamilyIP6, table: "mangle", chain: "mine", setup: func(f *fakeConn, tb *fakeTable) {
			f.addRule(tb.addChain("mine", &kernel.BaseChain{Type: "filter", Hook: kernel.HookForward, Priority: -151}), native, nil, nil)
			f.addRule(tb.chain("mine"), xtRule(), nil, nil)
		}, refused: "rule handle 102 in chain mine uses an xt match"},
		// nft add chain ip filter input { type filter hook input priority
		// 0; }: iptables-nft leaves the chain out of its listing.
		{name: "base chains iptables-nft does not make", fam: expr.FamilyIP, table: "filter", chain: "input", setup: func(f *fakeConn, tb *fakeTable) {
			f.addRule(tb.addChain("input", input), native, nil, nil)
			tb.addChain("INPUT", &kernel.BaseChain{Type: "filter", Hook: kernel.HookInput, Priority: 10})
			tb.addChain("OUTPUT", &kernel.BaseChain{Type: "route", Hook: kernel.HookOutput})
		}},
		// --create that creates nothing changes nothing: the chain exists.
		{name: "base chains iptables-nft does not make, with Create", fam: expr.FamilyIP, table: "filter", chain: "input", create: true, setup: func(f *fakeConn, tb *fakeTable) {
			tb.addChain("input", input)
		}},
		{name: "base chains iptables-nft does not make, a chain to create", fam: expr.FamilyIP, table: "filter", chain: "mine", create: true, setup: func(f *fakeConn, tb *fakeTable) {
			tb.addChain("input", input)
		}, refused: "iptables-nft reads every ip table named filter, and would read the chain mine that --create adds to it"},
		{name: "ctmatch's own filter", fam: expr.FamilyIP, table: "filter", setup: func(f *fakeConn, tb *fakeTable) {
			f.AddTable(tb.t.Family, tb.t.Name, owned)
			tb.addChain("INPUT", input)
			tb.addChain("FOO", nil)
		}},
		{name: "inet filter", fam: expr.FamilyInet, table: "filter", setup: func(f *fakeConn, tb *fakeTable) {
			tb.addChain("INPUT", input)
		}},
		{name: "not an iptables table name", fam: expr.FamilyIP, table: "fw", setup: func(f *fakeConn, tb *fakeTable) {
			tb.addChain("INPUT", input)
		}},
		{name: "a chain named like another table's", fam: expr.FamilyIP, table: "raw", setup: func(f *fakeConn, tb *fakeTable) {
			tb.addChain("INPUT", input)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeConn()
			tb := f.addTable(tc.fam, tc.table, nil)
			tc.setup(f, tb)
			if tc.chain == "" {
				tc.chain = "INPUT"
			}
			if tb.chain(tc.chain) == nil && !tc.create {
				tb.addChain(tc.chain, nil)
			}
			ch := []Change{{Family: tc.fam, Table: tc.table, Chain: tc.chain, Rule: translate(t, tc.fam, "-m conntrack --ctstate NEW")}}
			_, err := f.client().Apply(ctx, ch, ApplyOptions{Create: tc.create})
			if tc.refused == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrIptablesTable) || !strings.Contains(err.Error(), "looks like iptables-nft's own ("+tc.refused) ||
				!strings.HasSuffix(err.Error(), "iptables -S and -L fail and iptables-save leaves the table out (a comment in its place, exit status 0)") ||
				!strings.Contains(hintOf(err), "--force") || strings.Contains(err.Error(), "--force") {
				t.Fatalf("error %v (hint %q), want ErrIptablesTable saying %q and why, and --force in its hint", err, hintOf(err), tc.refused)
			}
			if f.commits() != 0 {
				t.Fatal("something was sent")
			}
			if _, err := f.client().Apply(ctx, ch, ApplyOptions{Create: tc.create, Force: true}); err != nil {
				t.Fatalf("with Force: %v", err)
			}
		})
	}
}

// Creating a table that iptables-nft reads as its own warns, with the
// fact and a hint apart; other tables and chains do not.
func TestApplyWarnings(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		fam   expr.Family
		table string
		warn  bool
	}{
		{expr.FamilyIP, "filter", true},
		{expr.FamilyIP6, "raw", true},
		{expr.FamilyInet, "filter", false},
		{expr.FamilyIP, "fw", false},
	} {
		f := newFakeConn()
		ch := []Change{{Family: tc.fam, Table: tc.table, Chain: "INPUT", Rule: translate(t, tc.fam, "-m conntrack --ctstate NEW")}}
		for _, check := range []bool{true, false} {
			res, err := f.client().Apply(ctx, ch, ApplyOptions{Create: true, Check: check})
			if err != nil {
				t.Fatal(err)
			}
			var want []Warning
			if tc.warn {
				obj := object(tc.fam, tc.table)
				want = []Warning{{Object: obj,
					Reason: "table " + obj + " is named like an iptables table, and iptables-nft reads every " + tc.fam.String() + " table of that name as its own: with native rules in it, iptables -S and -L fail on it and iptables-save leaves it out",
					Hint:   "if iptables is used on this host, write into a table of another name (ctmatch add rule " + tc.fam.String() + " fw input --create …)"}}
			}
			if diff := cmp.Diff(want, res.Warnings()); diff != "" {
				t.Errorf("%v %s (check %v): warnings (-want +got):\n%s", tc.fam, tc.table, check, diff)
			}
		}
		// Once the table is there, nothing is created: no warning.
		res, err := f.client().Apply(ctx, ch, ApplyOptions{Create: true})
		if err != nil || len(res.Warnings()) != 0 {
			t.Errorf("%v %s again: %v, warnings %+v", tc.fam, tc.table, err, res.Warnings())
		}
	}
}

// Delete refuses iptables-nft's tables unless Force.
func TestDeleteIptablesTables(t *testing.T) {
	ctx := context.Background()
	const fam = expr.FamilyIP
	f := newFakeConn()
	ch := f.addTable(fam, "filter", nil).addChain("FOO", nil)
	h := f.addRule(ch, lowered(t, translate(t, fam, "-m conntrack --ctstate INVALID -j DROP"))[0], nil, nil)
	_, err := f.client().Delete(ctx, fam, "filter", "FOO", h, DeleteOptions{})
	want := "delete rule ip filter FOO: table ip filter looks like iptables-nft's own (it has the regular chain FOO, which iptables lists as a user-defined chain), and the rule was not written by ctmatch"
	if !errors.Is(err, ErrIptablesTable) || err.Error() != want || hintOf(err) != "use --force to delete it anyway" {
		t.Fatalf("error:\n got %v (hint %q)\nwant %s", err, hintOf(err), want)
	}
	if f.commits()+f.checks() != 0 || len(f.table(fam, "filter").chain("FOO").rules) != 1 {
		t.Fatal("something was sent")
	}
	// A group ctmatch wrote there (with --force) is ctmatch's to delete:
	// no Force needed.
	ud, _ := expr.Group{ID: 9, Count: 1}.UserData("")
	own := f.addRule(ch, lowered(t, translate(t, fam, "-m conntrack --ctstate NEW -j ACCEPT"))[0], ud, nil)
	res, err := f.client().Delete(ctx, fam, "filter", "FOO", own, DeleteOptions{})
	if err != nil || len(res.Handles) != 1 || len(f.table(fam, "filter").chain("FOO").rules) != 1 {
		t.Fatalf("ctmatch's own rule: %v, %+v", err, res)
	}
	res, err = f.client().Delete(ctx, fam, "filter", "FOO", h, DeleteOptions{Force: true})
	if err != nil || len(res.Handles) != 1 || len(f.table(fam, "filter").chain("FOO").rules) != 0 {
		t.Fatalf("with Force: %v, %+v", err, res)
	}
}

func TestOwnerRecord(t *testing.T) {
	for _, comment := range []string{"", "my firewall"} {
		ud, err := expr.TableUserData(comment)
		if err != nil {
			t.Fatal(err)
		}
		if !expr.OwnedTable(ud) {
			t.Errorf("expr.OwnedTable(expr.TableUserData(%q)) = false", comment)
		}
	}
	ud, _ := expr.TableUserData("x")
	if want := []byte{0, 2, 'x', 0, 0xc7, 8, 1, 'c', 't', 'm', 'a', 't', 'c', 'h'}; string(ud) != string(want) {
		t.Errorf("expr.TableUserData(\"x\") = % x, want % x", ud, want)
	}
	for _, ud := range [][]byte{nil, {0, 3, 'a', 'b', 0}, {0xc7, 8, 1, 'c', 't', 'm'}, {0xc7, 4, 1, 'c', 't', 'm'}, {0xc8, 8, 1, 'c', 't', 'm', 'a', 't', 'c', 'h'}} {
		if expr.OwnedTable(ud) {
			t.Errorf("expr.OwnedTable(% x) = true", ud)
		}
	}
}

func TestCreatedChain(t *testing.T) {
	for _, tc := range []struct {
		table, chain string
		want         string
	}{
		{"", "input", "type filter hook input priority 0; policy accept"},
		{"filter", "FORWARD", "type filter hook forward priority 0; policy accept"},
		{"raw", "prerouting", "type filter hook prerouting priority -300; policy accept"},
		{"mangle", "OUTPUT", "type route hook output priority -150; policy accept"},
		{"mangle", "PostRouting", "type filter hook postrouting priority -150; policy accept"},
		{"nat", "PREROUTING", "type nat hook prerouting priority -100; policy accept"},
		{"nat", "OUTPUT", "type nat hook output priority -100; policy accept"},
		{"nat", "INPUT", "type nat hook input priority 100; policy accept"},
		{"nat", "POSTROUTING", "type nat hook postrouting priority 100; policy accept"},
		{"security", "OUTPUT", "type filter hook output priority 150; policy accept"},
		{"filter", "web", "a regular chain"},
		{"filter", "PREROUTING", "error"},
		{"raw", "INPUT", "error"},
		{"nat", "FORWARD", "error"},
	} {
		b, err := CreatedChain(tc.table, tc.chain)
		got := describeBase(b)
		if err != nil {
			got = "error"
		}
		if got != tc.want {
			t.Errorf("CreatedChain(%q, %q) = %s (%v), want %s", tc.table, tc.chain, got, err, tc.want)
		}
	}
}
