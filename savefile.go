package ctmatch

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/parse"
	"github.com/ctmatch/ctmatch/script"
)

// SaveScript translates an iptables-save file (what iptables-restore reads)
// into the nft script that iptables-restore-translate prints for it, a line
// at a time, writing each line's nft commands as it is read: add table,
// add chain (a built-in chain as the base chain iptables-nft makes, with its
// policy; a user chain as a regular chain), add rule. Where
// iptables-restore-translate 1.8.9 differs from what iptables-restore
// loads, it follows iptables-restore: the security table's chains are at
// priority 150; -I CHAIN N goes where iptables-restore puts it (placed with
// nft's index, which nft resolves against the rules the same script added
// before); -N, -P, -F CHAIN and -X CHAIN become add chain, the policy, flush
// chain and delete chain; a table named a second time is deleted first.
//
// The file's lines are read with script.SaveReader; a SaveScript keeps,
// beyond it, the number of nft rules of each rule of the table being read
// (for the -I positions), a byte a rule (ruleCounts), never the rules.
type SaveScript struct {
	o      Options
	r      *script.SaveReader
	chains map[string]*savedChain // the chains of the table being read
	doc    *JSONDoc               // with WriteJSON: where the commands go, as JSON
	check  *SaveCheck
	popts  parse.Options
	pre    *SavePrepared // what Prepare made of the line being read (savefile_prepare.go)
	buf    []byte        // a command line being written

	caveatsSaid map[string]bool // the kinds of the rules' caveats said (caveats_connmark.go)
}

// WriteJSON makes Line write each line's commands into d, as libnftables
// JSON commands, instead of nft script lines into its writer.
func (s *SaveScript) WriteJSON(d *JSONDoc) { s.doc = d }

// command writes one command without a rule: as the script line text, or
// with WriteJSON as obj.
func (s *SaveScript) command(w io.Writer, text string, obj []byte) error {
	if s.doc != nil {
		return s.doc.Command(obj)
	}
	_, err := io.WriteString(w, text)
	return err
}

// savedChain is what a SaveScript wrote of a chain.
type savedChain struct {
	policy string     // a built-in chain's policy as written ("" before it was)
	counts ruleCounts // the number of nft rules of each of its rules, in order
}

// NewSaveScript returns a translator of one iptables-save file: of
// iptables rules into ip tables, or with o.IPv6 of ip6tables rules into ip6
// tables (o.Table is not used). o.NoCounter and o.Resolver are as for
// Translate.
func NewSaveScript(o Options) *SaveScript {
	o.Table = expr.FamilyIP
	if o.IPv6 {
		o.Table = expr.FamilyIP6
	}
	return &SaveScript{o: o, r: script.NewSaveReader(o.parseOptions()), check: NewSaveCheck(), popts: o.parseOptions()}
}

// Line reads the next line of the file (text, without its newline; at is
// where it is) and writes its nft commands to w. It returns the line as
// script.SaveReader read it (for its Warnings), and an error when the line
// cannot be translated: the reader's error, the compiler's, or a chain name
// nft's command text cannot hold (a *parse.Error about the line, Invalid or
// Unsupported). Then nothing of the line is written but the built-in chain
// it creates; a rule that cannot be translated keeps its place in its chain
// (no nft rule) for the -I positions after it, as it has one in iptables.
//
// At the COMMIT of a table, Line checks the table as a whole (SaveCheck):
// a match or target in a user chain that a built-in chain of a hook where
// it may not run reaches through jumps, a jump loop, too many jumps in a
// row. Its errors come back as SaveErrors, each about the line it names;
// the kernel refuses such a table, so the script written so far must not
// be used: a caller holds the script until the file's end (as translate -f
// does).
func (s *SaveScript) Line(w io.Writer, text string, at parse.Position) (*script.SaveLine, error) {
	l, err := s.readLine(text, at)
	if err != nil && (l == nil || l.Op != script.SaveRule) {
		return l, err
	}
	if cerr := s.check.Line(l); cerr != nil {
		return l, cerr
	}
	fam := s.o.Table
	switch l.Op {
	case script.SaveTable:
		if l.Again {
			// iptables-restore replaces the table the file made before.
			_ = s.command(w, fmt.Sprintf("delete table %s %s\n", fam, l.Table), tableObject("delete", fam, l.Table, ""))
		}
		_ = s.command(w, fmt.Sprintf("add table %s %s\n", fam, l.Table), tableObject("add", fam, l.Table, ""))
		s.chains = map[string]*savedChain{}
	case script.SaveChain, script.SavePolicy:
		return l, s.chain(w, l, l.Policy)
	case script.SaveRule:
		if l.Implicit {
			if cerr := s.chain(w, l, ""); cerr != nil && err == nil {
				err = cerr
			}
		}
		if err == nil {
			err = s.rule(w, l)
		}
		if err != nil {
			if ch := s.chains[l.Chain]; ch != nil {
				ch.counts.insert(l.Index, max(l.Rules, 1), 0)
			}
		}
	case script.SaveFlush:
		if l.Implicit {
			if err := s.chain(w, l, ""); err != nil {
				return l, err
			}
		}
		_ = s.command(w, fmt.Sprintf("flush chain %s %s %s\n", fam, l.Table, l.Chain), tableObject("flush", fam, l.Table, l.Chain))
		if ch := s.chains[l.Chain]; ch != nil {
			ch.counts.reset()
		}
	case script.SaveDelete:
		_ = s.command(w, fmt.Sprintf("delete chain %s %s %s\n", fam, l.Table, l.Chain), tableObject("delete", fam, l.Table, l.Chain))
		delete(s.chains, l.Chain)
	}
	return l, err
}

// End checks the end of the file: a table without COMMIT is an error about
// its *TABLE line, which comes with it.
func (s *SaveScript) End() (*script.SaveLine, error) { return s.r.End() }

// chain writes a chain's add chain line: for a built-in chain, the base
// chain iptables-nft makes, with the policy (policy "" leaves a policy
// written before as it is, and is accept for a new chain).
func (s *SaveScript) chain(w io.Writer, l *script.SaveLine, policy string) error {
	ch := s.chains[l.Chain]
	if ch == nil {
		ch = &savedChain{}
		s.chains[l.Chain] = ch
	} else if policy == "" || policy == ch.policy {
		return nil
	}
	if s.doc == nil && !script.BareName(l.Chain) {
		return script.ChainNameError(l.Text, 0, firstWord(l.Text), l.Chain, "ctmatch apply -f loads such a chain over netlink, and -o json names it")
	}
	if !l.Builtin {
		_ = s.command(w, fmt.Sprintf("add chain %s %s %s\n", s.o.Table, l.Table, l.Chain), tableObject("add", s.o.Table, l.Table, l.Chain))
		return nil
	}
	if policy == "" {
		policy = "ACCEPT"
	}
	ch.policy = policy
	b, ok := script.BuiltinBase(l.Table, l.Chain)
	if !ok {
		return fmt.Errorf("internal error: %s is no built-in chain of table %s", l.Chain, l.Table)
	}
	_ = s.command(w, fmt.Sprintf("add chain %s %s %s { type %s hook %s priority %d; policy %s; }\n",
		s.o.Table, l.Table, l.Chain, b.Type, b.Hook, b.Priority, strings.ToLower(policy)),
		baseChainObject(s.o.Table, l.Table, l.Chain, b.Type, b.Hook, b.Priority, strings.ToLower(policy)))
	return nil
}

// rule writes a rule's nft rules where the file puts it.
func (s *SaveScript) rule(w io.Writer, l *script.SaveLine) error {
	ch := s.chains[l.Chain]
	if ch == nil {
		return errors.New("internal error: a rule in a chain that was not written")
	}
	if s.doc == nil {
		// The chain of the rule, and of its jump, in nft's command text (a
		// chain the file declared under a name nft cannot read was refused
		// there, and with --keep-going left out: its jumps cannot stand).
		if err := script.RuleNameError(l.Rule, "ctmatch apply -f loads such a chain over netlink, and -o json names it"); err != nil {
			return err
		}
	}
	rs, texts, err := s.compile(l)
	if err != nil {
		return err
	}
	sayCaveats(&s.caveatsSaid, l, rs...)
	// Each rule of a comma list goes where iptables adds it: -A after the
	// one before it, -I each at the same place, before the one before it.
	for k, r := range rs {
		idx := l.Place(k)
		after, total := ch.counts.before(idx), ch.counts.total
		var t *ruleTexts
		if texts != nil {
			tt := texts.texts(k)
			t = &tt
		}
		write := func() error { return writeCommands(w, r, t, l.Table, l.Chain, after, total, false, &s.buf) }
		if s.doc != nil {
			write = func() error { return WriteJSONCommands(s.doc, r, l.Table, l.Chain, after, total) }
		}
		if err := write(); err != nil {
			return err
		}
		ch.counts.insert(idx, 1, len(r.Rules))
	}
	return nil
}

// WriteCommands writes the nft rules of r as nft commands into chain of
// table (of family r.Table), after the chain's first after nft rules of
// total (-1: not known): with add rule at the end (after is total), insert
// rule at the top (after is 0), and nft's index anywhere else (in a script,
// nft resolves it against the rules the same script added before). With
// shell, each command is "nft '…'", quoted for a shell, as
// iptables-translate prints them; otherwise a line of an nft script, as
// iptables-restore-translate prints them. A rule nft 1.0.6 cannot parse is
// followed by a comment line that says so. A table, chain or jump target
// that nft's command text cannot name bare (script.BareName: "x y",
// "a;b", the keyword "counter") is an error, and nothing is written: nft
// would read such a name as other words.
func WriteCommands(w io.Writer, r *Rule, table, chain string, after, total int, shell bool) error {
	if !script.BareName(table) {
		return fmt.Errorf("%s", strings.Replace(script.ChainNameMsg(table), "the chain", "the table", 1))
	}
	if !script.BareName(chain) {
		return fmt.Errorf("%s", script.ChainNameMsg(chain))
	}
	for _, nr := range r.Rules {
		if v := nr.Verdict; (v.Kind == expr.VerdictJump || v.Kind == expr.VerdictGoto) && !script.BareName(v.Chain) {
			return fmt.Errorf("%s", script.ChainNameMsg(v.Chain))
		}
	}
	return writeCommands(w, r, nil, table, chain, after, total, shell, nil)
}

// writeCommands is WriteCommands, with the text of r's nft rules when it
// was written before (nil: it is written here), in buf (nil: a buffer of
// its own).
func writeCommands(w io.Writer, r *Rule, texts *ruleTexts, table, chain string, after, total int, shell bool, buf *[]byte) error {
	var b []byte
	if buf != nil {
		b = *buf
		defer func() { *buf = b }()
	}
	for i, nr := range r.Rules {
		// add rule at the end, insert rule at the top, add rule with
		// nft's index anywhere else.
		verb, index := "add rule ", after != total
		if after != total && after == 0 && i == 0 {
			verb, index = "insert rule ", false
		}
		b = append(append(b[:0], verb...), r.Table.String()...)
		b = append(append(append(append(append(b, ' '), table...), ' '), chain...), ' ')
		if index {
			b = append(strconv.AppendInt(append(b, "index "...), int64(after+i-1), 10), ' ')
		}
		if texts != nil {
			b = append(b, texts.text(i)...)
		} else {
			b = nr.AppendText(b)
		}
		if shell {
			b = append([]byte("nft '"+strings.ReplaceAll(string(b), "'", `'\''`)+"'"), '\n')
		} else {
			b = append(b, '\n')
		}
		if _, err := w.Write(b); err != nil {
			return err
		}
		if !nr.ParsesInNft106() {
			if _, err := fmt.Fprintln(w, "# nft 1.0.6 cannot parse a ct port match without a protocol test before it: nft 1.0.7 and later load the line above, and so does ctmatch add rule on any version"); err != nil {
				return err
			}
		}
	}
	return nil
}

func firstWord(s string) string {
	if f := strings.Fields(s); len(f) > 0 {
		return f[0]
	}
	return ""
}
