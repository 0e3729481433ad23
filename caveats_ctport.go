package ctmatch

import (
	"slices"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/parse"
)

// ctPortCaveat says, at the first conntrack port option, that the rule's
// nft text needs nft 1.0.7 or later: nft 1.0.6 cannot parse a ct port
// match without an equality of a protocol it knows ports for before it
// ("ct original proto-dst 22": "Can't parse symbolic invalid expressions";
// expr.Rule.ParsesInNft106), so that translate's output would load in
// part, rule by rule, where nft is 1.0.6. The rule itself is exact, and
// ctmatch loads it over netlink all the same; nil for other rules.
func ctPortCaveat(r *parse.Rule, rules []expr.Rule) *parse.Error {
	if !slices.ContainsFunc(rules, func(nr expr.Rule) bool { return !nr.ParsesInNft106() }) {
		return nil
	}
	for _, m := range r.Matches {
		c, ok := m.(*parse.Conntrack)
		if !ok {
			continue
		}
		for _, o := range c.Options {
			switch o.Kind {
			case parse.OptOrigSrcPort, parse.OptOrigDstPort, parse.OptReplSrcPort, parse.OptReplDstPort:
				end := min(int(o.End()), len(r.Text))
				return &parse.Error{Pos: o.Pos(), Text: r.Text, Word: r.Text[min(int(o.Pos()), end):end], Kind: parse.Unsupported,
					Msg: "nft 1.0.6 cannot parse the nft text of a ct port match without a protocol test before it " +
						"(\"Can't parse symbolic invalid expressions\"): loading the text needs nft 1.0.7 or later",
					Hint: "ctmatch add rule and apply load the rule over netlink; where the connections are of one protocol, " +
						"--ctproto tcp (or udp) before the port gives text nft 1.0.6 reads; translate says it once, at the first such rule"}
			}
		}
	}
	return nil
}
