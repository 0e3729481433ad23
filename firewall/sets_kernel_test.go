package firewall

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/ctmatch/ctmatch"
	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/internal/kerneltest"
	"github.com/ctmatch/ctmatch/internal/ktest"
	"github.com/ctmatch/ctmatch/parse"
)

// Against the kernel: rules with anonymous sets are applied in one
// transaction, nft lists the sets, List gives the words back; the kernel
// deletes a rule's anonymous sets with it (Delete sends only the rules'
// deletions); Sync sends the same rules once, then nothing, and its
// rewrite of a chain takes the old sets away with the flushed rules.
func TestKernelMultiportSets(t *testing.T) {
	ns, c := kernelClient(t)
	ctx := context.Background()
	const ports = "-p tcp -m multiport --ports 22,80 -j ACCEPT"
	const dports = "-p udp -m multiport ! --dports 53,123,5000:5010"
	changes := []Change{
		{Family: expr.FamilyInet, Table: "fw", Chain: "input", Rule: translate(t, expr.FamilyInet, ports)},
		{Family: expr.FamilyInet, Table: "fw", Chain: "input", Rule: translate(t, expr.FamilyInet, dports)},
	}
	applied, err := c.Apply(ctx, changes, ApplyOptions{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	out := ktest.Run(t, ns, "", "nft", "list", "chain", "inet", "fw", "input")
	for _, want := range []string{"tcp sport { 22, 80 }", "tcp sport != { 22, 80 } tcp dport { 22, 80 }", "udp dport != { 53, 123, 5000-5010 }"} {
		if !strings.Contains(out, want) {
			t.Errorf("nft lists\n%s\nwithout %q", out, want)
		}
	}
	l, err := c.List(ctx, Scope{Family: expr.FamilyInet, Table: "fw"})
	if err != nil {
		t.Fatal(err)
	}
	groups := l.Tables[0].Chains[0].Groups
	if len(groups) != 2 || groups[0].Rule == nil || groups[1].Rule == nil ||
		ctmatch.Words(groups[0].Rule) != ports || ctmatch.Words(groups[1].Rule) != dports {
		t.Fatalf("listed %+v, want %q and %q", groups, ports, dports)
	}
	// The handles Apply gives are the rules' (the kernel numbers the sets
	// sent before each rule from the same counter).
	for i, g := range groups {
		if got, want := applied.Changes[i].Handles, g.Handles(); !slices.Equal(got, want) {
			t.Errorf("change %d: Apply gave handles %v, the kernel lists %v", i+1, got, want)
		}
	}
	kc := kerneltest.Dial(t, ns)
	sets, err := kc.Sets(ctx, expr.FamilyInet, "fw")
	if err != nil || len(sets) != 4 {
		t.Fatalf("%d sets (%v), want 4", len(sets), err)
	}
	if _, err := c.Delete(ctx, expr.FamilyInet, "fw", "input", groups[0].Pieces[0].Handle, DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if sets, err := kc.Sets(ctx, expr.FamilyInet, "fw"); err != nil || len(sets) != 1 {
		t.Errorf("after deleting the --ports rule: %d sets (%v), want 1: the kernel deletes a rule's anonymous sets with it", len(sets), err)
	}

	d := DesiredTable{Family: expr.FamilyInet, Name: "s", Chains: []DesiredChain{{Name: "in", Rules: []DesiredRule{
		{Rule: translate(t, expr.FamilyInet, ports)}, {Rule: translate(t, expr.FamilyInet, dports)},
	}}}}
	if res, err := c.Sync(ctx, d, SyncOptions{}); err != nil || !res.Sent {
		t.Fatalf("first sync: %+v, %v", res, err)
	}
	if res, err := c.Sync(ctx, d, SyncOptions{}); err != nil || res.Sent {
		t.Errorf("second sync: %+v, %v: want nothing sent", res, err)
	}
	d.Chains[0].Rules = d.Chains[0].Rules[1:]
	if res, err := c.Sync(ctx, d, SyncOptions{}); err != nil || !res.Sent {
		t.Fatalf("third sync: %+v, %v", res, err)
	}
	if sets, err := kc.Sets(ctx, expr.FamilyInet, "s"); err != nil || len(sets) != 1 {
		t.Errorf("after the chain's rewrite: %d sets (%v), want 1", len(sets), err)
	}
}

// A kernel refusal after rules with sets names its change: the sets'
// messages count among the transaction's, so the refused rule of the
// third change is reported as that change, and nothing is committed.
func TestKernelSetsErrorNamesTheChange(t *testing.T) {
	ns, c := kernelClient(t)
	ctx := context.Background()
	var changes []Change
	for i, words := range []string{"-p tcp -m multiport --ports 22,80", "-p udp -m multiport --dports 53,123", "-p tcp -m multiport --dports 1,2"} {
		changes = append(changes, Change{Family: expr.FamilyInet, Table: "fw", Chain: "input", Rule: translate(t, expr.FamilyInet, words), Pos: parse.Position{File: "f", Line: i + 1}})
	}
	testRuleHook = func(change, piece int, exprs []byte) []byte {
		if change == 2 {
			return ctKey255()
		}
		return exprs
	}
	defer func() { testRuleHook = nil }()
	_, err := c.Apply(ctx, changes, ApplyOptions{Create: true})
	var e *Error
	if !errors.As(err, &e) || e.Index != 2 || e.Pos.Line != 3 || !errors.Is(err, unix.EOPNOTSUPP) {
		t.Fatalf("error %v: want one about change 2 (line 3) wrapping EOPNOTSUPP", err)
	}
	if out := ktest.Run(t, ns, "", "nft", "list", "ruleset"); strings.TrimSpace(out) != "" {
		t.Errorf("the ruleset is not empty:\n%s", out)
	}
}
