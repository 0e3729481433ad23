package compile

import (
	"strings"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/parse"
)

// This file compiles -m comment. The kernel fact (docs/semantics.md,
// "Comments"): xt_comment's match function returns true for every packet,
// so the match adds no expression; its text becomes nft's comment of each
// nft rule of the group (`comment "TEXT"`, kept in the rule's userdata as
// nft's comment record), where the listing finds it again.

// ruleComment returns the text of the rule's comment match, or "" (parse
// refuses a second comment match, a comment nft cannot hold, and reads an
// empty one as no comment to keep).
func ruleComment(r *parse.Rule) string {
	if c := r.Comment(); c != nil {
		return c.Text
	}
	return ""
}

// setComment gives every rule of out the comment of r.
func setComment(out []expr.Rule, r *parse.Rule) {
	c := ruleComment(r)
	if c == "" {
		return
	}
	for i := range out {
		out[i].Comment = c
	}
}

// commentWords returns the words of a comment match that says c, as
// iptables-save writes them, or "" for no comment.
func commentWords(c string) string {
	if c == "" {
		return ""
	}
	return "-m comment --comment " + parse.SaveString(c)
}

// wordsComment returns the pieces of a group to compare with the group
// record's words r: as they are when r has a comment match, and without
// their comment when it has none (the comment was given next to the rule,
// as firewall.Change.Comment gives it, not as -m comment).
func wordsComment(r *parse.Rule, pieces []expr.Rule) []expr.Rule {
	if r.Comment() != nil || len(pieces) == 0 || pieces[0].Comment == "" {
		return pieces
	}
	out := make([]expr.Rule, len(pieces))
	for i, p := range pieces {
		p.Comment = ""
		out[i] = p
	}
	return out
}

// bareComment returns the pieces without their comment when no comment
// match that ctmatch reads can say it: longer than nft's 128 bytes, or
// with a double quote (a comment given next to the rule, as
// firewall.Change.Comment may give it, which a listing shows beside the
// words). Otherwise it returns them as they are.
func bareComment(pieces []expr.Rule) []expr.Rule {
	c := pieces[0].Comment
	if c == "" || len(c) <= parse.MaxNftComment && !strings.Contains(c, `"`) {
		return pieces
	}
	out := make([]expr.Rule, len(pieces))
	for i, p := range pieces {
		p.Comment = ""
		out[i] = p
	}
	return out
}
