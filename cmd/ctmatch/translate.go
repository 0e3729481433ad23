package main

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ctmatch/ctmatch"
	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/firewall"
	"github.com/ctmatch/ctmatch/parse"
	"github.com/ctmatch/ctmatch/script"
)

type translateOptions struct {
	words     wordsFlags
	table     string
	family    string
	noCounter bool
	output    string
	file6     string
	format    string
	keepGoing bool
	copts     ctmatch.Options
	doc       *ctmatch.JSONDoc // -o json: the document the commands go into (translatejson.go)
	// caveats are the caveats of the rule just translated (ctmatch.Rule.
	// Caveats), for the caller to say at the rule's source (sayCaveat);
	// said: the kinds said in the run, whose others go unsaid.
	caveats []*parse.Error
	said    caveats
}

// sayLineWarning prints a warning of an iptables-save file's line; a
// caveat of a rule (Kind Unsupported) only when its kind was not said in
// the run yet.
func (o *translateOptions) sayLineWarning(rep *reporter, src source, w *parse.Error) {
	if w.Kind == parse.Unsupported {
		o.said.say(rep, src, []*parse.Error{w})
		return
	}
	rep.warnLine(src, w)
}

// collectCaveats keeps the caveats of tr, a rule just translated, for
// sayCaveat.
func (o *translateOptions) collectCaveats(tr *ctmatch.Rule) {
	for _, c := range slices.Concat(tr.Caveats, tr.TextCaveats) {
		if !slices.Contains(o.caveats, c) {
			o.caveats = append(o.caveats, c)
		}
	}
}

// sayCaveat prints the caveats of the rule just translated from src, the
// first of each kind in the run only.
func (o *translateOptions) sayCaveat(rep *reporter, src source) {
	o.said.say(rep, src, o.caveats)
	o.caveats = nil
}

func newTranslateCmd() *cobra.Command {
	var o translateOptions
	cmd := &cobra.Command{
		Use:   "translate [-4|-6] [--family ip|ip6|inet] [--table NAME] (-- WORDS | -f FILE)",
		Short: "Translate iptables conntrack rules into nft rules with the kernel's exact semantics",
		Long: `translate is a drop-in for iptables-translate for rules that use the conntrack
match: it prints one line per nft rule, in iptables-translate's format
(nft 'add rule ip filter INPUT ct state new counter accept').

Unlike iptables-translate, the nft rules match exactly the packets the kernel's
xt_conntrack match matches. Where that takes more than one nft rule (for
example --ctstate NEW,DNAT, or a state that holds without a conntrack next to
other options), translate prints several rules that no packet can match twice,
so a counter still counts each packet once.

The words carry -A CHAIN or -I CHAIN, and -t TABLE picks the table as in
iptables (filter when absent). --table NAME writes into another nft table,
--family inet into an inet table (each rule then starts with meta nfproto).
-I CHAIN becomes insert rule (the pieces of one rule are printed last first, so
that the chain holds them in order); -I CHAIN N with N > 1 needs the kernel's
view of the chain and exits 1: use ctmatch insert rule --index N.

-f FILE reads iptables rules from a file (--file6 FILE, or -6 -f FILE,
ip6tables rules): one rule per line, or an iptables-save file (its first line
that is not a comment starts with * or :), which becomes an nft script for
nft -f, as iptables-restore-translate prints it, with the built-in chains as
iptables-nft makes them and -I CHAIN N placed where iptables-restore puts it.
Nothing is ever printed in part: a file of rules prints nothing unless every
line translates, and a script that is not whole ends with a line nft refuses.
--keep-going leaves each line that cannot be translated as a
"# untranslated:" comment instead (exit 1, or 2 for an invalid one).

With --family inet, iptables-save files (-f and --file6) are read whole and
merged into one inet table per iptables table: a rule that is the same in
both families becomes one rule without meta nfproto, the others keep it,
each family keeps its order and its policies.

-o json prints the same commands as one libnftables JSON document, for
nft -j -f.

nft 1.0.6 cannot parse a ct port match that has no protocol test before it
(nft 1.0.7 and later can); such a rule is printed in its correct form with a
# comment line after it, and a warning. ctmatch loads such rules itself on
any version.

Exit codes: 0 success (warnings change nothing); 1 valid iptables that
ctmatch does not translate (a line --keep-going left as a comment), or a
failure of the system (a file that cannot be read, output that cannot be
written); 2 words iptables itself rejects, or bad usage. With several rules,
the worst decides.`,
		Example: `  ctmatch translate -- -A INPUT -m conntrack --ctstate NEW,SNAT -j ACCEPT
  ctmatch translate --family inet --table fw -- -A input -m conntrack ! --ctstate INVALID
  ctmatch translate -6 -- -I INPUT -m conntrack --ctorigsrc 2001:db8::/32 -j DROP
  ctmatch translate -f rules.txt
  ctmatch translate -f /etc/iptables/rules.v4 > rules.nft && nft -c -f rules.nft
  ctmatch translate --keep-going --file6 /etc/iptables/rules.v6
  ctmatch translate -f /etc/iptables/rules.v4 --file6 /etc/iptables/rules.v6 --family inet
  ctmatch translate -o json -f /etc/iptables/rules.v4 | nft -j -c -f -`,
		RunE: func(cmd *cobra.Command, args []string) error {
			// A flag that was given names something: an empty one (a
			// script's unset variable) is not the default.
			for _, name := range []string{"table", "family"} {
				if f := cmd.Flags().Lookup(name); f.Changed && f.Value.String() == "" {
					return usageError("--%s needs a name, not an empty string (leave --%s out for the default)", name, name)
				}
			}
			// The name goes into nft's command text, which reads a table
			// name only bare: anything else would read as other words, or
			// other commands ("filter INPUT accept; flush ruleset").
			if o.table != "" && script.NftKeyword(o.table) {
				return usageError("--table %s: nft reads %s as a keyword, not as a table name", o.table, o.table)
			}
			if o.table != "" && firewall.QuoteName(o.table) != o.table {
				return usageError("--table %s: nft reads a table name only as a letter or _ followed by letters, digits and _-./", firewall.QuoteName(o.table))
			}
			copts, err := o.compileOptions()
			if err != nil {
				return err
			}
			o.copts = copts
			if o.words.file != "" || o.file6 != "" {
				if err := o.fileFlags(cmd, args); err != nil {
					return err
				}
				files, err := o.fileInputs()
				if err != nil {
					return err
				}
				return runTranslateFiles(cmd, &o, files)
			}
			if o.output == "iptables" {
				return usageError("-o iptables prints an iptables-save file (-f FILE) in canonical form; for rules, use ctmatch fmt")
			}
			if o.keepGoing {
				return usageError("--keep-going goes with -f FILE or --file6 FILE")
			}
			srcs, err := o.words.sources(cmd, args)
			if err != nil {
				return err
			}
			return runTranslate(cmd, &o, copts, srcs)
		},
	}
	o.words.bind(cmd)
	fl := cmd.Flags()
	fl.StringVar(&o.table, "table", "", "write into the nft table `NAME` (default: the iptables table, -t or filter)")
	fl.StringVar(&o.family, "family", "", "nft table `FAMILY`: ip, ip6 or inet (default ip, or ip6 with -6)")
	fl.BoolVar(&o.noCounter, "no-counter", false, "leave out the counter iptables-translate adds to every rule")
	fl.StringVar(&o.file6, "file6", "", "read ip6tables rules from `FILE` (the same as -6 -f FILE; with -f FILE, both are translated)")
	fl.StringVar(&o.format, "format", "", "what -f and --file6 hold: `rules` (one per line) or iptables-save (default: an iptables-save file when its first line that is not a comment starts with * or :)")
	fl.BoolVar(&o.keepGoing, "keep-going", false, "translate every line that can be: a line that cannot becomes a \"# untranslated:\" comment (exit 1, or 2 for an invalid one); without it, nothing of a file is printed unless all of it translates")
	fl.StringVarP(&o.output, "output", "o", "nft", "output `FORM`: nft (nft commands, as iptables-translate prints them), json (the same commands as libnftables JSON, for nft -j -f) or bytecode (libnftnl debug lines, as nft --debug=netlink prints them); with an iptables-save file, iptables prints it in canonical iptables-save form")
	return cmd
}

// compileOptions checks the flags that say what to produce, before any input
// is read. An ip6 table takes ip6tables words, as in add rule.
func (o *translateOptions) compileOptions() (ctmatch.Options, error) {
	if o.output != "nft" && o.output != "bytecode" && o.output != "json" && o.output != "iptables" {
		return ctmatch.Options{}, usageError("-o must be nft, json, bytecode or iptables, not %q", o.output)
	}
	if o.words.v4 && o.words.v6 {
		return ctmatch.Options{}, usageError("-4 and -6 cannot be used together")
	}
	if o.format != "" && o.format != formatRules && o.format != formatSave {
		return ctmatch.Options{}, usageError("--format must be rules or iptables-save, not %q", o.format)
	}
	fam := expr.FamilyIP
	if o.words.v6 {
		fam = expr.FamilyIP6
	}
	if o.family != "" {
		var err error
		if fam, err = parseFamily(o.family); err != nil {
			return ctmatch.Options{}, err
		}
	}
	ipv6, err := wordsFamily(fam, o.words.v4, o.words.v6)
	if err != nil {
		return ctmatch.Options{}, err
	}
	o.words.v6 = ipv6
	return ctmatch.Options{Table: fam, IPv6: ipv6, NoCounter: o.noCounter}, nil
}

// runTranslate translates the words after "--" (files go through
// runTranslateFiles).
func runTranslate(cmd *cobra.Command, o *translateOptions, copts ctmatch.Options, srcs sourceSeq) error {
	popts := o.words.parseOptions(cmd.Context())
	out := &stickyWriter{w: cmd.OutOrStdout()}
	rep := &reporter{w: cmd.ErrOrStderr(), json: o.words.errorFormat == "json"}
	failed := false
	if o.output == "json" {
		o.doc = ctmatch.NewJSONDoc(out)
		defer func() {
			// A rule that did not translate prints nothing, as without
			// -o json: no document that nft would load as if it were
			// the translation.
			if !failed || o.doc.Commands() > 0 {
				_ = o.doc.Close()
			}
		}()
	}
	readErr := srcs(func(src source) bool {
		r, err := src.parse(popts)
		if err != nil {
			if r != nil && r.Command == nil && !parse.IsOtherCommand(err) {
				// A rule translate cannot take at all outweighs a word
				// it does not support (but for another iptables command,
				// -N or -P, which is what it does not support).
				err = noCommand(r)
			}
			rep.report(src, err)
			failed = true
			return true
		}
		if err := translateRule(out, r, o, copts); err != nil && out.err == nil {
			rep.report(src, err)
			failed = true
		}
		o.sayCaveat(rep, src)
		return out.err == nil
	})
	if out.err != nil {
		return writeError(out.err)
	}
	if readErr != nil {
		return readErr
	}
	return rep.err()
}

// chainNameHint says what loads a rule whose chain nft's text cannot name.
const chainNameHint = "ctmatch add rule loads the rule into such a chain over netlink, and -o json names it"

// translateRule prints the nft commands for one iptables rule.
func translateRule(w io.Writer, r *parse.Rule, o *translateOptions, copts ctmatch.Options) error {
	c := r.Command
	if c == nil {
		return noCommand(r)
	}
	if c.Op == parse.Insert && c.Index > 1 {
		return &parse.Error{Pos: c.IndexPos, Text: r.Text, Word: r.Text[c.IndexPos:c.End()], Kind: parse.Unsupported,
			Msg:  fmt.Sprintf("-I %s %d needs the kernel's groups: use ctmatch insert rule --index %d", c.Chain, c.Index, c.Index),
			Hint: "translate sees one rule at a time, and one iptables rule can be several nft rules"}
	}
	if o.output != "bytecode" && o.doc == nil {
		// nft's command text; JSON holds any name.
		if err := script.RuleNameError(r, chainNameHint); err != nil {
			return err
		}
	}
	// A comma list of -s or -d is one iptables rule per address, each a
	// group of its own, in iptables' order: each -I line goes to the top,
	// so that the last rule ends up first, as iptables -I puts it.
	trs, err := ctmatch.CompileAll(r, copts)
	if err != nil {
		return err
	}
	for _, tr := range trs {
		if err := writeTranslated(w, r, tr, o, copts); err != nil {
			return err
		}
	}
	return nil
}

// writeTranslated prints the nft commands (or, with -o json, the JSON
// commands) of one compiled iptables rule.
func writeTranslated(w io.Writer, r *parse.Rule, tr *ctmatch.Rule, o *translateOptions, copts ctmatch.Options) error {
	c := r.Command
	o.collectCaveats(tr)
	if o.doc != nil {
		return writeJSONRule(o.doc, tr, table(r, o), c)
	}
	rules := tr.Rules
	verb := "add"
	if c.Op == parse.Insert {
		verb = "insert"
		rules = slices.Clone(rules)
		slices.Reverse(rules)
	}
	table := o.table
	if table == "" {
		table = r.TableName()
	}
	for _, nr := range rules {
		if o.output == "bytecode" {
			if err := writeBytecode(w, nr, copts.Table, table, c.Chain); err != nil {
				return err
			}
			continue
		}
		fmt.Fprintf(w, "nft %s\n", shellQuote(fmt.Sprintf("%s rule %s %s %s %s", verb, copts.Table, table, c.Chain, nr)))
		if !nr.ParsesInNft106() {
			fmt.Fprintln(w, "# nft 1.0.6 cannot parse a ct port match without a protocol test before it: nft 1.0.7 and later load the line above, and so does ctmatch add rule on any version")
		}
	}
	return nil
}

// noCommand is translate's error for a rule without -A or -I.
func noCommand(r *parse.Rule) error {
	return &parse.Error{Pos: 0, Text: r.Text, Word: firstWord(r.Text), Kind: parse.Invalid,
		Msg: "no command: translate needs -A CHAIN or -I CHAIN among the words"}
}

// writeBytecode prints a rule's expressions as nft --debug=netlink prints
// them: the lines of the anonymous sets it looks up (each numbered from 1,
// as nft numbers a transaction of one rule), a "FAMILY TABLE CHAIN" line, the libnftnl debug lines, the
// comment's userdata line when the rule has a comment, a blank line.
func writeBytecode(w io.Writer, r expr.Rule, family expr.Family, table, chain string) error {
	b, sets, err := r.LowerSets(family, 1)
	if err != nil {
		return err
	}
	// The anonymous sets the rule looks up come first, as nft prints them.
	for _, s := range sets {
		for _, l := range expr.DebugSetLines(table, s) {
			fmt.Fprintln(w, l)
		}
	}
	fmt.Fprintf(w, "%s %s %s\n", family, table, chain)
	if err := expr.WriteDebug(w, b); err != nil {
		return err
	}
	if r.Comment != "" {
		ud, err := expr.CommentUserData(r.Comment)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "  %s\n", expr.DebugUserData(ud))
	}
	fmt.Fprintln(w)
	return nil
}

func firstWord(s string) string {
	if f := strings.Fields(s); len(f) > 0 {
		return f[0]
	}
	return ""
}

// shellQuote quotes s for a POSIX shell with single quotes.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
