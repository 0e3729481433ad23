package parse

// HookNeed is one hook restriction a rule's match carries: what a whole
// file checks for a rule in a user chain, once it knows the built-in chains
// that reach the chain through jumps.
type HookNeed struct {
	What  string // the option or match, as an error names it: "-m owner"
	Hooks Hooks  // the hooks it may run in
	Node  Node   // the node of the rule the error points at
	// Checkentry is set when only the extension's checkentry function
	// checks the hooks (HookRule.Checkentry): iptables-nft does not check
	// it in a user chain.
	Checkentry bool
}

// HookNeeds returns the hook restrictions of r's matches, in the order of
// the table of restrictions (the targets' are compile.TargetHookNeed's).
func HookNeeds(r *Rule) []HookNeed {
	var needs []HookNeed
	for _, hr := range append(hookRules[:len(hookRules):len(hookRules)], fileHookRules...) {
		if hr.Hooks == 0 {
			continue
		}
		if n := hr.Uses(r); n != nil {
			needs = append(needs, HookNeed{What: hr.What, Hooks: hr.Hooks, Node: n, Checkentry: hr.Checkentry})
		}
	}
	return needs
}

// fileHookRules are restrictions that only a whole file needs to know of,
// since parse checks them itself where the rule's own chain is built in:
// xt_mac's registration, and xt_policy's checkentry (policy_mt_check) refuses --dir in in OUTPUT and
// POSTROUTING ("input policy not valid in POSTROUTING and OUTPUT"), and
// --dir out in PREROUTING and INPUT. Only --dir in is here: its nft form,
// meta secpath, is refused by nf_tables reached from the output and
// postrouting hooks (nft_meta_get_validate), while --dir out's, rt ipsec,
// has no hook restriction in the kernel and means there what xt_policy
// means (the route's xfrm, absent at INPUT), as iptables-nft loads it.
var fileHookRules = []HookRule{
	// xt_mac.c registers the mac match with .hooks PRE_ROUTING, LOCAL_IN
	// and FORWARD (parse checks the built-in chains itself, mac.go).
	{What: "-m mac", Hooks: HookPrerouting | HookInput | HookForward,
		Uses: func(r *Rule) Node {
			for _, m := range r.Matches {
				if mac, ok := m.(*MAC); ok {
					return macName{mac}
				}
			}
			return nil
		}},
	{What: "policy --dir in", Hooks: HookPrerouting | HookInput | HookForward, Checkentry: true,
		Uses: func(r *Rule) Node {
			for _, m := range r.Matches {
				if p, ok := m.(*Policy); ok && p.Dir != nil && !p.Out {
					return policyDir{p.Dir}
				}
			}
			return nil
		}},
}

// policyDir is the node of a --dir option and its value.
type policyDir struct{ o *PolicyOption }

func (n policyDir) Pos() Pos { return n.o.Flag }
func (n policyDir) End() Pos { return n.o.Value.End() }

// macName is the node of -m mac's "mac" word.
type macName struct{ m *MAC }

func (n macName) Pos() Pos { return n.m.NamePos }
func (n macName) End() Pos { return n.m.NamePos + Pos(len(n.m.Module)) }

// baseHookRules are restrictions checked only in built-in chains: xt_policy's
// checkentry refuses --dir out in PREROUTING and INPUT ("output policy not
// valid in PREROUTING and INPUT"). A whole file does not check it through
// jumps (see fileHookRules: rt ipsec has no hook restriction in nf_tables,
// and iptables-nft loads such a rule in a user chain).
var baseHookRules = []HookRule{
	{What: "policy --dir out", Hooks: HookForward | HookOutput | HookPostrouting, Checkentry: true,
		Uses: func(r *Rule) Node {
			for _, m := range r.Matches {
				if p, ok := m.(*Policy); ok && p.Dir != nil && p.Out {
					return policyDir{p.Dir}
				}
			}
			return nil
		}},
}
