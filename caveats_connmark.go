package ctmatch

import (
	"slices"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/parse"
	"github.com/ctmatch/ctmatch/script"
)

// combinedMarksCaveat says, at the CONNMARK operation's word, that the
// rule's nft text needs a newer nft than 1.0.6: CONNMARK --save-mark and
// --restore-mark with masks that keep part of the destination mark compile
// to a bitwise of two registers (expr.CombineMarks, Linux 6.13), whose text
// only nft 1.1.2 and later read and list. The rule itself is exact, and
// ctmatch loads it over netlink all the same; it is nil for other rules.
func combinedMarksCaveat(r *parse.Rule, rules []expr.Rule) *parse.Error {
	if r.Target == nil || !slices.ContainsFunc(rules, expr.Rule.CombinesMarks) {
		return nil
	}
	pos, word := r.Target.NamePos, r.Target.Name
	for _, o := range r.Target.Options {
		if o.Kind == parse.OptSaveMark || o.Kind == parse.OptRestoreMark {
			pos, word = o.Flag, "--"+o.Kind.String()
		}
	}
	return &parse.Error{Pos: pos, Text: r.Text, Word: word, Kind: parse.Unsupported, Msg: combinedMarksMsg,
		Hint: "ctmatch add rule and apply load the rule over netlink without nft; said once a run, at the first such rule; " +
			"see docs/semantics.md, \"MARK and CONNMARK\""}
}

// combinedMarksMsg is the message of the caveat.
const combinedMarksMsg = "this CONNMARK's nft text combines the packet's and the connection's marks with a bitwise of two registers, " +
	"which nft 1.0.6 can neither read nor list (its nft list ruleset aborts on the table that holds the rule): " +
	"loading the text needs nft 1.1.2 or later (and Linux 6.13 or later)"

// sayCaveats adds the caveats of an iptables-save file's rule to its
// line's warnings, the first of each kind (by its hint) in the file only
// (said: the kinds said), as translate says them once per run for rules
// given one by one.
func sayCaveats(said *map[string]bool, l *script.SaveLine, rs ...*Rule) {
	for _, r := range rs {
		if r == nil {
			continue
		}
		for _, c := range slices.Concat(r.Caveats, r.TextCaveats) {
			if (*said)[c.Hint] {
				continue
			}
			if *said == nil {
				*said = map[string]bool{}
			}
			(*said)[c.Hint] = true
			l.Warnings = append(l.Warnings, c)
		}
	}
}
