package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/ctmatch/ctmatch/parse"
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

func runFmt(cmd *cobra.Command, o *fmtOptions, srcs []source) error {
	out := cmd.OutOrStdout()
	rep := &reporter{w: cmd.ErrOrStderr(), json: o.words.errorFormat == "json"}
	popts := o.words.parseOptions(cmd.Context())
	type astRule struct {
		Line int `json:"line,omitempty"`
		*parse.Rule
	}
	doc := struct {
		Version int       `json:"version"`
		Rules   []astRule `json:"rules"`
	}{Version: parse.ASTVersion, Rules: []astRule{}}
	for _, src := range srcs {
		r, err := src.parse(popts)
		if err != nil {
			rep.report(src, err)
			continue
		}
		if o.output == "ast" {
			doc.Rules = append(doc.Rules, astRule{Line: src.line, Rule: r})
			continue
		}
		fmt.Fprintln(out, r.String())
	}
	if o.output == "ast" {
		enc := json.NewEncoder(out)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		if err := enc.Encode(doc); err != nil {
			return err
		}
	}
	return rep.err()
}
