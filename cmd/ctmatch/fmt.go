package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/ctmatch/ctmatch/parse"
	"github.com/ctmatch/ctmatch/script"
)

type fmtOptions struct {
	words  wordsFlags
	output string
}

func newFmtCmd() *cobra.Command {
	var o fmtOptions
	cmd := &cobra.Command{
		Use:   "fmt [-4|-6] [-o iptables|ast] (-- WORDS | -f FILE)",
		Short: "Check iptables conntrack rules and print them in canonical iptables-save form",
		Long: `fmt reads iptables rules that use the conntrack match and prints each one in
the canonical form iptables-save prints: options in iptables' order, full
upper-case state and status names, numbers for protocols and ports, ranges
written the short way.

The words come after "--", as separate arguments or as one quoted argument;
with -f, FILE holds one rule per line (blank lines and lines starting with #
are skipped). A rule may carry -t TABLE, -A CHAIN or -I CHAIN [N], any number
of -m conntrack and -m state matches, and -j or -g.

-o ast prints the syntax tree as JSON instead: {"version": 1, "rules": [...]},
with the position of every word (docs/syntax.md describes the fields).

Errors point at the offending word. Exit status 2 means iptables itself would
reject the words; 1 means they are valid iptables that ctmatch does not
support yet.`,
		Example: `  ctmatch fmt -- -m conntrack --ctstate est,n --ctexpire 3:3 --ctorigsrcport :4
  ctmatch fmt -- '-A INPUT -m state --state new -j ACCEPT'
  ctmatch fmt -6 -- -m conntrack --ctorigsrc 2001:db8::1/64
  iptables-save | grep conntrack | ctmatch fmt -f -`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.check(); err != nil {
				return err
			}
			srcs, err := o.words.sources(cmd, args)
			if err != nil {
				return err
			}
			return runFmt(cmd, &o, srcs)
		},
	}
	o.words.bind(cmd)
	cmd.Flags().StringVarP(&o.output, "output", "o", "iptables", "output `FORM`: iptables (canonical rule text) or ast (JSON syntax tree)")
	return cmd
}

// check reports bad usage before any input is read.
func (o *fmtOptions) check() error {
	if o.output != "iptables" && o.output != "ast" {
		return usageError("-o must be iptables or ast, not %q", o.output)
	}
	return nil
}

func runFmt(cmd *cobra.Command, o *fmtOptions, srcs sourceSeq) error {
	out := &stickyWriter{w: cmd.OutOrStdout()}
	rep := &reporter{w: cmd.ErrOrStderr(), json: o.words.errorFormat == "json"}
	popts := o.words.parseOptions(cmd.Context())
	ast := &astWriter{w: out}
	saveSaid := false
	readErr := srcs(func(src source) bool {
		if src.err == nil && src.pos.File != "" && script.IsSaveLine(src.text) {
			// An iptables-save file: its *TABLE, :CHAIN and COMMIT lines
			// are no rules. Said once, with what reads such a file; its
			// rule lines are read as rules.
			if !saveSaid {
				saveSaid = true
				rep.report(src, &parse.Error{Pos: 0, Word: firstWord(src.text), Text: src.text, Kind: parse.Invalid,
					Msg:  "an iptables-save line: fmt reads rules, one per line (the -A lines of such a file)",
					Hint: "ctmatch translate -o iptables -f FILE prints an iptables-save file in canonical form"})
			}
			return true
		}
		r, err := src.parse(popts)
		if err != nil {
			rep.report(src, err)
			return out.err == nil
		}
		if o.output == "ast" {
			ast.rule(src.pos.Line, r)
		} else {
			// A comma list of -s or -d is one rule per address, as
			// iptables-save prints it.
			for _, e := range r.Expand() {
				fmt.Fprintln(out, e.String())
			}
		}
		return out.err == nil
	})
	if o.output == "ast" {
		ast.end()
	}
	if out.err != nil {
		return writeError(out.err)
	}
	if readErr != nil {
		return readErr
	}
	return rep.err()
}

// astWriter writes the JSON document of fmt -o ast, {"version": 1,
// "rules": [...]}, one rule at a time, as it is read: nothing of a rule is
// kept once it is written.
type astWriter struct {
	w       io.Writer
	started bool // the document's head is written
	rules   int
	buf     bytes.Buffer
}

// astRule is one rule of the document: its line in the file, and its tree.
type astRule struct {
	Line int `json:"line,omitempty"`
	*parse.Rule
}

func (a *astWriter) head() {
	if !a.started {
		a.started = true
		fmt.Fprintf(a.w, "{\n  \"version\": %d,\n  \"rules\": [", parse.ASTVersion)
	}
}

// rule writes one rule, indented as json's Encoder.SetIndent("", "  ")
// indents it in the whole document.
func (a *astWriter) rule(line int, r *parse.Rule) {
	a.head()
	a.buf.Reset()
	enc := json.NewEncoder(&a.buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("    ", "  ")
	if err := enc.Encode(astRule{Line: line, Rule: r}); err != nil {
		// A tree always encodes; should it not, the document says so.
		a.buf.Reset()
		fmt.Fprintf(&a.buf, "{\"error\": %q}", err.Error())
	}
	sep := ","
	if a.rules == 0 {
		sep = ""
	}
	a.rules++
	fmt.Fprintf(a.w, "%s\n    %s", sep, bytes.TrimSuffix(a.buf.Bytes(), []byte("\n")))
}

// end closes the document.
func (a *astWriter) end() {
	a.head()
	if a.rules == 0 {
		fmt.Fprint(a.w, "]\n}\n")
		return
	}
	fmt.Fprint(a.w, "\n  ]\n}\n")
}
