package firewall

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/internal/kerneltest"
	"github.com/ctmatch/ctmatch/internal/ktest"
	"github.com/ctmatch/ctmatch/kernel"
)

// Sync in the kernel: it creates the table (one transaction: the
// generation moves by one), nft lists what was desired, the same state
// again sends nothing (the generation stays), a changed state is one
// transaction whose result nft lists, the changed state again sends
// nothing, and the table is then deleted.
func TestKernelSync(t *testing.T) {
	ns, c := kernelClient(t)
	ctx := context.Background()
	conn := kerneltest.Dial(t, ns)
	gen := func() uint32 {
		t.Helper()
		g, err := conn.Generation(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	list := func() string {
		t.Helper()
		return ktest.Run(t, ns, "", "nft", "list", "table", "inet", "fw")
	}
	// fresh is a second Client, which remembers no sync: it reads and
	// compares every chain.
	fresh, err := Dial(ctx, DialOptions{NetNS: ns.Path()})
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	sync := func(d DesiredTable, transactions uint32) Synced {
		t.Helper()
		var res Synced
		clients := []*Client{c}
		if transactions == 0 {
			clients = append(clients, fresh)
		}
		for _, c := range clients {
			before := gen()
			var err error
			res, err = c.Sync(ctx, d, SyncOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if after := gen(); after-before != transactions || res.Sent != (transactions > 0) {
				t.Fatalf("sync: %d transactions (sent %v), want %d; diff:\n%s", after-before, res.Sent, transactions, res.Diff)
			}
		}
		return res
	}

	d := desiredFW(t)
	if _, err := c.Sync(ctx, d, SyncOptions{Check: true}); err != nil {
		t.Fatalf("check: %v", err)
	}
	if out := ktest.Run(t, ns, "", "nft", "list", "ruleset"); out != "" {
		t.Fatalf("a checked sync changed the ruleset:\n%s", out)
	}
	sync(d, 1)
	want := `table inet fw {
	chain input {
		type filter hook input priority filter + 10; policy drop;
		meta nfproto ipv4 ct state established,related counter packets 0 bytes 0 accept comment "replies"
		meta nfproto ipv4 ct state new counter packets 0 bytes 0 jump new_conns
	}

	chain new_conns {
		meta nfproto ipv4 ct status dnat counter packets 0 bytes 0 accept
	}

	chain spare {
	}
}
`
	if diff := cmp.Diff(want, list()); diff != "" {
		t.Errorf("nft list (-want +got):\n%s", diff)
	}
	sync(d, 0)

	d.Chains[0].Base.Policy = kernel.PolicyAccept
	d.Chains[0].Rules[0].Comment = "established"
	d.Chains[1].Rules[0].Rule = translate(t, expr.FamilyInet, "-m conntrack --ctstate DNAT,SNAT -j ACCEPT")
	d.Chains = d.Chains[:2]
	res := sync(d, 1)
	t.Logf("diff:\n%s", res.Diff)
	if len(res.Diff.Chains) != 3 {
		t.Errorf("diff of %d chains, want input, new_conns and spare:\n%s", len(res.Diff.Chains), res.Diff)
	}
	out := list()
	for _, s := range []string{"policy accept", `comment "established"`, "ct status snat,dnat", "chain new_conns"} {
		if !strings.Contains(out, s) {
			t.Errorf("nft list lacks %q:\n%s", s, out)
		}
	}
	if strings.Contains(out, "spare") || strings.Contains(out, "replies") {
		t.Errorf("nft list still has what the sync removed:\n%s", out)
	}
	sync(d, 0)

	if _, err := c.ChangeTables(ctx, []TableChange{{Op: DeleteTable, Family: expr.FamilyInet, Table: "fw"}}, TableOptions{}); err != nil {
		t.Fatal(err)
	}
	if out := ktest.Run(t, ns, "", "nft", "list", "ruleset"); out != "" {
		t.Errorf("after delete table:\n%s", out)
	}
}

// ChangeTables in the kernel: a table, base chains of a type, hook,
// priority and policy iptables-nft never makes, an empty regular chain, in
// one transaction; flush and delete; and the refusal to delete or sync a
// table nft made (without ctmatch's record), which stays.
func TestKernelChangeTables(t *testing.T) {
	ns, c := kernelClient(t)
	ctx := context.Background()
	const fam = expr.FamilyInet
	create := []TableChange{
		{Op: CreateTable, Family: fam, Table: "fw"},
		{Op: CreateChain, Family: fam, Table: "fw", Chain: "pre", Base: &kernel.BaseChain{Type: "nat", Hook: kernel.HookPrerouting, Priority: -90}},
		{Op: CreateChain, Family: fam, Table: "fw", Chain: "fwd", Base: &kernel.BaseChain{Type: "filter", Hook: kernel.HookForward, Priority: 7, Policy: kernel.PolicyDrop}},
		{Op: CreateChain, Family: fam, Table: "fw", Chain: "mark", Base: &kernel.BaseChain{Type: "route", Hook: kernel.HookOutput, Priority: -150}},
		{Op: CreateChain, Family: fam, Table: "fw", Chain: "empty"},
		{Op: CreateChain, Family: fam, Table: "fw", Chain: "in", Base: &kernel.BaseChain{Type: "filter", Hook: kernel.HookIngress, Priority: -500, Device: "lo"}},
	}
	if got := create[5].String(); got != "add chain inet fw in { type filter hook ingress device lo priority -500; policy accept; }" {
		t.Errorf("String: %s", got)
	}
	if _, err := c.ChangeTables(ctx, create, TableOptions{}); err != nil {
		t.Fatal(err)
	}
	want := `table inet fw {
	chain pre {
		type nat hook prerouting priority dstnat + 10; policy accept;
	}

	chain fwd {
		type filter hook forward priority filter + 7; policy drop;
	}

	chain mark {
		type route hook output priority mangle; policy accept;
	}

	chain empty {
	}

	chain in {
		type filter hook ingress device "lo" priority -500; policy accept;
	}
}
`
	if diff := cmp.Diff(want, ktest.Run(t, ns, "", "nft", "list", "table", "inet", "fw")); diff != "" {
		t.Errorf("nft list (-want +got):\n%s", diff)
	}
	r := translate(t, fam, "-m conntrack --ctstate INVALID -j DROP")
	if _, err := c.Apply(ctx, []Change{{Family: fam, Table: "fw", Chain: "fwd", Rule: r, Comment: "bad"}}, ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	del := []TableChange{
		{Op: FlushChain, Family: fam, Table: "fw", Chain: "fwd"},
		{Op: DeleteChain, Family: fam, Table: "fw", Chain: "fwd"},
		{Op: DeleteChain, Family: fam, Table: "fw", Chain: "mark"},
		{Op: FlushTable, Family: fam, Table: "fw"},
	}
	if _, err := c.ChangeTables(ctx, del, TableOptions{}); err != nil {
		t.Fatal(err)
	}
	out := ktest.Run(t, ns, "", "nft", "list", "table", "inet", "fw")
	if strings.Contains(out, "fwd") || strings.Contains(out, "mark") || !strings.Contains(out, "chain empty") {
		t.Errorf("after flush and delete:\n%s", out)
	}

	ktest.Run(t, ns, "", "nft", "add table inet theirs; add chain inet theirs c")
	_, err := c.ChangeTables(ctx, []TableChange{{Op: DeleteTable, Family: fam, Table: "theirs"}}, TableOptions{})
	if !errors.Is(err, ErrNotOwned) {
		t.Errorf("delete table inet theirs: %v, want ErrNotOwned", err)
	}
	_, err = c.Sync(ctx, DesiredTable{Family: fam, Name: "theirs"}, SyncOptions{})
	if !errors.Is(err, ErrNotOwned) {
		t.Errorf("sync inet theirs: %v, want ErrNotOwned", err)
	}
	if out := ktest.Run(t, ns, "", "nft", "list", "table", "inet", "theirs"); !strings.Contains(out, "chain c") {
		t.Errorf("the table nft made changed:\n%s", out)
	}
}
