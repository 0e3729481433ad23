package firewall

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
// FORWARD) is an error (and createdChainHint what to do about it).
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
		return nil, fmt.Errorf("iptables' %s table has no %s chain (only %s), so --create does not know which base chain %q should be",
			iptTable, strings.ToUpper(chain), strings.Join(names, ", "), chain)
	}
	return &b, nil
}

// createdChainHint is the advice when CreatedChain does not know which base
// chain to make.
const createdChainHint = "create the chain first, or pick the table with -t"

// describeBase writes a chain's kind as nft does:
// "type filter hook input priority 0; policy accept" ("hook ingress device
// eth0 priority 0"), or "a regular chain".
func describeBase(b *kernel.BaseChain) string {
	if b == nil {
		return "a regular chain"
	}
	dev := ""
	if b.Device != "" {
		dev = " device " + QuoteName(b.Device)
	}
	return fmt.Sprintf("type %s hook %s%s priority %d; policy %s", b.TypeName(), b.Hook, dev, b.Priority, b.Policy)
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
// own, or returns "". iptables-nft leaves no mark on its tables (1.8.9 sets
// no table, chain or rule userdata), so the test is what iptables-nft reads:
// every table of family ip or ip6 named like an iptables table (filter,
// nat, mangle, raw, security), and in it every regular chain and every base
// chain that is one of that table's built-in chains (name, type, hook and
// priority); once one rule there holds an expression it does not know (ct,
// for one), iptables -S, -L and iptables-save fail on the table or leave
// it out. So such a table without ctmatch's ownership record is taken for
// iptables-nft's own when it
//   - has a built-in chain of iptables-nft's (iptables -A INPUT makes it),
//   - has a regular chain (iptables -N makes one),
//   - has no chain (iptables -X and -F leave the table so),
//   - has a rule with an xt match or target in any chain (expressions
//     "match" and "target", iptables-nft's compatibility layer).
//
// (Nor does ctmatch create a chain in such a table without Force: see
// Batch.createChain.)
//
// What is left is a table whose chains are all base chains iptables-nft
// does not make (nft add chain ip filter input { type filter hook input
// priority 0; }): iptables-nft leaves those out of its listing ("contains
// incompatible base-chains") and is not hindered by native rules there.
func iptablesOwned(ctx context.Context, c Kernel, t kernel.Table, chains []kernel.Chain) (string, error) {
	if expr.OwnedTable(t.UserData) || !iptablesName(t.Family, t.Name) {
		return "", nil
	}
	for _, ch := range chains {
		if iptablesBuiltin(t.Name, ch) {
			return fmt.Sprintf("it has iptables' built-in chain %s", ch.Name), nil
		}
	}
	for _, ch := range chains {
		if ch.Base == nil {
			return fmt.Sprintf("it has the regular chain %s, which iptables lists as a user-defined chain", ch.Name), nil
		}
	}
	if len(chains) == 0 {
		return "it has no chains, as iptables -F and -X leave iptables-nft's tables", nil
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

// guardTable refuses, without Force, to write into the existing table pt
// when it looks like iptables-nft's own (see iptablesOwned), given its
// chains as read for change i.
func (b *Batch) guardTable(ctx context.Context, pt *plannedTable, chains []kernel.Chain, ch *Change, i int) error {
	if b.o.Force {
		return nil
	}
	why, err := iptablesOwned(ctx, b.c.c, pt.t, chains)
	if err != nil {
		return changeReadError(ch, i, err)
	}
	if why == "" {
		return nil
	}
	e := iptablesRefusal(opOf(ch), pt.t, why).(*Error)
	e.Object, e.Pos, e.Words, e.Index = object(ch.Family, ch.Table, ch.Chain), ch.Pos, ch.words(), i
	return e
}

// iptablesChainRefusal is the error for adding chain name to pt, a table
// iptables-nft reads as its own by its name, for change i.
func iptablesChainRefusal(pt *plannedTable, ch *Change, name string, i int) error {
	e := iptablesRefusal(opOf(ch), pt.t, fmt.Sprintf("iptables-nft reads every %s table named %s, and would read the chain %s that --create adds to it", pt.t.Family, pt.t.Name, name)).(*Error)
	e.Object, e.Pos, e.Words, e.Index = object(ch.Family, ch.Table, ch.Chain), ch.Pos, ch.words(), i
	return e
}

// iptablesBuiltin reports whether ch is a base chain exactly as iptables-nft
// makes it in iptables table: the built-in chain of its hook there, by name,
// type and priority (iptables-nft's own test, nft_cache_add_base_chain).
func iptablesBuiltin(table string, ch kernel.Chain) bool {
	if ch.Base == nil {
		return false
	}
	b, ok := iptablesChains[table][ch.Base.Hook]
	return ok && builtinHooks[ch.Name] == ch.Base.Hook && sameBase(&b, ch.Base)
}

// iptablesName reports whether a table of family f named name is one that
// iptables-nft reads as its own: family ip or ip6, and the name of an
// iptables table (filter, nat, mangle, raw or security).
func iptablesName(f expr.Family, name string) bool {
	_, ok := iptablesChains[name]
	return ok && (f == expr.FamilyIP || f == expr.FamilyIP6)
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

// iptablesRefusal is the error for writing into iptables-nft's table, or
// deleting from it (op "delete rule").
func iptablesRefusal(op string, t kernel.Table, why string) error {
	reason := fmt.Sprintf(
		"table %s %s looks like iptables-nft's own (%s); after one native rule in it, iptables -S and -L fail and iptables-save leaves the table out (a comment in its place, exit status 0)",
		t.Family, t.Name, why)
	hint := fmt.Sprintf("write into another table (ctmatch add rule %s fw input --create …), or use --force to write into it anyway", t.Family)
	if op == "delete rule" {
		reason = fmt.Sprintf("table %s %s looks like iptables-nft's own (%s), and the rule was not written by ctmatch",
			t.Family, t.Name, why)
		hint = "use --force to delete it anyway"
	}
	return &Error{Op: op, Object: object(t.Family, t.Name), Index: -1, Err: ErrIptablesTable, Reason: reason, Hint: hint}
}

// Warning is something a caller should know about a change that was made
// (or, with ApplyOptions.Check, would be), although nothing failed: a fact,
// and apart from it what to do about it.
type Warning struct {
	Object string // the table or chain it is about: "ip filter"
	Reason string // what is so
	Hint   string // what to do about it; empty when nothing
}

// Warnings returns what the caller should know about what Apply did: each
// table it created that iptables-nft reads as its own (family ip or ip6,
// named filter, nat, mangle, raw or security), where iptables -S and -L
// fail and which iptables-save leaves out once ctmatch's native rules are in
// it.
func (a Applied) Warnings() []Warning {
	var out []Warning
	for _, c := range a.Created {
		if c.Chain != "" || !iptablesName(c.Family, c.Table) {
			continue
		}
		out = append(out, Warning{
			Object: object(c.Family, c.Table),
			Reason: fmt.Sprintf("table %s is named like an iptables table, and iptables-nft reads every %s table of that name as its own: with native rules in it, iptables -S and -L fail on it and iptables-save leaves it out",
				object(c.Family, c.Table), c.Family),
			Hint: fmt.Sprintf("if iptables is used on this host, write into a table of another name (ctmatch add rule %s fw input --create …)", c.Family),
		})
	}
	return out
}
