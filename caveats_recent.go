package ctmatch

import (
	"fmt"

	"github.com/ctmatch/ctmatch/parse"
)

// recentCaveats says, at the --set word of each -m recent --set of the
// rule, that the list it fills is not kept: the rule is translated without
// the match (compile/recent.go), exact for every packet as long as nothing
// reads the list, which no rule ctmatch translates does (but for a failed
// allocation of a new entry, where xt drops the packet); but the rule adds
// no address to any list, and a rule left in iptables that reads the list
// does not see the addresses this rule would have added. The hint is the
// same for every list, so that a run says it once, at its first such rule
// (a kube-proxy ruleset has a list per service).
func recentCaveats(r *parse.Rule) []*parse.Error {
	var out []*parse.Error
	for _, m := range r.Matches {
		rm, ok := m.(*parse.Recent)
		if !ok || !rm.SetOnly() {
			continue
		}
		name := parse.SaveString(rm.List)
		word, at := rm.ModeWord(r.Text)
		out = append(out, &parse.Error{Pos: at, Text: r.Text, Word: word, Kind: parse.Unsupported,
			Msg: "-m recent --set: the list " + name + " is not kept, nor any list a --set fills (nft has no xt_recent list: the rule adds no address to /proc/net/xt_recent/" + rm.List + "); " +
				"a rule that reads a list (--rcheck, --update, --remove) cannot be translated, and one left in iptables would not see the addresses these rules add",
			Hint: "the translation is the rule without the match, exact while nothing reads its list (but for a failed allocation of a new entry, where xt drops the packet); " +
				"said once, at the first such rule; see docs/semantics.md, \"The recent match\""})
	}
	return out
}

// readListSet refuses a -m recent --set of r whose list a rule of the
// ruleset reads (read: Options.ReadLists), at its --set word.
func readListSet(r *parse.Rule, read map[string]parse.Position) error {
	if len(read) == 0 {
		return nil
	}
	for _, m := range r.Matches {
		rm, ok := m.(*parse.Recent)
		if !ok || !rm.SetOnly() {
			continue
		}
		at, ok := read[rm.List]
		if !ok {
			continue
		}
		word, pos := rm.ModeWord(r.Text)
		name := parse.SaveString(rm.List)
		return &parse.Error{Pos: pos, Text: r.Text, Word: word, Kind: parse.Unsupported,
			Msg:  fmt.Sprintf("-m recent --set fills the list %s, which the rule at %s reads: ctmatch translates --set only where nothing reads its list, and no rule that reads one", name, at),
			Hint: "keep the rules that read the list, and those that fill it, in iptables; see docs/semantics.md, \"The recent match\""}
	}
	return nil
}

// RecentReaders returns the recent lists that r reads (-m recent
// --rcheck, --update, --remove or ! --set), for Options.ReadLists; r may
// be a rule that parse refused as Unsupported, with what it read of it.
func RecentReaders(r *parse.Rule) []string {
	if r == nil {
		return nil
	}
	var out []string
	for _, m := range r.Matches {
		if rm, ok := m.(*parse.Recent); ok && rm.Mode != 0 && !rm.SetOnly() {
			out = append(out, rm.List)
		}
	}
	return out
}
