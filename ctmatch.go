// Package ctmatch turns iptables conntrack matches (-m conntrack, -m state)
// into native nftables ct expressions that match exactly the packets the
// kernel's xt_conntrack match matches.
//
// Translate and TranslateArgs take the iptables words; Compile takes a rule
// already parsed with package parse. The result holds the nft rules, which
// render as nft text, as libnftnl debug lines, or as the kernel's wire
// encoding of their expressions:
//
//	r, err := ctmatch.Translate("-m conntrack --ctstate NEW,DNAT -j ACCEPT", ctmatch.Options{})
//	fmt.Print(r) // ct state new counter accept
//	             // ct state ! new ct status dnat counter accept
//
// One iptables rule can need several nft rules (see docs/semantics.md); they
// are mutually exclusive, so a counter or any other statement still runs at
// most once per packet.
//
// This package is pure: it reads no files and opens no sockets, and a
// program that only translates links no netlink code. The rest of the public
// API builds on it: package firewall loads such rules into the kernel over
// ctmatch's own netlink connection, atomically (firewall.Dial, then Apply a
// list of changes in one transaction, Delete a rule with every piece of its
// group, or List what a table holds as iptables rules again); package
// nftexport hands them to programs that use github.com/google/nftables.
package ctmatch

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/ctmatch/ctmatch/compile"
	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/parse"
)

// Options say how to translate.
type Options struct {
	// Table is the family of the nft table the rules are for: expr.FamilyIP
	// (the default, or expr.FamilyIP6 when IPv6 is set), expr.FamilyIP6 or
	// expr.FamilyInet. In an inet table every rule starts with meta nfproto.
	Table expr.Family
	// IPv6 says the words are ip6tables words rather than iptables words.
	IPv6 bool
	// NoCounter leaves out the counter that every translated rule carries by
	// default (iptables counts every rule).
	NoCounter bool
	// Resolver looks up service names and, if it can, host names; nil means
	// parse.Builtin (IANA service names, no host names).
	Resolver parse.Resolver
	// Chain is the chain the rule goes into, when the words do not say it
	// (add rule's CHAIN, an apply line's): a target that the kernel allows
	// only in some chains (REJECT, the NAT targets) is checked against it
	// and the words' -t (compile.CheckTargetPlace), and NETMAP's direction
	// is its (dnat in PREROUTING and OUTPUT, snat in POSTROUTING and INPUT;
	// refused in a user chain). "" means the words' -A or -I chain; a
	// Chain other than the words' own is an error.
	Chain string
	// ReadLists are the recent lists that a rule of the ruleset being
	// translated reads (-m recent --rcheck, --update, --remove or ! --set,
	// which ctmatch refuses), each with where the first such rule is
	// (RecentReaders finds them). A rule with -m recent --set of one of them
	// is refused too: the rule without the match, its translation, is exact
	// only where nothing reads the list.
	ReadLists map[string]parse.Position
}

// Rule is one iptables rule and the nft rules it compiles to.
type Rule struct {
	Source *parse.Rule  // the iptables rule as parsed
	Table  expr.Family  // the family of the nft table
	Rules  []expr.Rule  // the nft rules, in canonical order
	Family parse.Family // whether Source holds iptables or ip6tables words
	// Both says the rule is one rule of an inet table for both families
	// (see Shared): its iptables and ip6tables words are the same and
	// compile to the same nft rules apart from meta nfproto, so Rules have
	// none. Family is then parse.IPv4.
	Both bool
	// Caveats are what the nft rules do otherwise than the kernel's xt
	// code on some packets, each at its word (Kind Unsupported: the rule is
	// translated all the same): ip6tables' -p on packets with an AH header.
	// They also say where the nft text needs a newer nft than 1.0.6 to be
	// read: CONNMARK --save-mark and --restore-mark with masks that combine
	// both marks (nft 1.1.2), which ctmatch loads exactly all the same.
	// And they say that -m recent --set's list is not kept.
	Caveats []*parse.Error
	// TextCaveats are what the nft text of the rules needs of nft beyond
	// what Caveats say, for the commands that print text (translate):
	// nft 1.0.7 or later for a ct port match without a protocol test
	// before it. A rule loaded over netlink needs none of it.
	TextCaveats []*parse.Error
}

// Translate parses one rule written as text (iptables-save quoting) and
// compiles it. A rule with a comma list of addresses is several rules: parse
// it and use CompileAll.
func Translate(text string, o Options) (*Rule, error) {
	r, err := parse.ParseText(text, o.parseOptions())
	if err != nil {
		return nil, err
	}
	return Compile(r, o)
}

// TranslateArgs parses one rule given as argv words and compiles it.
func TranslateArgs(args []string, o Options) (*Rule, error) {
	r, err := parse.ParseArgs(args, o.parseOptions())
	if err != nil {
		return nil, err
	}
	return Compile(r, o)
}

// CompileAll compiles the iptables rules a parsed rule stands for: the rule
// itself, or, when its -s or -d is a comma list, each rule of r.Expand(), in
// the order iptables adds them (-s a,b -d c,d: a→c, a→d, b→c, b→d). Each is
// a group of nft rules of its own, as each is a rule of its own in
// iptables. (Inserted one after the other at the same place, as iptables -I
// does, they end up in the reverse order.)
func CompileAll(r *parse.Rule, o Options) ([]*Rule, error) {
	if r == nil {
		return nil, errNoRule
	}
	if r.Addresses() == 1 {
		// The common case, one rule: its Rule and the slice of it in one
		// allocation, and no expansion.
		one := &struct {
			rule Rule
			out  [1]*Rule
		}{}
		if err := compileInto(&one.rule, r, o); err != nil {
			return nil, err
		}
		one.out[0] = &one.rule
		return one.out[:], nil
	}
	rs := r.Expand()
	out := make([]*Rule, 0, len(rs))
	for _, e := range rs {
		c, err := Compile(e, o)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// Compile compiles a parsed rule. The rule must have been parsed for the
// family o says (IPv6 or not). A rule whose -s or -d is a comma list is
// several iptables rules: Compile refuses it (compile.ErrAddressList), and
// CompileAll compiles each.
func Compile(r *parse.Rule, o Options) (*Rule, error) {
	c := &Rule{}
	if err := compileInto(c, r, o); err != nil {
		return nil, err
	}
	return c, nil
}

// errNoRule is Compile's error for a nil rule.
var errNoRule = errors.New("no rule to compile (nil)")

// compileInto is Compile into c.
func compileInto(c *Rule, r *parse.Rule, o Options) error {
	if r == nil {
		return errNoRule
	}
	fam := parse.IPv4
	if o.IPv6 {
		fam = parse.IPv6
	}
	table := o.Table
	if table == 0 {
		table = expr.FamilyIP
		if o.IPv6 {
			table = expr.FamilyIP6
		}
	}
	if pf, ok := r.ParsedFamily(); ok && pf != fam {
		words := map[parse.Family]string{parse.IPv4: "iptables", parse.IPv6: "ip6tables"}
		return fmt.Errorf("the rule was read as %s words, and is compiled as %s words (Options.IPv6): parse it with the family it is compiled for", words[pf], words[fam])
	}
	if o.Chain != "" && r.Command != nil && r.Command.Chain != o.Chain {
		return fmt.Errorf("the words say %s %s, and Options.Chain %s: give the chain once", r.Command.Op, parse.SaveString(r.Command.Chain), parse.SaveString(o.Chain))
	}
	if err := compile.CheckTargetPlace(r, o.Chain); err != nil {
		return err
	}
	if err := readListSet(r, o.ReadLists); err != nil {
		return err
	}
	rules, err := compile.Rule(r, compile.Options{Table: table, Family: fam, Counter: !o.NoCounter, Chain: o.Chain})
	if err != nil {
		return err
	}
	cv := caveats(r, fam)
	if cm := combinedMarksCaveat(r, rules); cm != nil {
		cv = append(cv, cm)
	}
	cv = append(cv, recentCaveats(r)...)
	cv = append(cv, reversedCaveats(r)...)
	*c = Rule{Source: r, Table: table, Rules: rules, Family: fam, Caveats: cv}
	if cp := ctPortCaveat(r, rules); cp != nil {
		c.TextCaveats = []*parse.Error{cp}
	}
	return nil
}

func (o Options) parseOptions() parse.Options {
	p := parse.Options{Resolver: o.Resolver}
	if o.IPv6 {
		p.Family = parse.IPv6
	}
	return p
}

// String returns the nft rules as nft text, one per line.
func (r *Rule) String() string {
	if r == nil {
		return ""
	}
	var b strings.Builder
	r.WriteText(&b)
	return b.String()
}

// WriteText writes the nft rules as nft text, one per line.
func (r *Rule) WriteText(w io.Writer) error {
	if r == nil {
		return nil
	}
	for _, nr := range r.Rules {
		if _, err := fmt.Fprintf(w, "%s\n", nr); err != nil {
			return err
		}
	}
	return nil
}

// Iptables returns the iptables rule in canonical iptables-save form.
func (r *Rule) Iptables() string { return r.Source.String() }

// Wire returns, for each nft rule, its expressions as the kernel's netlink
// encoding: the payload of the NFTA_RULE_EXPRESSIONS attribute of a NEWRULE
// message. A rule that looks up anonymous sets (-m multiport) names them by
// their id in a transaction, numbered from 1 for each rule here: loading it
// needs the sets too (expr.Rule.LowerSets, or the firewall package, which
// sends them).
func (r *Rule) Wire() ([][]byte, error) {
	out := make([][]byte, len(r.Rules))
	for i, nr := range r.Rules {
		b, err := nr.Lower(r.Table)
		if err != nil {
			return nil, err
		}
		out[i] = b
	}
	return out, nil
}

// Bytecode returns, for each nft rule, its expressions as libnftnl debug
// lines, as nft --debug=netlink prints them, and its comment's userdata
// line ("userdata = { … }") when it has a comment.
func (r *Rule) Bytecode() ([][]string, error) {
	wire, err := r.Wire()
	if err != nil {
		return nil, err
	}
	out := make([][]string, len(wire))
	for i, b := range wire {
		if out[i], err = expr.DebugLines(b); err != nil {
			return nil, err
		}
		if c := r.Rules[i].Comment; c != "" {
			ud, err := expr.CommentUserData(c)
			if err != nil {
				return nil, err
			}
			out[i] = append(out[i], expr.DebugUserData(ud))
		}
	}
	return out, nil
}

// Words returns the canonical iptables words of a rule without its
// counters, -t, -A and -I: the matches and the target, as a group record
// keeps them and list -o iptables prints them after "-A CHAIN".
func Words(r *parse.Rule) string {
	if r == nil {
		return ""
	}
	c := *r
	c.Table, c.Command, c.Counters = nil, nil, nil
	return strings.TrimSpace(c.String())
}
