package firewall

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/ctmatch/ctmatch"
	"github.com/ctmatch/ctmatch/compile"
	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/kernel"
	"github.com/ctmatch/ctmatch/parse"
	"github.com/ctmatch/ctmatch/script"
)

// ListFormat is a form Listing.Write writes.
type ListFormat uint8

// List formats.
const (
	// ListNft writes nft's own listing form (as nft list ruleset prints
	// it), which nft -f loads back: tables, chains, and the rules ctmatch
	// understands as nft text with their counters' values.
	ListNft ListFormat = iota + 1
	// ListIptables writes one line per group: "-A CHAIN WORDS", under
	// "# table …" and "# chain …" comment lines, with "-t TABLE" in front
	// for a rule of another iptables table than filter.
	ListIptables
	// ListBytecode writes every rule's expressions as libnftnl debug lines,
	// as nft --debug=netlink prints them.
	ListBytecode
)

// ListText says what Listing.Write adds.
type ListText struct {
	// Handles adds each rule's handle (ListNft, ListBytecode), or each
	// group's handles and summed counter (ListIptables).
	Handles bool
}

// Write writes the listing in form f. In every form, a rule that ctmatch
// does not understand is written, as comment lines, under a line
// "# not decompiled: handle N: REASON", in debug form.
func (l *Listing) Write(w io.Writer, f ListFormat, o ListText) error {
	if l == nil {
		l = &Listing{} // nothing listed: an empty listing
	}
	bw := bufio.NewWriter(w)
	if f == ListJSON {
		writeJSONListing(bw, l, o)
		return bw.Flush()
	}
	for _, t := range l.Tables {
		switch f {
		case ListNft:
			writeNftTable(bw, t, o)
		case ListIptables:
			writeIptablesTable(bw, t, o)
		case ListBytecode:
			writeBytecodeTable(bw, t, o)
		default:
			return fmt.Errorf("unknown list format %d", f)
		}
	}
	return bw.Flush()
}

// notDecompiledReason says why a group is not understood, in one line.
func notDecompiledReason(g ListedGroup) string {
	var nu *expr.NotUnderstoodError
	switch {
	case errors.As(g.Err, &nu) && nu.Index >= 0:
		return fmt.Sprintf("expression %d: %s", nu.Index+1, nu.Reason)
	case errors.As(g.Err, &nu):
		return nu.Reason
	case g.Err != nil:
		return strings.TrimPrefix(g.Err.Error(), "not a rule ctmatch understands: ")
	}
	return "not a rule ctmatch understands"
}

// notDecompiledLine is the line -o nft writes after a group it does not
// understand: no nft statement, so that nft refuses the listing.
const notDecompiledLine = "ctmatch-not-decompiled"

// writeNotDecompiled writes a group ctmatch does not understand as comment
// lines: the reason, then each rule's debug lines.
func writeNotDecompiled(w *bufio.Writer, indent string, g ListedGroup) {
	reason := notDecompiledReason(g)
	for _, p := range g.Pieces {
		fmt.Fprintf(w, "%s# not decompiled: handle %d: %s\n", indent, p.Handle, reason)
		for _, d := range p.DebugLines() {
			fmt.Fprintf(w, "%s#   %s\n", indent, d)
		}
	}
}

func writeNftTable(w *bufio.Writer, t ListedTable, o ListText) {
	fmt.Fprintf(w, "table %s %s {", t.Family, QuoteName(t.Name))
	if o.Handles {
		fmt.Fprintf(w, " # handle %d", t.Handle)
	}
	fmt.Fprintln(w)
	if t.Dormant {
		fmt.Fprintln(w, "\tflags dormant;")
		if len(t.Chains) > 0 {
			fmt.Fprintln(w)
		}
	}
	for i, ch := range t.Chains {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "\tchain %s {", QuoteName(ch.Name))
		if o.Handles {
			fmt.Fprintf(w, " # handle %d", ch.Handle)
		}
		fmt.Fprintln(w)
		if ch.Base != nil {
			fmt.Fprintf(w, "\t\t%s;\n", describeBase(ch.Base))
		}
		for _, g := range ch.Groups {
			if g.Rule == nil {
				writeNotDecompiled(w, "\t\t", g)
				// A line nft refuses, as -o json's ctmatch-not-decompiled
				// object: nft -f of the listing loads none of it rather
				// than all of it but this group.
				fmt.Fprintf(w, "\t\t%s # nft refuses this line: the rule above is not in the listing\n", notDecompiledLine)
				continue
			}
			for _, p := range g.Pieces {
				if p.Rule.CombinesMarks() {
					fmt.Fprintf(w, "\t\t# %s\n", newerNftNote)
				}
				fmt.Fprintf(w, "\t\t%s", nftRuleText(p))
				if o.Handles {
					fmt.Fprintf(w, " # handle %d", p.Handle)
				}
				fmt.Fprintln(w)
			}
		}
		fmt.Fprintln(w, "\t}")
	}
	fmt.Fprintln(w, "}")
}

// nftRuleText writes a rule as nft lists it: the matches, the counter with
// its values, the statements, the verdict, the comment.
func nftRuleText(p Piece) string {
	var parts []string
	if m := (expr.Rule{Matches: p.Rule.Matches}).String(); m != "" {
		parts = append(parts, m)
	}
	if p.Rule.Counter {
		c := kernel.Counter{}
		if p.Counter != nil {
			c = *p.Counter
		}
		parts = append(parts, fmt.Sprintf("counter packets %d bytes %d", c.Packets, c.Bytes))
	}
	if s := p.Rule.StmtsText(); s != "" {
		parts = append(parts, s)
	}
	switch v := p.Rule.Verdict; v.Kind {
	case expr.VerdictNone:
	case expr.VerdictJump, expr.VerdictGoto:
		// The chain's name as the chain's own line writes it.
		parts = append(parts, strings.Fields(v.String())[0]+" "+QuoteName(v.Chain))
	default:
		parts = append(parts, v.String())
	}
	if p.Comment != "" {
		// As nft writes it: between double quotes, with no escapes.
		parts = append(parts, expr.Rule{Comment: p.Comment}.String())
	}
	return strings.Join(parts, " ")
}

// QuoteName returns a table or chain name as nft text: bare when nft reads
// it bare as a name (a letter or "_", then letters, digits and "_-./", and
// no word that every nft reads as a keyword: script.ReadsBare),
// otherwise in double quotes, so that no name can read as more than one
// word, let alone as a command ("c; flush ruleset"). nft's quoted strings
// have no escapes, so a name is never written with a raw '"' inside the
// quotes: '"' and '\\' (so that no two names print alike), control
// characters, bidirectional controls and bytes that are not UTF-8 are
// escaped (\x22, \x5c, \x1b, \u202e), and such a name does not read back (nft 1.0.6 itself prints every name bare, whatever it holds, and
// reads no quoted table or chain name).
func QuoteName(s string) string {
	if script.ReadsBare(s) {
		return s
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); {
		if c := s[i]; c == '"' || c == '\\' {
			fmt.Fprintf(&b, "\\x%02x", c)
			i++
			continue
		}
		shown, n := parse.ShowChar(s[i:])
		b.WriteString(shown)
		i += n
	}
	b.WriteByte('"')
	return b.String()
}

func writeIptablesTable(w *bufio.Writer, t ListedTable, o ListText) {
	fmt.Fprintf(w, "# table %s %s\n", t.Family, QuoteName(t.Name))
	for _, ch := range t.Chains {
		fmt.Fprintf(w, "# chain %s", QuoteName(ch.Name))
		if ch.Base != nil {
			fmt.Fprintf(w, " (%s)", describeBase(ch.Base))
		}
		fmt.Fprintln(w)
		for _, g := range ch.Groups {
			if g.Rule == nil {
				writeNotDecompiled(w, "", g)
				continue
			}
			if tt := iptablesTable(t, ch, g); tt != "" {
				fmt.Fprintf(w, "-t %s ", tt)
			}
			fmt.Fprintf(w, "-A %s %s", parse.Show(parse.Quote(ch.Name)), ctmatch.Words(g.Rule))
			var notes []string
			if g.IPv6 && t.Family == expr.FamilyInet {
				notes = append(notes, "-6")
			}
			if g.Both {
				notes = append(notes, "ipv4 and ipv6")
			}
			if o.Handles {
				hs := make([]string, len(g.Pieces))
				for i, p := range g.Pieces {
					hs[i] = strconv.FormatUint(p.Handle, 10)
				}
				s := "handles " + strings.Join(hs, ",")
				if len(hs) == 1 {
					s = "handle " + hs[0]
				}
				if g.Counter != nil {
					s += fmt.Sprintf(" packets %d bytes %d", g.Counter.Packets, g.Counter.Bytes)
				}
				notes = append(notes, s)
			}
			if len(notes) > 0 {
				fmt.Fprintf(w, " # %s", strings.Join(notes, " "))
			}
			fmt.Fprintln(w)
		}
	}
}

// iptablesTable returns the iptables table a listed group's words belong
// to, when it is not filter, so that the line is a whole iptables command
// (the group record keeps the words without -t): the table its target is
// valid in only (nat for the NAT targets, raw for NOTRACK …), else nat for
// a rule of a nat chain, else the table's name when it is one of
// iptables' other tables (as apply -f names them).
func iptablesTable(t ListedTable, ch ListedChain, g ListedGroup) string {
	if tt := compile.TargetTable(g.Rule); tt != "" {
		if tt == "filter" {
			return ""
		}
		return tt
	}
	if ch.Base != nil && ch.Base.Type == "nat" {
		return "nat"
	}
	switch t.Name {
	case "nat", "mangle", "raw", "security":
		return t.Name
	}
	return ""
}

func writeBytecodeTable(w *bufio.Writer, t ListedTable, o ListText) {
	for _, ch := range t.Chains {
		for _, g := range ch.Groups {
			for _, p := range g.Pieces {
				fmt.Fprintf(w, "%s %s %s", t.Family, QuoteName(t.Name), QuoteName(ch.Name))
				if o.Handles {
					fmt.Fprintf(w, " # handle %d", p.Handle)
				}
				fmt.Fprintln(w)
				if g.Rule == nil {
					fmt.Fprintf(w, "  # not decompiled: %s\n", notDecompiledReason(g))
				}
				for _, d := range p.DebugLines() {
					fmt.Fprintf(w, "  %s\n", d)
				}
				fmt.Fprintln(w)
			}
		}
	}
}
