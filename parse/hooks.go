package parse

import (
	"fmt"
	"strings"
)

// This file holds the hooks and tables each match or target may be used
// in: the restrictions the kernel's x_tables registration (struct xt_match
// and xt_target's .hooks and .table) and the extensions' checkentry
// functions (par->hook_mask) put on a rule, which iptables reports as
// "Invalid argument" when it loads the rule. ctmatch refuses such a rule
// before anything is sent, as Invalid (exit 2), naming the chain.
//
// The API, for a match or target that has such a restriction: append one
// HookRule to hookRules below, in a block of its own, e.g.
//
//	{What: "REJECT", Hooks: HookInput | HookForward | HookOutput, Tables: []string{"filter"},
//		Uses: func(r *Rule) Node { … the node of the rule that needs it, or nil … }},
//
// Uses returns the node the error points at (the option, the match or the
// target) when the rule uses what the entry restricts, and nil otherwise.
// Hooks is the set of hooks it is allowed in (0: any), Tables the iptables
// tables (nil: any). Nothing else needs to change: CheckHooks runs every
// entry.
//
// Which hooks a rule runs in is known only for iptables' built-in chains of
// its table (-t, filter by default): -A INPUT in the filter table is the
// input hook. A rule in a user chain runs in the hooks of every base chain
// that jumps to it, which a single rule does not say: CheckHooks accepts
// it, as iptables-nft does (the kernel's nft_compat hands checkentry the
// hooks of base chains only, so "iptables -N U; iptables -A U -m addrtype
// --dst-type LOCAL --limit-iface-in; iptables -A OUTPUT -j U" is loaded by
// iptables 1.8.9 (nf_tables) without a word). nft itself checks its own
// expressions at load time through the jump graph (nft_fib's validate
// refuses "fib daddr . iif" reached from the output hook), so such a rule
// is refused by the kernel when ctmatch loads it into a chain reached from
// a hook it cannot run in. Table restrictions hold in user chains too. A
// whole iptables-save file shows the jumps: ctmatch.SaveCheck checks its
// user chains' rules against the hooks that reach them, with
// compile.HookNeeds, which asks every table of restrictions: hookRules
// here, fileHookRules (hooks_needs.go: -m mac and -m policy --dir in, which
// their own match code checks in built-in chains, with messages of their
// own) and compile's targetPlaces (the targets, compile/targets_hooks.go).

// Hooks is a set of netfilter hooks.
type Hooks uint8

// The netfilter hooks of the ip and ip6 families (NF_INET_*).
const (
	HookPrerouting  Hooks = 1 << iota // NF_INET_PRE_ROUTING
	HookInput                         // NF_INET_LOCAL_IN
	HookForward                       // NF_INET_FORWARD
	HookOutput                        // NF_INET_LOCAL_OUT
	HookPostrouting                   // NF_INET_POST_ROUTING
)

// hookChains are iptables' built-in chain names, one per hook, in hook
// order.
var hookChains = [...]string{"PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"}

// String lists the hooks by their iptables chain names: "INPUT, FORWARD".
func (h Hooks) String() string {
	var names []string
	for i, n := range hookChains {
		if h&(1<<i) != 0 {
			names = append(names, n)
		}
	}
	return strings.Join(names, ", ")
}

// tableHooks are the built-in chains of each iptables table.
var tableHooks = map[string]Hooks{
	"filter":   HookInput | HookForward | HookOutput,
	"nat":      HookPrerouting | HookInput | HookOutput | HookPostrouting,
	"mangle":   HookPrerouting | HookInput | HookForward | HookOutput | HookPostrouting,
	"raw":      HookPrerouting | HookOutput,
	"security": HookInput | HookForward | HookOutput,
}

// ChainHook returns the hook of chain in iptables table table ("" is
// filter): the hook of a built-in chain of that table, or false for any
// other chain (a user chain, whose hooks are those of the chains that jump
// to it). Built-in names are upper case, as iptables writes them.
func ChainHook(table, chain string) (Hooks, bool) {
	if table == "" {
		table = "filter"
	}
	for i, n := range hookChains {
		if n == chain && tableHooks[table]&(1<<i) != 0 {
			return 1 << i, true
		}
	}
	return 0, false
}

// HookRule is one restriction: what a match or target needs of the hook
// and the table it is used in.
type HookRule struct {
	What   string           // the option, match or target, as the error names it: "addrtype --limit-iface-in"
	Hooks  Hooks            // the hooks it may run in; 0 for any
	Tables []string         // the iptables tables it may be used in; nil for any
	Uses   func(*Rule) Node // the node of r that uses it, or nil
	// Checkentry is set when only the extension's checkentry function
	// checks the hooks (par->hook_mask), not its registration's .hooks:
	// iptables-legacy checks it through jumps too, but iptables-nft's
	// nft_compat hands checkentry the hook of a base chain only, so a rule
	// in a user chain is not checked (see HookNeeds).
	Checkentry bool
}

// hookRules are the restrictions ctmatch knows, each from the kernel's code
// named beside it.
var hookRules = []HookRule{
	// xt_addrtype.c addrtype_mt_checkentry_v1: "output interface limitation
	// not valid in PREROUTING and INPUT", "input interface limitation not
	// valid in POSTROUTING and OUTPUT".
	{What: "addrtype --limit-iface-in", Hooks: HookPrerouting | HookInput | HookForward, Checkentry: true,
		Uses: func(r *Rule) Node { return addrtypeLimit(r, false) }},
	{What: "addrtype --limit-iface-out", Hooks: HookForward | HookOutput | HookPostrouting, Checkentry: true,
		Uses: func(r *Rule) Node { return addrtypeLimit(r, true) }},

	// xt_owner.c: the owner match is registered with .hooks
	// (1 << NF_INET_LOCAL_OUT) | (1 << NF_INET_POST_ROUTING).
	{What: "-m owner", Hooks: HookOutput | HookPostrouting,
		Uses: func(r *Rule) Node {
			for _, m := range r.Matches {
				if o, ok := m.(*Owner); ok {
					return o
				}
			}
			return nil
		}},

	// xt_TCPMSS.c tcpmss_tg4_check and tcpmss_tg6_check: "path-MTU clamping
	// only supported in FORWARD, OUTPUT and POSTROUTING hooks". TCPMSS is
	// refused (tcpmss.go), but the rule read so far keeps the option, so
	// that a chain given apart from the words is checked too.
	{What: "TCPMSS --clamp-mss-to-pmtu", Hooks: HookForward | HookOutput | HookPostrouting, Checkentry: true,
		Uses: func(r *Rule) Node {
			if r.tcpmssClamp == nil {
				return nil
			}
			return r.tcpmssClamp
		}},
}

// addrtypeLimit returns the rule's first --limit-iface-out (out) or
// --limit-iface-in option, or nil.
func addrtypeLimit(r *Rule, out bool) Node {
	for _, m := range r.Matches {
		if a, ok := m.(*Addrtype); ok && a.Limit != nil && a.Limit.Out == out {
			return a.Limit
		}
	}
	return nil
}

// CheckHooks checks that every match and target of r may be used in chain
// of r's table, as the kernel checks when iptables loads the rule. It
// returns an Invalid *Error at the word that may not be there, or nil. A
// chain that is not a built-in chain of the table is a user chain: only
// the table is checked (see this file's comment). parse calls it for the
// chain of -A or -I; a caller that places words in a chain of its own
// (ctmatch add rule) calls it with that chain.
func CheckHooks(r *Rule, chain string) error {
	hook, _ := ChainHook(r.TableName(), chain)
	return CheckHooksAt(r, chain, hook)
}

// CheckHooksAt is CheckHooks for a rule that runs in hook, in a chain
// called chain (the name the error gives); hook 0 is a chain whose hooks
// are not known, where only the tables are checked.
func CheckHooksAt(r *Rule, chain string, hook Hooks) error {
	table := r.TableName()
	base := hook != 0
	for _, hr := range hookRules {
		n := hr.Uses(r)
		if n == nil {
			continue
		}
		if hr.Tables != nil && !contains(hr.Tables, table) {
			return hookError(r, n, fmt.Sprintf("%s is not valid in the %s table: only in %s", hr.What, table, strings.Join(hr.Tables, ", ")))
		}
		if base && hr.Hooks != 0 && hr.Hooks&hook == 0 {
			return hookError(r, n, fmt.Sprintf("%s is not valid in chain %s: the kernel allows it only in %s", hr.What, chain, hr.Hooks))
		}
	}
	if !base {
		return nil
	}
	// The restrictions parse checks itself for the chain of -A or -I
	// (mac.go, policy.go), for a chain given apart from the words (add
	// rule, apply lines).
	// (Two loops: appending one list to the other took an allocation per
	// rule.)
	for _, rules := range [...][]HookRule{fileHookRules, baseHookRules} {
		for _, hr := range rules {
			if n := hr.Uses(r); n != nil && hr.Hooks&hook == 0 {
				return hookError(r, n, fmt.Sprintf("%s is not valid in chain %s: the kernel allows it only in %s", hr.What, chain, hr.Hooks))
			}
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// hookError is an Invalid error at node n of r.
func hookError(r *Rule, n Node, msg string) *Error {
	pos, end := n.Pos(), n.End()
	if int(end) > len(r.Text) || pos > end {
		end = pos
	}
	return &Error{Pos: pos, Word: r.Text[pos:end], Text: r.Text, Msg: msg}
}
