package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ctmatch/ctmatch/firewall"
)

type listOptions struct {
	kernel      kernelFlags
	output      string
	handles     bool
	errorFormat string
}

func newListCmd() *cobra.Command {
	var o listOptions
	cmd := &cobra.Command{
		Use:   "list [ruleset | table FAMILY TABLE | chain FAMILY TABLE CHAIN] [-o nft|json|iptables|bytecode] [-a] [--netns PATH]",
		Short: "List nftables rules read back from the kernel, as nft rules or as iptables rules",
		Long: `list reads the rules of the ruleset (the default), of one table or of one
chain from the kernel over netlink, and decompiles them: the nft rules of one
iptables rule (its pieces) are found together, by the group record ctmatch
writes into every rule; a rule without one (written by nft or by hand) is a
group of its own. Only tables of family ip, ip6 and inet are listed.

-o nft (the default) prints the listing as nft list ruleset does, which nft -f
loads back: tables, chains, and each rule ctmatch understands as nft text with
its counter's values; -a adds handles. (nft 1.0.6 cannot parse a ct port
match without a protocol test before it; 1.0.7 and later can. A CONNMARK save or
restore whose masks combine both marks needs nft 1.1.2 or later: a comment line
above such a rule says so.)

-o json prints the same as libnftables JSON, in the shape nft -j list
ruleset prints, which nft -j -f loads back (times in milliseconds, as
"28000ms"); a rule ctmatch does not understand becomes an object nft
refuses ("ctmatch-not-decompiled"), so that a reload never leaves it out.

Both reload exactly what the kernel held: byte for byte with nft 1.0.6 (but
ct port matches without a protocol test, which nft 1.0.7 and later parse) to
1.1.1; with nft 1.1.2 and later, the same rules in that version's own forms
of ranges and sets. nft list ruleset does not: it lists a ct expiration
range in whole seconds, drops meta nfproto before ct original protocol in
inet tables, lists a ct port match without a protocol as "[invalid type]",
and writes an ICMP type and code inequality as two inequalities, which nft
1.1.0 and later load as such (a narrower rule).
ctmatch's group records and table records are not part of either form:
nft keeps a rule's comment only.

-o iptables prints one line per group, "-A CHAIN WORDS", under "# table" and
"# chain" comment lines; in an inet table, a rule of ip6tables words ends with
"# -6". A rule of another iptables table than filter starts with its -t, so
that each line is a whole iptables command: the table its target is valid
in only (nat for MASQUERADE, raw for NOTRACK), else nat in a nat chain, else
the table's name when it is nat, mangle, raw or security. -a adds the group's handles and its counter, summed over its pieces:
"# handles 5,6 packets P bytes B".

-o bytecode prints every rule's expressions as libnftnl debug lines, as
nft --debug=netlink prints them.

In every form a rule that ctmatch does not understand (another tool's rule, an
xt match of iptables-nft) is never left out: it is printed, as comment lines,
under "# not decompiled: handle N: REASON", in debug form.

Listing needs CAP_NET_ADMIN. Exit codes: 0 success; 1 a failure of the kernel
or the system (no such table or chain, no privilege); 2 bad usage.`,
		Example: `  ctmatch list
  ctmatch list table inet fw -o iptables -a
  ctmatch list chain ip filter INPUT --netns /run/netns/lab -o bytecode`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runList(cmd, &o, args)
		},
	}
	o.kernel.bind(cmd, false)
	fl := cmd.Flags()
	fl.StringVarP(&o.output, "output", "o", "nft", "output `FORM`: nft (nft's listing form), json (libnftables JSON, for nft -j -f), iptables (one line per iptables rule) or bytecode (libnftnl debug lines)")
	fl.BoolVarP(&o.handles, "handle", "a", false, "print the rules' handles (and, with -o iptables, the groups' summed counters)")
	fl.StringVar(&o.errorFormat, "error-format", "text", "print errors and warnings as `text` or json (one object per line)")
	return cmd
}

func runList(cmd *cobra.Command, o *listOptions, args []string) error {
	if err := o.kernel.validate(); err != nil {
		return err
	}
	if o.errorFormat != "text" && o.errorFormat != "json" {
		return usageError("--error-format must be text or json, not %q", o.errorFormat)
	}
	var f firewall.ListFormat
	switch o.output {
	case "nft":
		f = firewall.ListNft
	case "iptables":
		f = firewall.ListIptables
	case "bytecode":
		f = firewall.ListBytecode
	case "json":
		f = firewall.ListJSON
	default:
		return usageError("-o must be nft, json, iptables or bytecode, not %q", o.output)
	}
	var s firewall.Scope
	what := "ruleset"
	if len(args) > 0 {
		what = args[0]
	}
	switch what {
	case "ruleset":
		if len(args) > 1 {
			return usageError("unexpected argument %q after ruleset", args[1])
		}
	case "table", "chain":
		names := []string{"FAMILY", "TABLE"}
		if what == "chain" {
			names = append(names, "CHAIN")
		}
		if n := len(args) - 1; n < len(names) {
			return usageError("missing %s: list %s takes %s (for example: ctmatch list %s inet fw%s)", names[n], what, strings.Join(names, " "), what, map[bool]string{true: " input"}[what == "chain"])
		} else if n > len(names) {
			return usageError("unexpected argument %q after list %s %s", args[len(names)+1], what, strings.Join(names, " "))
		}
	default:
		return usageError("list what? ruleset, table FAMILY TABLE or chain FAMILY TABLE CHAIN, not %q", what)
	}
	if len(args) > 1 {
		fam, err := parseFamily(args[1])
		if err != nil {
			return err
		}
		s = firewall.Scope{Family: fam, Table: args[2]}
		if what == "chain" {
			s.Chain = args[3]
		}
		// An empty name would mean "every table" or "every chain" to the
		// library: a script whose variable is unset must not list more
		// than it asked for.
		if s.Table == "" || what == "chain" && s.Chain == "" {
			return usageError("list %s: an empty name names nothing", what)
		}
	}
	c, err := o.kernel.dial(cmd.Context())
	if err != nil {
		return err
	}
	defer c.Close()
	l, err := c.List(cmd.Context(), s)
	if err != nil {
		return systemError(err)
	}
	if err := l.Write(cmd.OutOrStdout(), f, firewall.ListText{Handles: o.handles}); err != nil {
		return writeError(err)
	}
	if len(l.Left) > 0 && (f == firewall.ListNft || f == firewall.ListJSON) {
		// A snapshot that does not hold everything says so, where a
		// restore after nft flush ruleset would lose it unnoticed.
		msg := fmt.Sprintf("the listing holds ip, ip6 and inet tables, their chains and rules, and leaves out %s: a restore after nft flush ruleset loses them", strings.Join(l.Left, ", "))
		if o.errorFormat == "json" {
			rep := &reporter{w: cmd.ErrOrStderr(), json: true}
			rep.print(source{}, problem{kind: "warning", msg: msg})
		} else {
			fmt.Fprintf(cmd.ErrOrStderr(), "ctmatch: warning: %s\n", msg)
		}
	}
	return nil
}
