package e2e

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ctmatch/ctmatch/internal/cases"
	"github.com/ctmatch/ctmatch/internal/ktest"
	"github.com/ctmatch/ctmatch/internal/netns"
	"github.com/ctmatch/ctmatch/parse"
)

// The kernel oracle for the parser: the installed iptables and ip6tables,
// run in a network namespace of the test's own, must accept every Valid case
// and save it as ctmatch's canonical text, refuse every Invalid case, and
// accept every Unsupported case; and on each known difference they must still
// behave as recorded, so that the day the oracle changes, the test says so.
//
// Cases are batched: all the valid rules go into one namespace, chain after
// chain, and are compared in order with one iptables-save per table.

var oracleTools = []string{"iptables", "ip6tables", "iptables-save", "ip6tables-save", "iptables-restore", "ip6tables-restore"}

// tool returns the iptables command of the family: "iptables" or
// "ip6tables", with suffix ("", "-save", "-restore").
func tool(f parse.Family, suffix string) string {
	if f == parse.IPv6 {
		return "ip6tables" + suffix
	}
	return "iptables" + suffix
}

// builtinChains are the chains iptables has in each table.
var builtinChains = map[string][]string{
	"filter":   {"INPUT", "FORWARD", "OUTPUT"},
	"nat":      {"PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"},
	"mangle":   {"PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"},
	"raw":      {"PREROUTING", "OUTPUT"},
	"security": {"INPUT", "FORWARD", "OUTPUT"},
}

// userChains are created in every namespace of this test, so that a case
// that jumps to one of them is refused or accepted for its own sake.
var userChains = []string{"MYCHAIN", "ABCDEFGHIJKLMNOPQRSTUVWXYZAB", "MY'CH"}

func newOracleNS(t *testing.T) *netns.NS {
	t.Helper()
	ns := ktest.Namespace(t, oracleTools...)
	for _, f := range []parse.Family{parse.IPv4, parse.IPv6} {
		for _, c := range userChains {
			ktest.Run(t, ns, "", tool(f, ""), "-t", "filter", "-N", c)
		}
	}
	return ns
}

// splitWords splits rule text into argv as iptables-restore does (blanks
// separate words; a double-quoted part may hold blanks, and in it a
// backslash escapes the next byte). It reports false for an unterminated
// quote.
func splitWords(text string) ([]string, bool) {
	var words []string
	for i := 0; i < len(text); {
		if strings.IndexByte(" \t\r\n", text[i]) >= 0 {
			i++
			continue
		}
		var b strings.Builder
		for i < len(text) && strings.IndexByte(" \t\r\n", text[i]) < 0 {
			if text[i] != '"' {
				b.WriteByte(text[i])
				i++
				continue
			}
			for i++; ; i++ {
				if i == len(text) {
					return nil, false
				}
				if text[i] == '\\' && i+1 < len(text) {
					i++
				} else if text[i] == '"' {
					i++
					break
				}
				b.WriteByte(text[i])
			}
		}
		words = append(words, b.String())
	}
	return words, true
}

// hasCommand reports whether the words hold -A or -I in any spelling.
func hasCommand(words []string) bool {
	for _, w := range words {
		if strings.HasPrefix(w, "-A") || strings.HasPrefix(w, "-I") {
			return true
		}
		name, _, _ := strings.Cut(strings.TrimPrefix(w, "--"), "=")
		if strings.HasPrefix(w, "--") && len(name) >= 3 && (strings.HasPrefix("append", name) || strings.HasPrefix("insert", name)) {
			return true
		}
	}
	return false
}

// tableOf returns the table that the last -t names in words (iptables takes
// the last one), or filter.
func tableOf(words []string) string {
	table := "filter"
	for i, w := range words {
		if (w == "-t" || w == "--table") && i+1 < len(words) {
			table = words[i+1]
		}
	}
	return table
}

// oracleWords returns the words to give iptables for a case that ctmatch
// refuses (or that iptables is expected to treat otherwise): the words of the
// case, after -A and the table's first chain when the case has no command.
func oracleWords(words []string) []string {
	if hasCommand(words) {
		return words
	}
	chain := "INPUT"
	if c := builtinChains[tableOf(words)]; c != nil {
		chain = c[0]
	}
	return append([]string{"-A", chain}, words...)
}

// validOracle returns the words to give iptables for a valid case, and what
// iptables-save must print for it: -I CHAIN [N] becomes -A CHAIN (the
// namespace appends all cases, in order), a rule without a command gets -A
// and the table's first chain, and -t goes, as iptables-save prints a table's
// rules without it.
func validOracle(c cases.ValidCase, r *parse.Rule) (args []string, chain, want string) {
	args = slices.Clone(c.Args)
	table := r.TableName()
	if r.Command == nil {
		chain = builtinChains[table][0]
		args = append([]string{"-A", chain}, args...)
	} else {
		chain = r.Command.Chain
		if r.Command.Op == parse.Insert {
			// Find the words of -I, and of its rule number, by their
			// positions in the joined text.
			starts := make([]parse.Pos, len(args))
			var pos parse.Pos
			for i, a := range args {
				starts[i] = pos
				pos += parse.Pos(len(parse.Quote(a)) + 1)
			}
			flag := slices.Index(starts, r.Command.Flag)
			idx := slices.Index(starts, r.Command.IndexPos)
			if slices.Index(starts, r.Command.ChainPos) >= 0 {
				args[flag] = "-A"
			} else {
				args[flag] = "--append=" + chain
			}
			if r.Command.Index > 0 {
				args = slices.Delete(args, idx, idx+1)
			}
		}
	}
	r.Table = nil
	r.Command = &parse.Command{Op: parse.Append, Chain: chain, IndexPos: parse.NoPos}
	want = r.String()
	if r.Counters == nil {
		// iptables-save -c prints every rule with its counters.
		want = "[0:0] " + want
	}
	return args, chain, want
}

// savedForm turns a case's canonical text into the line iptables-save
// prints for the rule validOracle gives iptables: without "-t TABLE", with
// -A CHAIN in place of -I CHAIN [N], and -A CHAIN first when there was no
// command.
func savedForm(want, chain string) string {
	counters, want := splitCounters(want)
	if counters == "" {
		counters = "[0:0]"
	}
	return counters + " " + savedRule(want, chain)
}

// splitCounters splits "[P:B] rest" into "[P:B]" and "rest"; counters is
// "" when the line does not start with them.
func splitCounters(line string) (counters, rest string) {
	if c, r, ok := strings.Cut(line, " "); ok && strings.HasPrefix(c, "[") && strings.HasSuffix(c, "]") {
		return c, r
	}
	return "", line
}

// savedRule is savedForm without counters. Only the words before the
// matches are rewritten: a quoted word after them (a comment) keeps its
// blanks.
func savedRule(want, chain string) string {
	w := strings.SplitN(want, " ", 4)
	if len(w) >= 2 && w[0] == "-t" {
		w = strings.SplitN(strings.Join(w[2:], " "), " ", 4)
	}
	switch {
	case len(w) >= 3 && w[0] == "-I" && strings.Trim(w[2], "0123456789") == "":
		w = append([]string{"-A", w[1]}, w[3:]...)
	case len(w) >= 2 && w[0] == "-I":
		w[0] = "-A"
	case len(w) == 0 || w[0] != "-A":
		w = append([]string{"-A", chain}, w...)
	}
	return strings.Join(slices.DeleteFunc(w, func(s string) bool { return s == "" }), " ")
}

func differences() map[string]cases.Difference {
	m := map[string]cases.Difference{}
	for _, d := range cases.Differences {
		m[d.Name] = d
	}
	return m
}

func TestIptablesOracle(t *testing.T) {
	start := time.Now()
	defer func() { t.Logf("oracle took %v", time.Since(start)) }()
	diffs := differences()

	t.Run("valid", func(t *testing.T) {
		ns := newOracleNS(t)
		type added struct {
			c     cases.ValidCase
			args  []string
			table string
			chain string
			want  string
		}
		var todo []added
		made := map[string]bool{}
		for _, c := range cases.Valid {
			if _, ok := diffs[c.Name]; ok {
				continue
			}
			r, err := parse.ParseArgs(c.Args, parse.Options{Family: c.Family})
			if err != nil {
				t.Errorf("%s: ctmatch refuses %q: %v", c.Name, c.Args, err)
				continue
			}
			table := r.TableName()
			var chains []string
			if r.Command != nil && !slices.Contains(builtinChains[table], r.Command.Chain) {
				chains = append(chains, r.Command.Chain)
			}
			if r.Target != nil && r.Target.Kind == parse.TargetChain {
				chains = append(chains, r.Target.Name)
			}
			for _, ch := range chains {
				key := fmt.Sprint(c.Family, table, ch)
				if !made[key] && !(table == "filter" && slices.Contains(userChains, ch)) {
					ktest.Run(t, ns, "", tool(c.Family, ""), "-t", table, "-N", ch)
				}
				made[key] = true
			}
			args, chain, want := validOracle(c, r)
			todo = append(todo, added{c, args, table, chain, want})
		}

		// Append every case, in order.
		var ok []added
		for _, a := range todo {
			if _, stderr, err := ktest.Exec(ns, "", tool(a.c.Family, ""), a.args...); err != nil {
				t.Errorf("%s: %s refuses %q, which ctmatch accepts: %v\n%s(a known iptables bug goes into cases.Differences)",
					a.c.Name, tool(a.c.Family, ""), a.args, err, stderr)
				continue
			}
			ok = append(ok, a)
		}

		// Save each table once; the -A lines of each chain come in the order
		// the cases were appended.
		lines := map[string][]string{} // family, table, chain → -A lines
		saved := map[string]bool{}
		for _, a := range ok {
			key := fmt.Sprint(a.c.Family, a.table)
			if saved[key] {
				continue
			}
			saved[key] = true
			out := ktest.Run(t, ns, "", tool(a.c.Family, "-save"), "-c", "-t", a.table)
			for _, l := range strings.Split(out, "\n") {
				_, rule := splitCounters(l)
				if f := strings.Fields(rule); len(f) >= 2 && f[0] == "-A" {
					k := fmt.Sprint(a.c.Family, a.table, f[1])
					lines[k] = append(lines[k], l)
				}
			}
		}
		same := 0
		for _, a := range ok {
			k := fmt.Sprint(a.c.Family, a.table, a.chain)
			if len(lines[k]) == 0 {
				t.Errorf("%s: %s %q: no rule of chain %s in %s -t %s", a.c.Name, tool(a.c.Family, ""), a.args, a.chain, tool(a.c.Family, "-save"), a.table)
				continue
			}
			got := lines[k][0]
			lines[k] = lines[k][1:]
			if got != a.want {
				t.Errorf("%s: %s %q\n\tiptables-save: %s\n\tctmatch:       %s", a.c.Name, tool(a.c.Family, ""), a.args, got, a.want)
			}
			if w := savedForm(a.c.Want, a.chain); got != w {
				t.Errorf("%s: %s %q\n\tiptables-save: %s\n\tcase's Want:   %s", a.c.Name, tool(a.c.Family, ""), a.args, got, w)
			} else if got == a.want {
				same++
			}
		}
		for k, rest := range lines {
			if len(rest) > 0 {
				t.Errorf("%s: rules that no case accounts for: %q", k, rest)
			}
		}
		t.Logf("%d of %d valid cases saved by iptables exactly as ctmatch prints them (%d more are known differences)", same, len(todo), len(cases.Valid)-len(todo))
	})

	// run gives a case's rule text to iptables in ns: as argv, or through
	// iptables-restore when the text is not even words (an unterminated
	// quote). It returns the words given and what iptables said.
	run := func(ns *netns.NS, f parse.Family, text string) (args []string, stderr string, err error) {
		words, ok := splitWords(text)
		if !ok {
			words = oracleWords(strings.Fields(text))
			in := fmt.Sprintf("*%s\n%s\nCOMMIT\n", tableOf(words), strings.Join(words, " "))
			_, stderr, err = ktest.Exec(ns, in, tool(f, "-restore"), "--noflush")
			return words, stderr, err
		}
		args = oracleWords(words)
		_, stderr, err = ktest.Exec(ns, "", tool(f, ""), args...)
		return args, stderr, err
	}

	t.Run("invalid", func(t *testing.T) {
		ns := newOracleNS(t)
		n := 0
		for _, c := range cases.Invalid {
			if _, ok := diffs[c.Name]; ok {
				continue
			}
			text, _ := c.Rule()
			args, stderr, err := run(ns, c.Family, text)
			if err == nil {
				t.Errorf("%s: %s accepts %q, which ctmatch refuses as invalid (a known difference goes into cases.Differences)", c.Name, tool(c.Family, ""), args)
				continue
			}
			n++
			if testing.Verbose() {
				t.Logf("%s: %s %q: %v: %s", c.Name, tool(c.Family, ""), args, err, firstLine(stderr))
			}
		}
		t.Logf("%d invalid cases refused by iptables too", n)
	})

	t.Run("unsupported", func(t *testing.T) {
		ns := newOracleNS(t)
		n := 0
		for _, c := range cases.Unsupported {
			if _, ok := diffs[c.Name]; ok {
				continue
			}
			text, _ := c.Rule()
			args, stderr, err := run(ns, c.Family, text)
			if err != nil {
				t.Errorf("%s: %s refuses %q (%v: %s), but ctmatch calls it valid iptables that it does not support", c.Name, tool(c.Family, ""), args, err, firstLine(stderr))
				continue
			}
			n++
		}
		t.Logf("%d unsupported cases accepted by iptables", n)
	})

	t.Run("differences", func(t *testing.T) {
		ns := newOracleNS(t)
		texts := map[string]cases.InvalidCase{}
		family := map[string]parse.Family{}
		for _, c := range slices.Concat(cases.Invalid, cases.Unsupported) {
			texts[c.Name] = c
			family[c.Name] = c.Family
		}
		valid := map[string]cases.ValidCase{}
		for _, c := range cases.Valid {
			valid[c.Name] = c
			family[c.Name] = c.Family
		}
		version := ktest.Run(t, ns, "", "iptables", "-V")
		for _, d := range cases.Differences {
			f, known := family[d.Name]
			if !known {
				t.Errorf("difference %q names no case", d.Name)
				continue
			}
			var args []string
			var stderr string
			var err error
			if c, ok := valid[d.Name]; ok {
				r, perr := parse.ParseArgs(c.Args, parse.Options{Family: c.Family})
				if perr != nil {
					t.Errorf("%s: ctmatch refuses the valid case: %v", d.Name, perr)
					continue
				}
				args, _, _ = validOracle(c, r)
			} else {
				text, _ := texts[d.Name].Rule()
				words, ok := splitWords(text)
				if !ok {
					t.Errorf("%s: a difference must be plain words", d.Name)
					continue
				}
				args = oracleWords(words)
			}
			table := tableOf(args)
			ktest.Run(t, ns, "", tool(f, ""), "-t", table, "-F")
			_, stderr, err = ktest.Exec(ns, "", tool(f, ""), args...)
			switch {
			case d.Accepts && err != nil:
				t.Errorf("%s: %s now refuses %q (%v: %s); recorded: it accepts it and saves %q.\n\tReason recorded: %s\n\tUpdate cases.Differences (installed: %s)",
					d.Name, tool(f, ""), args, err, firstLine(stderr), d.Saves, d.Reason, strings.TrimSpace(version))
			case d.Accepts:
				out := ktest.Run(t, ns, "", tool(f, "-save"), "-t", table)
				var got []string
				for _, l := range strings.Split(out, "\n") {
					if strings.HasPrefix(l, "-A ") {
						got = append(got, l)
					}
				}
				if len(got) != 1 || got[0] != d.Saves {
					t.Errorf("%s: %s %q now saves %q; recorded: %q.\n\tReason recorded: %s\n\tUpdate cases.Differences (installed: %s)",
						d.Name, tool(f, ""), args, got, d.Saves, d.Reason, strings.TrimSpace(version))
				}
			case err == nil:
				t.Errorf("%s: %s now accepts %q; recorded: it refuses it, saying %q.\n\tReason recorded: %s\n\tUpdate cases.Differences (installed: %s)",
					d.Name, tool(f, ""), args, d.Says, d.Reason, strings.TrimSpace(version))
			case !strings.Contains(stderr, d.Says):
				t.Errorf("%s: %s refuses %q saying %q; recorded: %q.\n\tUpdate cases.Differences (installed: %s)",
					d.Name, tool(f, ""), args, firstLine(stderr), d.Says, strings.TrimSpace(version))
			}
		}
		t.Logf("%d known differences behave as recorded for %s", len(cases.Differences), strings.TrimSpace(version))
	})
}

// TestIptablesOracleLines gives the lines of rule text of internal/cases
// to iptables-restore -c (the mode that reads the counters, as ctmatch
// keeps them) in the filter table: it must accept every valid line and
// save it, with iptables-save -c, as ctmatch prints it; refuse every bad
// line but the recorded differences, which it must accept and save as
// recorded. And iptables' command line must refuse counters in brackets.
func TestIptablesOracleLines(t *testing.T) {
	ns := newOracleNS(t)
	restore := func(f parse.Family, line string) (saved []string, stderr string, err error) {
		ktest.Run(t, ns, "", tool(f, ""), "-t", "filter", "-F")
		in := fmt.Sprintf("*filter\n%s\nCOMMIT\n", line)
		if _, stderr, err = ktest.Exec(ns, in, tool(f, "-restore"), "-c", "--noflush"); err != nil {
			return nil, stderr, err
		}
		out := ktest.Run(t, ns, "", tool(f, "-save"), "-c", "-t", "filter")
		for _, l := range strings.Split(out, "\n") {
			if strings.HasPrefix(l, "[") {
				saved = append(saved, l)
			}
		}
		return saved, "", nil
	}
	for _, c := range cases.Lines {
		saved, stderr, err := restore(c.Family, c.Text)
		if err != nil {
			t.Errorf("%s: %s -c refuses %q, which ctmatch accepts: %v: %s", c.Name, tool(c.Family, "-restore"), c.Text, err, firstLine(stderr))
			continue
		}
		if want := savedForm(c.Want, "INPUT"); len(saved) != 1 || saved[0] != want {
			t.Errorf("%s: %s -c %q\n\tiptables-save -c: %q\n\tctmatch:          %q", c.Name, tool(c.Family, "-restore"), c.Text, saved, want)
		}
	}
	diffs := map[string]cases.Difference{}
	for _, d := range cases.LineDifferences {
		diffs[d.Name] = d
	}
	for _, c := range cases.BadLines {
		text, _ := c.Rule()
		saved, stderr, err := restore(c.Family, text)
		d, known := diffs[c.Name]
		delete(diffs, c.Name)
		switch {
		case known && err != nil:
			t.Errorf("%s: %s -c now refuses %q (%v: %s); recorded: it accepts it and saves %q. Update cases.LineDifferences", c.Name, tool(c.Family, "-restore"), text, err, firstLine(stderr), d.Saves)
		case known && (len(saved) != 1 || saved[0] != d.Saves):
			t.Errorf("%s: %s -c %q now saves %q; recorded: %q. Update cases.LineDifferences", c.Name, tool(c.Family, "-restore"), text, saved, d.Saves)
		case !known && err == nil:
			t.Errorf("%s: %s -c accepts %q (saving %q), which ctmatch refuses as invalid (a known difference goes into cases.LineDifferences)", c.Name, tool(c.Family, "-restore"), text, saved)
		}
	}
	for name := range diffs {
		t.Errorf("line difference %q names no case of cases.BadLines", name)
	}

	// ip6tables-nft 1.8.9 drops a rule's counters (fixed in 1.8.10): the
	// counter cases are IPv4 until it keeps them.
	if saved, stderr, err := restore(parse.IPv6, "[5:6] -A INPUT -m conntrack --ctstate NEW"); err != nil || len(saved) != 1 || saved[0] != "[0:0] -A INPUT -m conntrack --ctstate NEW" {
		t.Errorf("ip6tables-restore -c of [5:6]: %v %s: saves %q; recorded: it drops the counters. Give the counter cases of internal/cases IPv6 variants", err, firstLine(stderr), saved)
	}

	args := []string{"[0:0]", "-A", "INPUT", "-m", "conntrack", "--ctstate", "NEW"}
	if _, stderr, err := ktest.Exec(ns, "", "iptables", args...); err == nil || !strings.Contains(stderr, "Bad argument") {
		t.Errorf("iptables %q: %v: %q; want it refused with \"Bad argument\", as ctmatch refuses it", args, err, firstLine(stderr))
	}
	if _, err := parse.ParseArgs(args, parse.Options{}); err == nil {
		t.Errorf("ctmatch accepts the argv %q", args)
	}
	t.Logf("%d lines accepted and %d refused as by iptables-restore -c (%d known differences)", len(cases.Lines), len(cases.BadLines)-len(cases.LineDifferences), len(cases.LineDifferences))
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}
