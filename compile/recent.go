package compile

import (
	"github.com/ctmatch/ctmatch/parse"
)

// This file compiles -m recent. The kernel facts (docs/semantics.md, "The
// recent match"): xt_recent's --set adds the packet's address to the
// list NAME (or refreshes it there) and matches every packet, unless the
// kernel cannot allocate the list's entry, when it drops the packet; the
// list is seen only by the rules that read it (--rcheck, --update,
// --remove) and by /proc/net/xt_recent/NAME. ctmatch refuses every rule
// that reads a list, so in what it translates nothing reads one: --set
// changes nothing a packet meets, and the rule is the rule without the
// match. The list itself is not kept; the translation says so
// (ctmatch.Caveats).

// recent checks a recent match: "--set" without "!" adds no expression;
// every other form is refused as parse refuses it.
func recent(r *parse.Rule, m *parse.Recent) error {
	if e := m.Refusal(r.Text); e != nil {
		return e
	}
	return nil
}
