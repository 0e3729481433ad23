package compile

import (
	"github.com/ctmatch/ctmatch/parse"
)

// HookNeeds returns every hook restriction of r: its matches'
// (parse.HookNeeds) and its target's (TargetHookNeed), in that order. It is
// the one question a whole file asks of a rule in a user chain.
func HookNeeds(r *parse.Rule) []parse.HookNeed {
	needs := parse.HookNeeds(r)
	if n, ok := TargetHookNeed(r); ok {
		needs = append(needs, n)
	}
	return needs
}

// TargetHookNeed returns the hooks r's target may run in, from its
// registration in targetPlaces, as a parse.HookNeed at the target's name,
// or false when the target has no hook restriction. A whole file checks it
// for a rule in a user chain against the built-in chains that reach the
// chain: x_tables (mark_source_chains) and nf_tables (nft_target_validate,
// through the jump graph) both refuse a target reached from a hook outside
// its registration's .hooks.
func TargetHookNeed(r *parse.Rule) (parse.HookNeed, bool) {
	t := r.Target
	if t == nil || t.Kind != parse.TargetExtension {
		return parse.HookNeed{}, false
	}
	pl, ok := targetPlaces[t.Name]
	if !ok {
		return parse.HookNeed{}, false
	}
	var hooks parse.Hooks
	for _, c := range pl.chains {
		h, _ := parse.ChainHook("mangle", c) // mangle has every built-in chain
		hooks |= h
	}
	return parse.HookNeed{What: "-j " + t.Name, Hooks: hooks, Node: targetName{t}}, true
}

// targetName is the node of a target's name, for an error at it.
type targetName struct{ t *parse.Target }

func (n targetName) Pos() parse.Pos { return n.t.NamePos }
func (n targetName) End() parse.Pos { return n.t.NamePos + parse.Pos(len(n.t.Name)) }
