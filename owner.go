package ctmatch

import (
	"context"
	"fmt"
	"strings"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/kernel"
)

// iptablesChains are the built-in chains of each iptables table, as
// iptables-nft makes them, with the type and priority it gives each
// (e2e's TestCreatedChainsAreIptables compares them with the chains
// iptables and ip6tables -t T -A C make, for every table and chain). The priorities are the kernel's
// NF_IP_PRI_* values, except security: iptables-nft uses 150 there, not
// NF_IP_PRI_SECURITY (50).
var iptablesChains = map[string]map[kernel.Hook]kernel.BaseChain{
	"raw": {
		kernel.HookPrerouting: {Type: "filter", Hook: kernel.HookPrerouting, Priority: -300},
		kernel.HookOutput:     {Type: "filter", Hook: kernel.HookOutput, Priority: -300},
	},
	"mangle": {
		kernel.HookPrerouting:  {Type: "filter", Hook: kernel.HookPrerouting, Priority: -150},
		kernel.HookInput:       {Type: "filter", Hook: kernel.HookInput, Priority: -150},
		kernel.HookForward:     {Type: "filter", Hook: kernel.HookForward, Priority: -150},
		kernel.HookOutput:      {Type: "route", Hook: kernel.HookOutput, Priority: -150},
		kernel.HookPostrouting: {Type: "filter", Hook: kernel.HookPostrouting, Priority: -150},
	},
	"nat": {
		kernel.HookPrerouting:  {Type: "nat", Hook: kernel.HookPrerouting, Priority: -100},
		kernel.HookInput:       {Type: "nat", Hook: kernel.HookInput, Priority: 100},
		kernel.HookOutput:      {Type: "nat", Hook: kernel.HookOutput, Priority: -100},
		kernel.HookPostrouting: {Type: "nat", Hook: kernel.HookPostrouting, Priority: 100},
	},
	"filter": {
		kernel.HookInput:   {Type: "filter", Hook: kernel.HookInput, Priority: 0},
		kernel.HookForward: {Type: "filter", Hook: kernel.HookForward, Priority: 0},
		kernel.HookOutput:  {Type: "filter", Hook: kernel.HookOutput, Priority: 0},
	},
	"security": {
		kernel.HookInput:   {Type: "filter", Hook: kernel.HookInput, Priority: 150},
		kernel.HookForward: {Type: "filter", Hook: kernel.HookForward, Priority: 150},
		kernel.HookOutput:  {Type: "filter", Hook: kernel.HookOutput, Priority: 150},
	},
}

// builtinHooks maps the names of iptables' built-in chains to their hooks.
var builtinHooks = map[string]kernel.Hook{
	"PREROUTING":  kernel.HookPrerouting,
	"INPUT":       kernel.HookInput,
	"FORWARD":     kernel.HookForward,
	"OUTPUT":      kernel.HookOutput,
	"POSTROUTING": kernel.HookPostrouting,
}

// CreatedChain returns the chain that Create makes for a rule of iptables
// table iptTable (the rule's -t, "filter" when absent) in a chain named
// chain: for a name of an iptables built-in chain, compared without regard
// to case (input, INPUT, Output…), the base chain iptables-nft makes in that
// table, with policy accept; for any other name nil, a regular chain. A
// built-in name that the iptables table does not have (-t nat with
// FORWARD) is an error.
func CreatedChain(iptTable, chain string) (*kernel.BaseChain, error) {
	if iptTable == "" {
		iptTable = "filter"
	}
	hook, ok := builtinHooks[strings.ToUpper(chain)]
	if !ok {
		return nil, nil
	}
	chains, ok := iptablesChains[iptTable]
	if !ok {
		return nil, fmt.Errorf("unknown iptables table %q", iptTable)
	}
	b, ok := chains[hook]
	if !ok {
		var names []string
		for _, n := range []string{"PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"} {
			if _, ok := chains[builtinHooks[n]]; ok {
				names = append(names, n)
			}
		}
		return nil, fmt.Errorf("iptables' %s table has no %s chain (only %s), so --create does not know which base chain %q should be: create the chain first, or pick the table with -t",
			iptTable, strings.ToUpper(chain), strings.Join(names, ", "), chain)
	}
	return &b, nil
}

// describeBase writes a chain's kind as nft does:
// "type filter hook input priority 0; policy accept", or "a regular chain".
func describeBase(b *kernel.BaseChain) string {
	if b == nil {
		return "a regular chain"
	}
	return fmt.Sprintf("type %s hook %s priority %d; policy %s", b.TypeName(), b.Hook, b.Priority, b.Policy)
}

// sameBase reports whether two chains are of the same kind: both regular,
// or base chains of the same type, hook and priority (the policy aside).
func sameBase(a, b *kernel.BaseChain) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.TypeName() == b.TypeName() && a.Hook == b.Hook && a.Priority == b.Priority
}

// iptablesOwned says why a table that exists is taken for iptables-nft's
// own, or returns "". Such a table has no ctmatch ownership record, is of
// family ip or ip6, has the name of an iptables table, and has one of that
// table's built-in chains (by iptables-nft's exact name) or a rule with an
// xt match or target (expressions "match" and "target": iptables-nft's
// compatibility layer).
func iptablesOwned(ctx context.Context, c nfConn, t kernel.Table, chains []kernel.Chain) (string, error) {
	if expr.OwnedTable(t.UserData) || t.Family != expr.FamilyIP && t.Family != expr.FamilyIP6 {
		return "", nil
	}
	builtin, ok := iptablesChains[t.Name]
	if !ok {
		return "", nil
	}
	for _, ch := range chains {
		if h, ok := builtinHooks[ch.Name]; ok {
			if _, ok := builtin[h]; ok {
				return fmt.Sprintf("it has iptables' built-in chain %s", ch.Name), nil
			}
		}
	}
	for _, ch := range chains {
		rules, err := c.Rules(ctx, t.Family, t.Name, ch.Name)
		if err != nil {
			return "", err
		}
		for _, r := range rules {
			if name := xtExpression(r.Exprs); name != "" {
				return fmt.Sprintf("rule handle %d in chain %s uses an xt %s (iptables-nft's compatibility expression)", r.Handle, ch.Name, name), nil
			}
		}
	}
	return "", nil
}

// xtExpression returns "match" or "target" when a rule's expressions hold
// one of those (the xt compatibility expressions), or "".
func xtExpression(exprs []byte) string {
	names, _ := expr.ExprNames(exprs)
	for _, n := range names {
		if n == "match" || n == "target" {
			return n
		}
	}
	return ""
}

// iptablesRefusal is the error for writing into iptables-nft's table.
func iptablesRefusal(op string, t kernel.Table, why string) error {
	return &Error{Op: op, Object: object(t.Family, t.Name), Index: -1, Err: ErrIptablesTable, Reason: fmt.Sprintf(
		"table %s %s looks like iptables-nft's own (%s); after one native rule in it, iptables -S and -L fail and iptables-save leaves the table out (a comment in its place, exit status 0). Write into another table (ctmatch add rule %s fw input --create …), or use --force to write into it anyway",
		t.Family, t.Name, why, t.Family)}
}
