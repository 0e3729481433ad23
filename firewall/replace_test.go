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

// chainNames returns the names and kinds of a fake table's chains.
func chainNames(t *fakeTable) []string {
	var out []string
	for _, c := range t.chains() {
		out = append(out, c.c.Name+" "+describeBase(c.c.Base))
	}
	return out
}

// WriteTables with Replace replaces a table with ctmatch's record whole in
// one transaction: the rules of every chain, a chain gone, a chain whose
// policy changed, a new chain; without Replace the table is ErrTableExists
// and nothing is sent; with Check nothing changes.
func TestWriteTablesReplace(t *testing.T) {
	ctx := context.Background()
	f := newFakeConn()
	c := f.client()
	old := desiredFW(t)
	if _, err := c.CreateTables(ctx, []DesiredTable{old}, SyncOptions{}); err != nil {
		t.Fatal(err)
	}
	const fam = expr.FamilyInet
	next := DesiredTable{Family: fam, Name: "fw", Chains: []DesiredChain{
		{Name: "input", Base: &kernel.BaseChain{Type: "filter", Hook: kernel.HookInput, Priority: 10, Policy: kernel.PolicyAccept}, Rules: []DesiredRule{
			{Rule: translate(t, fam, "-m conntrack --ctstate INVALID -j DROP")},
			{Rule: translate(t, fam, "-m conntrack --ctstate NEW -j new_conns")},
		}},
		{Name: "new_conns", Rules: []DesiredRule{
			{Rule: translate(t, fam, "-m conntrack --ctstate SNAT -j ACCEPT")},
		}},
		{Name: "added", Rules: []DesiredRule{{Rule: translate(t, fam, "-j ACCEPT")}}},
	}}
	before := f.snapshot()
	_, err := c.WriteTables(ctx, []DesiredTable{next}, WriteOptions{Takeover: true, Force: true})
	if !errors.Is(err, ErrTableExists) || f.commits() != 1 || f.snapshot() != before {
		t.Fatalf("without Replace: %v, %d commits; want ErrTableExists and nothing sent", err, f.commits())
	}
	if h := Hint(err); !strings.Contains(h, "--replace") {
		t.Errorf("hint %q does not name --replace", h)
	}
	res, err := c.WriteTables(ctx, []DesiredTable{next}, WriteOptions{Replace: true, Check: true})
	if err != nil || !res.Checked || f.checks() != 1 || f.snapshot() != before {
		t.Fatalf("check: %+v, %v; want one check and nothing changed", res, err)
	}
	res, err = c.WriteTables(ctx, []DesiredTable{next}, WriteOptions{Replace: true})
	if err != nil || f.commits() != 2 {
		t.Fatalf("replace: %v, %d commits; want 2", err, f.commits())
	}
	if diff := cmp.Diff([]string{"inet fw"}, res.Replaced); diff != "" {
		t.Errorf("Replaced (-want +got):\n%s", diff)
	}
	tb := f.table(fam, "fw")
	if !expr.OwnedTable(tb.t.UserData) {
		t.Errorf("the table lost ctmatch's record")
	}
	wantChains := []string{
		"new_conns a regular chain",
		"input type filter hook input priority 10; policy accept",
		"added a regular chain",
	}
	if diff := cmp.Diff(wantChains, chainNames(tb)); diff != "" {
		t.Errorf("chains (-want +got):\n%s", diff)
	}
	for chain, want := range map[string][]string{
		"input":     {"-m conntrack --ctstate INVALID -j DROP #", "-m conntrack --ctstate NEW -j new_conns #"},
		"new_conns": {"-m conntrack --ctstate SNAT -j ACCEPT #"},
		"added":     {"-j ACCEPT #"},
	} {
		if diff := cmp.Diff(want, fakeRules(t, tb.chain(chain))); diff != "" {
			t.Errorf("chain %s (-want +got):\n%s", chain, diff)
		}
	}
	// The same again: every chain is refilled all the same.
	if _, err := c.WriteTables(ctx, []DesiredTable{next}, WriteOptions{Replace: true}); err != nil || f.commits() != 3 {
		t.Fatalf("replace again: %v, %d commits", err, f.commits())
	}
	if diff := cmp.Diff([]string{"-m conntrack --ctstate SNAT -j ACCEPT #"}, fakeRules(t, f.table(fam, "fw").chain("new_conns"))); diff != "" {
		t.Errorf("new_conns after the second replace (-want +got):\n%s", diff)
	}
}

// iptablesNFT sets up table ip filter as iptables-nft leaves it after
// iptables -A INPUT … and -N DOCKER: its built-in chains and a user chain,
// without ctmatch's record.
func iptablesNFT(f *fakeConn) {
	tb := f.addTable(expr.FamilyIP, "filter", nil)
	for _, n := range []string{"INPUT", "FORWARD", "OUTPUT"} {
		b, _ := CreatedChain("filter", n)
		tb.addChain(n, b)
	}
	tb.addChain("DOCKER", nil)
}

// WriteTables with Takeover deletes iptables-nft's table and creates the
// desired one in its place in one transaction; it refuses a table with
// chains the ruleset does not define (naming them) unless Force, a table
// that is not iptables-nft's whatever the options, and iptables-nft's
// table without Takeover.
func TestWriteTablesTakeover(t *testing.T) {
	ctx := context.Background()
	const fam = expr.FamilyIP
	filter := func(chains ...string) DesiredTable {
		d := DesiredTable{Family: fam, Name: "filter"}
		for _, n := range chains {
			b, _ := CreatedChain("filter", n)
			dc := DesiredChain{Name: n, Base: b}
			if n == "INPUT" {
				dc.Rules = []DesiredRule{{Rule: translate(t, fam, "-m conntrack --ctstate ESTABLISHED -j ACCEPT")}}
			}
			d.Chains = append(d.Chains, dc)
		}
		return d
	}
	for _, tc := range []struct {
		name    string
		setup   func(f *fakeConn)
		d       DesiredTable
		o       WriteOptions
		err     error
		reason  string
		foreign []string
	}{
		{"without takeover", iptablesNFT, filter("INPUT", "FORWARD", "OUTPUT", "DOCKER"), WriteOptions{Replace: true, Force: true}, ErrTableExists, "is iptables-nft's (it has iptables' built-in chain INPUT)", nil},
		{"a chain of another program", iptablesNFT, filter("INPUT", "FORWARD", "OUTPUT"), WriteOptions{Takeover: true}, ErrForeignChains, "chains the ruleset does not define: DOCKER;", nil},
		{"forced", iptablesNFT, filter("INPUT", "FORWARD", "OUTPUT"), WriteOptions{Takeover: true, Force: true}, nil, "", []string{"ip filter DOCKER"}},
		{"every chain", iptablesNFT, filter("INPUT", "FORWARD", "OUTPUT", "DOCKER"), WriteOptions{Takeover: true}, nil, "", nil},
		{"nft's table", func(f *fakeConn) {
			f.addTable(fam, "filter", nil).addChain("input", &kernel.BaseChain{Type: "filter", Hook: kernel.HookInput, Priority: 5})
		}, filter("INPUT"), WriteOptions{Takeover: true, Force: true, Replace: true}, ErrTableExists, "iptables-nft does not read it as its own", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeConn()
			tc.setup(f)
			c := f.client()
			before := f.snapshot()
			res, err := c.WriteTables(ctx, []DesiredTable{tc.d}, tc.o)
			if tc.err != nil {
				if !errors.Is(err, tc.err) || !strings.Contains(err.Error(), tc.reason) || f.commits() != 0 || f.snapshot() != before {
					t.Fatalf("%v, %d commits; want %v (%q) and nothing sent", err, f.commits(), tc.err, tc.reason)
				}
				return
			}
			if err != nil || f.commits() != 1 {
				t.Fatalf("%v, %d commits; want one", err, f.commits())
			}
			if diff := cmp.Diff(tc.foreign, res.Foreign); diff != "" {
				t.Errorf("Foreign (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{"ip filter"}, res.TakenOver); diff != "" {
				t.Errorf("TakenOver (-want +got):\n%s", diff)
			}
			tb := f.table(fam, "filter")
			if !expr.OwnedTable(tb.t.UserData) {
				t.Errorf("the table does not carry ctmatch's record")
			}
			var want []string
			for _, dc := range tc.d.Chains {
				want = append(want, dc.Name+" "+describeBase(dc.Base))
			}
			if diff := cmp.Diff(want, chainNames(tb)); diff != "" {
				t.Errorf("chains (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{"-m conntrack --ctstate ESTABLISHED -j ACCEPT #"}, fakeRules(t, tb.chain("INPUT"))); diff != "" {
				t.Errorf("INPUT (-want +got):\n%s", diff)
			}
		})
	}
}

// A replaced table holds the desired ct helpers afterwards, and none of the
// old ones: Replace keeps objects as Sync does, in the same transaction.
func TestWriteTablesReplaceObjects(t *testing.T) {
	ctx := context.Background()
	f := newFakeConn()
	c := f.client()
	old := desiredFW(t)
	old.Objects = []DesiredObject{{Name: "old-ftp", CtHelper: ftpHelper()}}
	if _, err := c.CreateTables(ctx, []DesiredTable{old}, SyncOptions{}); err != nil {
		t.Fatal(err)
	}
	next := desiredFW(t)
	next.Objects = []DesiredObject{{Name: "ftp-std", CtHelper: ftpHelper()}}
	if _, err := c.WriteTables(ctx, []DesiredTable{next}, WriteOptions{Replace: true}); err != nil {
		t.Fatal(err)
	}
	objs, err := c.Objects(ctx, next.Family, next.Name)
	if err != nil {
		t.Fatal(err)
	}
	if f.commits() != 2 || len(objs) != 1 || objs[0].Name != "ftp-std" {
		t.Errorf("after the replacement (%d commits): %+v, want ftp-std alone", f.commits(), objs)
	}
}

// A table that Merges names may be neither a desired table too nor merged
// by two of them: refused before anything is read or sent.
func TestWriteTablesMergesConflict(t *testing.T) {
	ctx := context.Background()
	f := newFakeConn()
	c := f.client()
	ip := DesiredTable{Family: expr.FamilyIP, Name: "fw"}
	ip6 := DesiredTable{Family: expr.FamilyIP6, Name: "fw", Merges: []MergedTable{{Family: expr.FamilyIP}}}
	inet := DesiredTable{Family: expr.FamilyInet, Name: "fw", Merges: []MergedTable{{Family: expr.FamilyIP}}}
	for _, ds := range [][]DesiredTable{{ip, inet}, {ip6, inet}} {
		_, err := c.WriteTables(ctx, ds, WriteOptions{Replace: true, Takeover: true})
		if !errors.Is(err, ErrInvalidChange) || f.commits()+f.checks() != 0 {
			t.Errorf("%d tables: %v, %d sent; want ErrInvalidChange and nothing sent", len(ds), err, f.commits()+f.checks())
		}
	}
}
