package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ctmatch/ctmatch"
	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/firewall"
	"github.com/ctmatch/ctmatch/parse"
	"github.com/ctmatch/ctmatch/script"
)

// ruleOptions are the flags of add rule and insert rule.
type ruleOptions struct {
	insert    bool
	words     wordsFlags
	kernel    kernelFlags
	write     writeFlags
	noCounter bool
	index     int
	handle    uint64
}

// newObjectCmd returns a verb command (add, insert, delete) whose only
// object is "rule", as in nft's grammar.
func newObjectCmd(verb, short string, rule *cobra.Command) *cobra.Command {
	cmd := &cobra.Command{
		Use:   verb + " rule …",
		Short: short,
		Long: short + `.

The only object is "rule", as in nft's grammar: ctmatch ` + verb + ` rule --help says more.`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageError("%s what? %s rule FAMILY TABLE CHAIN … (ctmatch %s rule --help says more)", verb, cmd.CommandPath(), verb)
			}
			return usageError("unknown object %q: ctmatch %s takes \"rule\" (ctmatch %s rule --help says more)", args[0], verb, verb)
		},
	}
	cmd.AddCommand(rule)
	return cmd
}

func newAddCmd() *cobra.Command {
	return newObjectCmd("add", "Add iptables conntrack rules to an nftables chain", newRuleCmd(false))
}

func newInsertCmd() *cobra.Command {
	return newObjectCmd("insert", "Insert iptables conntrack rules into an nftables chain", newRuleCmd(true))
}

func newRuleCmd(insert bool) *cobra.Command {
	o := ruleOptions{insert: insert}
	verb, where := "add", `
netlink: at the end of the chain, or after group N of the chain (--index N),
or after the group that holds the rule with handle H (--handle H).`
	example := `  ctmatch add rule inet fw input --create -- -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
  ctmatch add rule ip filter INPUT --netns /run/netns/lab -- -m conntrack --ctstate NEW,DNAT -j ACCEPT
  ctmatch add rule ip6 fw forward --echo -- -m conntrack ! --ctstate INVALID --ctorigsrc 2001:db8::/32 -j DROP
  ctmatch add rule inet fw input --check -f rules.txt`
	if insert {
		verb, where = "insert", `
netlink: at the top of the chain, or before group N of the chain (--index N:
the rule becomes group N, as with iptables -I CHAIN N), or before the group
that holds the rule with handle H (--handle H).`
		example = `  ctmatch insert rule inet fw input -- -m conntrack --ctstate INVALID -j DROP
  ctmatch insert rule inet fw input --index 2 -- -m conntrack --ctstate NEW,DNAT -j ACCEPT
  ctmatch insert rule ip filter INPUT --handle 7 -- -m state --state NEW -j ACCEPT`
	}
	cmd := &cobra.Command{
		Use:   "rule FAMILY TABLE CHAIN [flags] (-- WORDS | -f FILE)",
		Short: map[bool]string{false: "Add", true: "Insert"}[insert] + " an iptables conntrack rule to a chain, as native nft rules",
		Long: verb + ` rule translates an iptables conntrack rule, as translate does, and writes
the nft rules into chain CHAIN of table TABLE (family ip, ip6 or inet) over` + where + `

The words carry the matches, the target and optionally -t TABLE (which
--create reads); the chain is the positional CHAIN, so -A and -I among the
words are errors. A target allowed only in some tables and chains (REJECT:
filter's INPUT, FORWARD, OUTPUT; MASQUERADE, SNAT, DNAT, REDIRECT: nat's) is
checked against -t and CHAIN before anything is sent. With -f, FILE holds one
rule per line, all written in one transaction, in the file's order.

One iptables rule can need several nft rules (its pieces). They form a
group: each carries a record in its userdata (a group id, its piece number
and the iptables words), so that ctmatch list shows them as one iptables
rule, counts them together, and deletes them together. --index counts
groups, not nft rules.

Everything happens in one kernel transaction, checked against the ruleset
ctmatch read to plan it: either every rule is written or none is, and a
concurrent change makes the kernel refuse it instead of placing the rules
wrongly.

--create creates the table and the chain when they are missing, and nothing
else: a created table carries ctmatch's ownership record; a chain named like
an iptables built-in chain (PREROUTING, INPUT, FORWARD, OUTPUT, POSTROUTING,
in any case) becomes the base chain iptables-nft makes in the iptables table
of -t (filter by default), with policy accept; any other name a regular
chain. An existing chain that --create would have made otherwise is an
error. Creating a table of family ip or ip6 named filter, nat, mangle, raw
or security prints a warning: iptables-nft reads it as its own.

A table of family ip or ip6 named filter, nat, mangle, raw or security that
ctmatch did not create is taken for iptables-nft's own (iptables-nft marks
its tables in no other way): ctmatch refuses to write into it unless
--force, because after one native rule iptables -S and -L fail there and
iptables-save leaves the table out (a comment in its place, exit status 0).
Only a table whose chains are all base chains iptables-nft does not make
(nft add chain ip filter input { type filter hook input priority 0; }),
with no xt match or target, is written into without --force, and not with
--create: iptables-nft leaves such chains out.

FAMILY ip takes iptables words and ip6 ip6tables words (-6 is implied);
inet takes either, -4 (the default) or -6. --check has the kernel check every
change and then changes nothing. Writing needs CAP_NET_ADMIN.

Exit codes: 0 success; 1 valid iptables that ctmatch does not support, or a
refusal or failure of the kernel or the system (no privilege, a missing table
or chain, iptables-nft's table); 2 words iptables rejects, or bad usage.`,
		Example: example,
		Annotations: map[string]string{
			annotationWordsExample: "ctmatch " + verb + " rule inet fw input -- -m conntrack --ctstate NEW",
		},
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runRule(cmd, &o, args)
		},
	}
	o.words.bind(cmd)
	o.kernel.bind(cmd, true)
	o.write.bind(cmd)
	fl := cmd.Flags()
	fl.BoolVar(&o.noCounter, "no-counter", false, "leave out the counter every rule carries by default (iptables counts every rule)")
	if insert {
		fl.Var(decimal[int]{&o.index}, "index", "insert before group `N` of the chain (from 1; the rule becomes group N)")
		fl.Var(decimal[uint64]{&o.handle}, "handle", "insert before the group that holds the rule with handle `H`")
	} else {
		fl.Var(decimal[int]{&o.index}, "index", "add after group `N` of the chain (from 1)")
		fl.Var(decimal[uint64]{&o.handle}, "handle", "add after the group that holds the rule with handle `H`")
	}
	return cmd
}

func runRule(cmd *cobra.Command, o *ruleOptions, args []string) error {
	if err := o.kernel.validate(); err != nil {
		return err
	}
	if cmd.Flags().Changed("index") && o.index < 1 {
		return usageError("--index counts groups from 1, not %d", o.index)
	}
	if cmd.Flags().Changed("handle") && o.handle == 0 {
		return usageError("--handle takes a rule handle, from 1 (ctmatch list -a shows them)")
	}
	if o.index != 0 && o.handle != 0 {
		return usageError("--index and --handle cannot be used together")
	}
	pos, srcs, err := o.words.positionalSources(cmd, args, "FAMILY", "TABLE", "CHAIN")
	if err != nil {
		return err
	}
	fam, err := parseFamily(pos[0])
	if err != nil {
		return err
	}
	ipv6, err := wordsFamily(fam, o.words.v4, o.words.v6)
	if err != nil {
		return err
	}
	rep := &reporter{w: cmd.ErrOrStderr(), json: o.words.errorFormat == "json"}
	popts := o.words.parseOptions(cmd.Context())
	if ipv6 {
		popts.Family = parse.IPv6
	}
	var changes []firewall.Change
	var cv caveats
	for _, src := range srcs {
		rules, err := compileRule(src, popts, fam, ipv6, o.noCounter, cmd.CommandPath(), pos[2])
		if err != nil {
			rep.report(src, err)
			continue
		}
		for _, rule := range rules {
			cv.say(rep, src, rule.Caveats)
		}
		if o.insert {
			// A comma list of -s or -d is several iptables rules, which
			// iptables -I inserts one by one at the same place: the last
			// ends up first.
			slices.Reverse(rules)
		}
		for _, rule := range rules {
			ch := firewall.Change{Family: fam, Table: pos[1], Chain: pos[2], Rule: rule, Insert: o.insert, Index: o.index, Handle: o.handle, Pos: src.pos}
			// The rules of a file keep the file's order: each goes after
			// the one before it.
			if o.index != 0 {
				ch.Index = o.index + len(changes)
			}
			changes = append(changes, ch)
		}
	}
	if err := rep.err(); err != nil {
		return err
	}
	if len(changes) == 0 {
		return nil
	}
	reversed := o.index == 0 && (!o.insert && o.handle != 0 || o.insert && o.handle == 0)
	if reversed {
		// Each goes right after the same group, or to the top: in reverse,
		// they end up in the file's order. (At the top, the chain's groups
		// are not needed, nor read.)
		slices.Reverse(changes)
	}
	return applyChanges(cmd.Context(), cmd.OutOrStdout(), rep, &o.kernel, &o.write, changes, reversed)
}

// decimal is a number flag written in base 10, as in apply lines and as
// iptables reads rule numbers: "010" is ten (pflag's own number flags would
// read it as octal eight, and "0x10" as sixteen).
type decimal[T int | uint64] struct{ p *T }

func (d decimal[T]) Set(s string) error {
	// Digits only, as apply lines read them: no sign, no 0x.
	if s == "" || strings.Trim(s, "0123456789") != "" {
		return errors.New("expected a decimal number")
	}
	var zero T
	if _, signed := any(zero).(int); signed {
		n, err := strconv.ParseInt(s, 10, strconv.IntSize)
		if err != nil {
			return errors.New("the number is too large")
		}
		*d.p = T(n)
		return nil
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return errors.New("the number is too large")
	}
	*d.p = T(n)
	return nil
}

func (d decimal[T]) String() string { return fmt.Sprint(*d.p) }

func (d decimal[T]) Type() string { return "int" }

// wordsFamily decides whether the words are ip6tables words: -6, or a table
// of family ip6.
func wordsFamily(fam expr.Family, v4, v6 bool) (bool, error) {
	ipv6, err := script.WordsFamily(fam, v4, v6)
	if err != nil {
		return false, usageError("%v", err)
	}
	return ipv6, nil
}

// compileRule parses and translates one rule for add rule and insert rule
// (command names them in messages): the words carry no -A or -I, and the
// matches may be used in chain. A comma list of -s or -d makes it several
// iptables rules, in iptables' order. (apply reads its lines with
// script.ReadLine.)
func compileRule(src source, popts parse.Options, fam expr.Family, ipv6, noCounter bool, command, chain string) ([]*ctmatch.Rule, error) {
	r, err := src.parse(popts)
	if err != nil && r == nil {
		return nil, err
	}
	// (With an Unsupported error, r is what was read: -A among the words
	// outweighs it.)
	if err := script.CheckWords(r, command); err != nil {
		return nil, err
	}
	err = script.CommandInWords(err, command)
	// The chain's hooks outweigh an Unsupported error too: what was read
	// may already be refused there (TCPMSS's --clamp-mss-to-pmtu).
	if herr := script.CheckChainHooks(r, chain); herr != nil {
		return nil, herr
	}
	if err != nil {
		return nil, err
	}
	return ctmatch.CompileAll(r, ctmatch.Options{Table: fam, IPv6: ipv6, NoCounter: noCounter, Chain: chain})
}

// applyChanges writes changes in one transaction and, with --echo, prints
// what was created and added; only then does it ask for the rules' handles.
func applyChanges(ctx context.Context, out io.Writer, rep *reporter, kf *kernelFlags, wf *writeFlags, changes []firewall.Change, reversed bool) error {
	c, err := kf.dial(ctx)
	if err != nil {
		return kernelFailure(rep, err)
	}
	defer c.Close()
	res, err := c.Apply(ctx, changes, firewall.ApplyOptions{Create: wf.create, Force: wf.force, Check: kf.check, NoHandles: !wf.echo})
	if err != nil {
		return kernelFailure(rep, err)
	}
	rep.warn(res.Warnings())
	if wf.echo {
		return writeEcho(out, changes, res, reversed)
	}
	return nil
}

// warn prints warnings about changes that were made: as text
// ("ctmatch: warning: …" and the hint on the next line), or with
// --error-format json as JSON objects of kind "warning". They change no
// exit code.
func (r *reporter) warn(ws []firewall.Warning) {
	for _, w := range ws {
		if r.json {
			r.print(source{}, problem{kind: "warning", object: w.Object, msg: w.Reason, hint: w.Hint})
			continue
		}
		fmt.Fprintf(r.w, "ctmatch: warning: %s\n", w.Reason)
		if w.Hint != "" {
			fmt.Fprintf(r.w, "  %s\n", w.Hint)
		}
	}
}

// writeEcho prints what Apply created and added, as nft commands with the
// rules' handles (none with --check), in the order the rules were given
// (the changes' order, or its reverse).
func writeEcho(out io.Writer, changes []firewall.Change, res firewall.Applied, reversed bool) error {
	w := &stickyWriter{w: out}
	for _, c := range res.Created {
		fmt.Fprintln(w, c)
	}
	order := make([]int, len(changes))
	for i := range order {
		order[i] = i
	}
	if reversed {
		slices.Reverse(order)
	}
	for _, i := range order {
		ch, ac := changes[i], res.Changes[i]
		verb := "add"
		if ch.Insert {
			verb = "insert"
		}
		for k, r := range ac.Rules {
			fmt.Fprintf(w, "%s rule %s %s %s %s", verb, ch.Family, firewall.QuoteName(ch.Table), firewall.QuoteName(ch.Chain), r)
			if h := ac.Handles[k]; h != 0 {
				fmt.Fprintf(w, " # handle %d", h)
			}
			fmt.Fprintln(w)
		}
	}
	if w.err != nil {
		return echoError(w.err, res.Checked)
	}
	return nil
}

type deleteOptions struct {
	kernel      kernelFlags
	echo        bool
	force       bool
	errorFormat string
}

func newDeleteCmd() *cobra.Command {
	var o deleteOptions
	cmd := &cobra.Command{
		Use:   "rule FAMILY TABLE CHAIN handle N [--check] [--echo] [--force] [--netns PATH] [--error-format json]",
		Short: "Delete an iptables rule (all its nft rules) from a chain",
		Long: `delete rule deletes the rule with handle N from chain CHAIN of table TABLE
(family ip, ip6 or inet), and with it every other nft rule of its group: the
pieces of one iptables rule go together, in one kernel transaction. A rule
that is not in a group is deleted alone. ctmatch list -a shows the handles
(list -o iptables -a the handles of each group).

A group is what ctmatch list -o iptables shows as one line: the rules that
ctmatch's group record ties together. A rule without a record (ctmatch
translate's output loaded with nft, a rule written by hand) is deleted alone.

In a table that looks like iptables-nft's own (see ctmatch add rule --help),
a rule ctmatch did not write is refused unless --force: it is iptables' to
delete. A rule ctmatch wrote there is deleted without --force.

--check has the kernel check the deletion and then changes nothing; --echo
prints the nft rules deleted. Deleting needs CAP_NET_ADMIN.

Exit codes: 0 success; 1 a refusal or failure of the kernel or the system (no
such handle, no privilege, iptables-nft's table); 2 bad usage.`,
		Example: `  ctmatch delete rule inet fw input handle 5
  ctmatch delete rule ip filter INPUT handle 12 --netns /run/netns/lab --echo`,
		Annotations: map[string]string{annotationWordsExample: "ctmatch delete rule inet fw input handle 5", annotationNoWords: "yes"},
		Args:        cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDelete(cmd, &o, args)
		},
	}
	o.kernel.bind(cmd, true)
	cmd.Flags().BoolVar(&o.echo, "echo", false, "print the nft rules deleted, with their handles")
	cmd.Flags().BoolVar(&o.force, "force", false, "delete a rule ctmatch did not write from a table that looks like iptables-nft's own")
	cmd.Flags().StringVar(&o.errorFormat, "error-format", "text", "print errors as `text` or json (one object per line)")
	return cmd
}

func runDelete(cmd *cobra.Command, o *deleteOptions, args []string) error {
	if err := o.kernel.validate(); err != nil {
		return err
	}
	if o.errorFormat != "text" && o.errorFormat != "json" {
		return usageError("--error-format must be text or json, not %q", o.errorFormat)
	}
	if len(args) >= 4 && args[3] != "handle" {
		return usageError("expected \"handle\" after the chain, found %q (for example: ctmatch delete rule inet fw input handle 5)", args[3])
	}
	if err := checkPositional(cmd, args, "FAMILY", "TABLE", "CHAIN", "\"handle\"", "N"); err != nil {
		return err
	}
	fam, err := parseFamily(args[0])
	if err != nil {
		return err
	}
	h, err := strconv.ParseUint(args[4], 10, 64)
	if err != nil || h == 0 {
		return usageError("bad handle %q: a rule handle is a number from 1 (ctmatch list -a shows them)", args[4])
	}
	c, err := o.kernel.dial(cmd.Context())
	if err != nil {
		return err
	}
	defer c.Close()
	res, err := c.Delete(cmd.Context(), fam, args[1], args[2], h, firewall.DeleteOptions{Check: o.kernel.check, Force: o.force})
	if err != nil {
		return systemError(err)
	}
	if o.echo {
		for _, dh := range res.Handles {
			if _, err := fmt.Fprintf(cmd.OutOrStdout(), "delete rule %s %s %s handle %d\n", fam, firewall.QuoteName(args[1]), firewall.QuoteName(args[2]), dh); err != nil {
				return echoError(err, res.Checked)
			}
		}
	}
	return nil
}

// kernelFailure reports a refusal or failure of the kernel or the system
// (exit 1): as text, or with --error-format json as a JSON object of kind
// "error" with the file and line of the change it is about, when it is
// about one from a file.
func kernelFailure(rep *reporter, err error) error {
	if !rep.json {
		var ee *exitError
		if errors.As(err, &ee) {
			return err
		}
		return systemError(err)
	}
	var ee *exitError
	if errors.As(err, &ee) && ee.err != nil {
		err = ee.err
	}
	rep.report(errorSource(err), err)
	return rep.err()
}

// errorSource returns the file and line of the change an error is about:
// the position of the change a *firewall.Error names, if any.
func errorSource(err error) source {
	var e *firewall.Error
	if !errors.As(err, &e) {
		return source{}
	}
	return source{pos: e.Pos}
}
