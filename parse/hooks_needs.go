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
	for _, hr := range hookRules {
		if hr.Hooks == 0 {
			continue
		}
		if n := hr.Uses(r); n != nil {
			needs = append(needs, HookNeed{What: hr.What, Hooks: hr.Hooks, Node: n, Checkentry: hr.Checkentry})
		}
	}
	return needs
}
