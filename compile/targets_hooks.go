package compile

import (
	"fmt"
	"slices"
	"strings"

	"github.com/ctmatch/ctmatch/parse"
	"github.com/ctmatch/ctmatch/script"
)

// targetPlace is where the kernel lets a target stand: its table (the
// xt_target's .table) and the built-in chains of its hooks (.hooks).
// x_tables refuses the target in another table (xt_check_target: "only
// valid in table X") and in a chain that a hook outside the set reaches
// (mark_source_chains, then xt_check_target's hook test).
type targetPlace struct {
	table  string
	chains []string // the built-in chains of the allowed hooks
	source string   // the kernel's registration, for the message
}

// targetPlaces are the registrations of the targets ctmatch translates:
// ipt_REJECT.c and ip6t_REJECT.c (filter, LOCAL_IN, FORWARD, LOCAL_OUT),
// xt_MASQUERADE.c (nat, POST_ROUTING), xt_nat.c (SNAT: nat, POST_ROUTING
// and LOCAL_IN; DNAT: nat, PRE_ROUTING and LOCAL_OUT) and xt_REDIRECT.c
// (nat, PRE_ROUTING and LOCAL_OUT).
var targetPlaces = map[string]targetPlace{
	"REJECT":     {"filter", []string{"INPUT", "FORWARD", "OUTPUT"}, "ipt_REJECT and ip6t_REJECT"},
	"MASQUERADE": {"nat", []string{"POSTROUTING"}, "xt_MASQUERADE"},
	"SNAT":       {"nat", []string{"POSTROUTING", "INPUT"}, "xt_nat"},
	"DNAT":       {"nat", []string{"PREROUTING", "OUTPUT"}, "xt_nat"},
	"REDIRECT":   {"nat", []string{"PREROUTING", "OUTPUT"}, "xt_REDIRECT"},
}

// builtinChains are the built-in chains of every iptables table.
var builtinChains = []string{"PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"}

// CheckTargetPlace checks that r's target may stand in chain (of r's -t
// table) as the kernel decides, and returns an Invalid *parse.Error at the
// target's name when it may not: iptables itself refuses such a rule.
//
// A built-in chain name (PREROUTING … POSTROUTING, in any case, as
// ctmatch's --create reads it) says the hook. Any other chain is a user
// chain: which hooks reach it depends on the jumps to it, which one rule
// does not show, so only the table is checked there (iptables refuses the
// rule later, when a jump from a wrong hook is added; ctmatch does not see
// that jump; a whole iptables-save file is checked through its jumps by
// ctmatch.SaveCheck, with TargetHookNeed). An empty chain means r's -A or -I chain; none at all checks
// the table only. A jump or goto of words with -A or -I to a built-in chain
// of r's table is refused too: the kernel jumps to none.
func CheckTargetPlace(r *parse.Rule, chain string) error {
	t := r.Target
	// (Only for words of an iptables chain, -A/-I: the words of add rule
	// and apply lines go into an nft chain, where a chain named INPUT may
	// be a regular chain; the kernel refuses a jump to a base chain there.)
	if t != nil && t.Kind == parse.TargetChain && r.Command != nil && script.IsBuiltin(r.TableName(), t.Name) {
		return &parse.Error{Pos: t.NamePos, Word: t.Name, Text: r.Text, Kind: parse.Invalid,
			Msg: script.BuiltinJumpMsg(r.TableName(), t.Name), Hint: "jump to a user chain (-N CHAIN)"}
	}
	if t == nil || t.Kind != parse.TargetExtension {
		return nil
	}
	pl, ok := targetPlaces[t.Name]
	if !ok {
		return nil
	}
	chain = ruleChain(r, chain)
	e := &parse.Error{Pos: t.NamePos, Word: t.Name, Text: r.Text, Kind: parse.Invalid}
	if table := r.TableName(); table != pl.table {
		e.Msg = fmt.Sprintf("%s is valid only in the %s table (%s), not in -t %s", t.Name, pl.table, pl.source, table)
		if pl.table != "filter" {
			e.Hint = "write -t " + pl.table + " among the words"
		} else {
			e.Hint = "leave out -t " + table
		}
		return e
	}
	up := strings.ToUpper(chain)
	if !slices.Contains(builtinChains, up) || slices.Contains(pl.chains, up) {
		return nil
	}
	what := "chain " + pl.chains[0]
	if len(pl.chains) > 1 {
		what = "chains " + strings.Join(pl.chains[:len(pl.chains)-1], ", ") + " and " + pl.chains[len(pl.chains)-1]
	}
	e.Msg = fmt.Sprintf("%s is valid only in the %s table's %s (%s) and in user chains reached only from there, not in %s", t.Name, pl.table, what, pl.source, chain)
	return e
}

// TargetTable returns the iptables table r's target is valid in only
// ("nat" for MASQUERADE, "raw" for NOTRACK …), or "" when its target may
// stand in any table.
func TargetTable(r *parse.Rule) string {
	t := r.Target
	if t == nil || t.Kind != parse.TargetExtension {
		return ""
	}
	return targetPlaces[t.Name].table
}

// ruleChain returns chain, or, when it is empty, the chain of r's -A or -I
// (empty when r has neither): the chain a rule is compiled for.
func ruleChain(r *parse.Rule, chain string) string {
	if chain == "" && r.Command != nil {
		return r.Command.Chain
	}
	return chain
}
