package ctmatch

import (
	"fmt"
	"slices"
	"strings"

	"github.com/ctmatch/ctmatch/compile"
	"github.com/ctmatch/ctmatch/parse"
	"github.com/ctmatch/ctmatch/script"
)

// This file checks an iptables-save file as a whole for what no single rule
// shows: a rule in a user chain runs in the hooks of the built-in chains
// that reach the chain through jumps (-j and -g, transitively), which the
// kernel checks when iptables-restore loads the table:
//
//   - a match or target registered for some hooks only (xt_owner's .hooks,
//     ipt_REJECT's, xt_nat's, …) reached from a built-in chain of another
//     hook: x_tables (mark_source_chains, then xt_check_match and
//     xt_check_target with the hooks that reach the rule) and nf_tables
//     (nft_match_validate and nft_target_validate, run for each base chain
//     through the jump graph) both refuse it: Invalid, exit 2;
//   - a restriction only the extension's checkentry makes (addrtype's
//     --limit-iface-in and --limit-iface-out): iptables-legacy refuses it
//     through jumps, iptables-nft does not (nft_compat hands checkentry the
//     hook of a base chain only, and for a user chain none), and the nft
//     form ctmatch writes (fib … . iif / . oif) is refused by nf_tables at
//     such a hook: Unsupported, exit 1;
//   - a jump loop reached from a built-in chain (iptables-legacy: ELOOP;
//     nf_tables: "Too many links"), and a chain more than 15 jumps below a
//     built-in chain, which nf_tables refuses (NFT_JUMP_STACK_SIZE,
//     "Too many links"; iptables-legacy accepts it): Invalid, exit 2. A loop
//     that no built-in chain reaches is accepted by both, as here.
//
// A rule in a built-in chain is checked on its own (parse.CheckHooks,
// compile.CheckTargetPlace).

// maxJumpLevel is the deepest a chain may be below a built-in chain, in
// jumps: nf_tables' nft_chain_validate refuses level NFT_JUMP_STACK_SIZE
// (16).
const maxJumpLevel = 15

// SaveCheck collects, line by line, what the whole-file checks need of the
// table being read: per user chain, the first rule that uses each
// restricted match or target, and the first jump to each chain. It never
// holds more than that: memory grows with the chains, not the rules.
type SaveCheck struct {
	table  string
	chains map[string]*checkChain
	order  []string // the chains in the order they were declared
}

type checkChain struct {
	needs []checkNeed // the first rule with each restriction
	jumps []checkJump // the first jump to each chain
}

type checkNeed struct {
	need parse.HookNeed // without its Node: the rule's memory may be reused (SaveScript.Done)
	// The bytes of the line the need's node spans.
	pos, end parse.Pos
	at       parse.Position // the rule's line
	text     string
}

type checkJump struct {
	to   string
	at   parse.Position // the jump's line
	text string
	pos  parse.Pos // the target's name in text
}

// NewSaveCheck returns a checker of one iptables-save file.
func NewSaveCheck() *SaveCheck { return &SaveCheck{} }

// Line takes the next line of the file as script.SaveReader read it
// without an error (a rule with an Unsupported error counts, with what
// parse read of it, as it holds its place in iptables). At the COMMIT of a
// table it returns the table's errors as SaveErrors, nil if there are none.
func (c *SaveCheck) Line(l *script.SaveLine) error {
	if l == nil {
		return nil
	}
	switch l.Op {
	case script.SaveTable:
		c.table, c.chains, c.order = l.Table, map[string]*checkChain{}, nil
	case script.SaveChain, script.SavePolicy:
		c.chain(l.Chain)
	case script.SaveRule:
		ch := c.chain(l.Chain)
		if l.Rule == nil {
			return nil
		}
		if t := l.Rule.Target; t != nil && t.Kind == parse.TargetChain &&
			!slices.ContainsFunc(ch.jumps, func(j checkJump) bool { return j.to == t.Name }) {
			ch.jumps = append(ch.jumps, checkJump{to: t.Name, at: l.Pos, text: l.Text, pos: t.NamePos})
		}
		if l.Builtin {
			return nil // checked on its own
		}
		for _, n := range compile.HookNeeds(l.Rule) {
			if !slices.ContainsFunc(ch.needs, func(x checkNeed) bool { return x.need.What == n.What }) {
				pos, end := n.Node.Pos(), n.Node.End()
				n.Node = nil
				ch.needs = append(ch.needs, checkNeed{need: n, pos: pos, end: end, at: l.Pos, text: l.Text})
			}
		}
	case script.SaveFlush:
		ch := c.chain(l.Chain)
		ch.needs, ch.jumps = nil, nil
	case script.SaveDelete:
		delete(c.chains, l.Chain)
		c.order = slices.DeleteFunc(c.order, func(s string) bool { return s == l.Chain })
	case script.SaveCommit:
		errs := c.check()
		c.chains, c.order = nil, nil
		if len(errs) > 0 {
			return errs
		}
	}
	return nil
}

func (c *SaveCheck) chain(name string) *checkChain {
	if c.chains == nil {
		c.chains = map[string]*checkChain{}
	}
	ch := c.chains[name]
	if ch == nil {
		ch = &checkChain{}
		c.chains[name] = ch
		c.order = append(c.order, name)
	}
	return ch
}

// SaveError is an error about a line of an iptables-save file that the
// whole file shows, found at the COMMIT of its table: At is the line, Err
// is about its text.
type SaveError struct {
	At  parse.Position // the line the error is about (no column)
	Err *parse.Error   // the error, about the line's text (Err.Text)
}

// Error returns "FILE:LINE:COL: message".
func (e *SaveError) Error() string { return e.At.At(e.Err.Pos).String() + ": " + e.Err.Msg }

// Unwrap returns Err.
func (e *SaveError) Unwrap() error { return e.Err }

// SaveErrors are the errors of one table, in the order of their lines.
type SaveErrors []*SaveError

// Error returns the errors, one a line.
func (es SaveErrors) Error() string {
	s := make([]string, len(es))
	for i, e := range es {
		s[i] = e.Error()
	}
	return strings.Join(s, "\n")
}

// check walks the table's jump graph from each built-in chain, in hook
// order.
func (c *SaveCheck) check() SaveErrors {
	var errs SaveErrors
	reported := map[any]bool{}
	for _, t := range script.Tables {
		if t.Name != c.table {
			continue
		}
		for _, base := range t.Chains {
			if c.chains[base] == nil {
				continue
			}
			hook, _ := parse.ChainHook(c.table, base)
			w := walk{c: c, base: base, hook: hook, on: map[string]bool{}, done: map[string]int{}, reported: reported}
			w.visit(base, nil)
			errs = append(errs, w.errs...)
		}
	}
	slices.SortStableFunc(errs, func(a, b *SaveError) int {
		if a.At.Line != b.At.Line {
			return a.At.Line - b.At.Line
		}
		return int(a.Err.Pos) - int(b.Err.Pos)
	})
	return errs
}

// walk is a depth-first walk from one built-in chain.
type walk struct {
	c        *SaveCheck
	base     string
	hook     parse.Hooks
	on       map[string]bool // the chains on the current path
	done     map[string]int  // the chains walked, with the deepest level they were walked at
	reported map[any]bool
	errs     SaveErrors
}

func (w *walk) visit(name string, path []checkJump) {
	level := len(path)
	if l, ok := w.done[name]; ok && l >= level {
		return // walked before at this depth or deeper: nothing new below
	}
	w.done[name] = level
	ch := w.c.chains[name]
	if ch == nil {
		return
	}
	w.on[name] = true
	defer delete(w.on, name)
	for _, n := range ch.needs {
		if n.need.Hooks&w.hook != 0 || w.reported[n] {
			continue
		}
		w.reported[n] = true
		w.errs = append(w.errs, w.needError(name, n, path))
	}
	for _, j := range ch.jumps {
		p := append(slices.Clip(path), j)
		switch {
		case w.on[j.to]:
			key := [2]string{name, j.to}
			if !w.reported[key] {
				w.reported[key] = true
				w.errs = append(w.errs, &SaveError{At: j.at, Err: &parse.Error{Pos: j.pos, Word: j.to, Text: j.text, Kind: parse.Invalid,
					Msg: fmt.Sprintf("a jump loop: chain %s jumps back to %s (%s), %s: the kernel refuses a loop that a built-in chain reaches (iptables-restore: \"Too many links\" under nf_tables, ELOOP under iptables-legacy)",
						name, j.to, loopPath(j.to, p), w.reached(name, path)),
					Hint: "break the loop: a chain returns to the chain that jumped to it at its end, or with -j RETURN"}})
			}
		case level+1 > maxJumpLevel:
			key := [2]string{"depth", w.base}
			if !w.reported[key] {
				w.reported[key] = true
				w.errs = append(w.errs, &SaveError{At: j.at, Err: &parse.Error{Pos: j.pos, Word: j.to, Text: j.text, Kind: parse.Invalid,
					Msg: fmt.Sprintf("the jump to %s puts it %d jumps below %s (%s): the kernel's nf_tables allows at most %d (NFT_JUMP_STACK_SIZE), and iptables-restore (nf_tables) refuses it with \"Too many links\" (iptables-legacy accepts it)",
						j.to, level+1, w.base, chainPath(w.base, p), maxJumpLevel),
					Hint: "jump to fewer chains in a row"}})
			}
		default:
			w.visit(j.to, p)
		}
	}
}

// needError is the error for need n of chain name, reached by path.
func (w *walk) needError(name string, n checkNeed, path []checkJump) *SaveError {
	e := &parse.Error{Pos: n.pos, Text: n.text, Kind: parse.Invalid}
	if int(n.end) <= len(n.text) && n.end >= e.Pos {
		e.Word = n.text[e.Pos:n.end]
	}
	where := fmt.Sprintf("in chain %s, %s", name, w.reached(name, path))
	if n.need.Checkentry {
		e.Kind = parse.Unsupported
		e.Msg = fmt.Sprintf("%s %s, a hook where only %s may run it: iptables-legacy refuses it there, iptables-nft (which checks it in built-in chains only) loads it and ignores the limit, and nft's fib expression ctmatch writes for it is refused by the kernel at that hook",
			n.need.What, where, n.need.Hooks)
		e.Hint = "leave the option out of the rule (at that hook xt_addrtype ignores it), or move the rule into a chain only " + n.need.Hooks.String() + " reach"
		return &SaveError{At: n.at, Err: e}
	}
	e.Msg = fmt.Sprintf("%s %s: the kernel allows it only in %s and in user chains reached only from there, and refuses the table (iptables-restore: \"Invalid argument\")",
		n.need.What, where, n.need.Hooks)
	e.Hint = "move the rule into a chain that only " + n.need.Hooks.String() + " reach, or leave out the jump from " + w.base
	return &SaveError{At: n.at, Err: e}
}

// reached says how the walk came to chain name: "reached from INPUT by
// the jump at rules.v4:12", and for a longer path ", then from U by the
// jump at rules.v4:14" for each jump after the first.
func (w *walk) reached(name string, path []checkJump) string {
	if len(path) == 0 {
		return "the built-in chain " + name
	}
	var b strings.Builder
	from := w.base
	for i, j := range path {
		if i > 0 {
			b.WriteString(", then ")
		}
		fmt.Fprintf(&b, "from %s by the jump at %s", from, j.at)
		from = j.to
	}
	return "reached " + b.String()
}

// chainPath writes the chains of a path: "INPUT → U → V".
func chainPath(base string, path []checkJump) string {
	s := []string{base}
	for _, j := range path {
		s = append(s, j.to)
	}
	return strings.Join(s, " → ")
}

// loopPath writes the loop that ends path at chain to: "U → V → U".
func loopPath(to string, path []checkJump) string {
	for i := len(path) - 2; i >= 0; i-- {
		if path[i].to == to {
			return chainPath(to, path[i+1:])
		}
	}
	return chainPath(to, path)
}
