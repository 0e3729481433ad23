package firewall

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/ctmatch/ctmatch"
	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/kernel"
)

// An ip6tables ICMPv6 type rule with -m limit is one nft rule only in a
// base chain of hook prerouting, input or forward (ctmatch.Rule.InputSide):
// Apply and WriteTables write it there, prepared or not, and refuse it, with
// nothing sent, in a base chain of another hook and in a regular chain.
func TestInputSideRules(t *testing.T) {
	ctx := context.Background()
	const words = "-p ipv6-icmp --icmpv6-type 128 -m limit --limit 2/s -j ACCEPT"
	r, err := ctmatch.Translate(words, ctmatch.Options{Table: expr.FamilyIP6, IPv6: true, InputSide: true})
	if err != nil || !r.InputSide || len(r.Rules) != 1 {
		t.Fatalf("%s: %v, %v; want one rule that needs an input-side chain", words, r, err)
	}
	if plain := translate(t, expr.FamilyIP6, "-p ipv6-icmp --icmpv6-type 128 -j ACCEPT"); plain.InputSide {
		t.Fatalf("a rule without a limit needs no input-side chain")
	}
	prepared, err := Prepare(r)
	if err != nil {
		t.Fatal(err)
	}
	f := newFakeConn()
	c := f.client()
	base := func(h kernel.Hook) *kernel.BaseChain {
		return &kernel.BaseChain{Type: "filter", Hook: h, Policy: kernel.PolicyAccept}
	}
	if _, err := c.CreateTables(ctx, []DesiredTable{{Family: expr.FamilyIP6, Name: "t", Chains: []DesiredChain{
		{Name: "pre", Base: base(kernel.HookPrerouting)}, {Name: "in", Base: base(kernel.HookInput)}, {Name: "fwd", Base: base(kernel.HookForward)},
		{Name: "out", Base: base(kernel.HookOutput)}, {Name: "post", Base: base(kernel.HookPostrouting)}, {Name: "mine"},
	}}}, SyncOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		chain, refused string
	}{
		{"pre", ""}, {"in", ""}, {"fwd", ""},
		{"out", "chain out is a base chain of hook output"},
		{"post", "chain post is a base chain of hook postrouting"},
		{"mine", "chain mine is a regular chain"},
	} {
		for _, ch := range []Change{
			{Family: expr.FamilyIP6, Table: "t", Chain: tc.chain, Rule: r},
			{Family: expr.FamilyIP6, Table: "t", Chain: tc.chain, Prepared: prepared},
		} {
			before, commits := f.snapshot(), f.commits()
			_, err := c.Apply(ctx, []Change{ch}, ApplyOptions{})
			switch {
			case tc.refused == "" && err != nil:
				t.Errorf("Apply into %s: %v", tc.chain, err)
			case tc.refused != "" && (!errors.Is(err, ErrInvalidChange) || !strings.Contains(err.Error(), tc.refused) || f.commits() != commits || f.snapshot() != before):
				t.Errorf("Apply into %s: %v, %d commits; want ErrInvalidChange saying %q, and nothing sent", tc.chain, err, f.commits()-commits, tc.refused)
			}
			prepared, _ = Prepare(r) // (Apply spends a prepared rule)
		}
	}
	for _, tc := range []struct {
		base    *kernel.BaseChain
		refused bool
	}{{base(kernel.HookInput), false}, {base(kernel.HookOutput), true}, {nil, true}} {
		d := DesiredTable{Family: expr.FamilyIP6, Name: "w", Chains: []DesiredChain{{Name: "c", Base: tc.base, Rules: []DesiredRule{{Rule: r}}}}}
		commits := f.commits()
		_, err := c.WriteTables(ctx, []DesiredTable{d}, WriteOptions{Replace: true})
		if refused := errors.Is(err, ErrInvalidChange); refused != tc.refused || (err != nil && !refused) || (refused && f.commits() != commits) {
			t.Errorf("WriteTables with the rule in a chain of base %+v: %v; want refused %v, and nothing sent when refused", tc.base, err, tc.refused)
		}
	}
}
