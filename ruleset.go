package ctmatch

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/parse"
	"github.com/ctmatch/ctmatch/script"
)

// Ruleset is a whole iptables-save file (or the merge of two): its tables,
// in the order the file names them.
type Ruleset struct {
	Tables []Table // in the order the file names them
}

// Table is one table of a Ruleset.
type Table struct {
	Name   string  // filter, nat, mangle, raw or security
	Chains []Chain // in the order the file declares them
}

// Chain is one chain of a Table.
type Chain struct {
	Name string // as the file names it
	// Builtin says the chain is a built-in chain of the table (a base
	// chain, with a policy).
	Builtin bool
	// Policy is a built-in chain's policy: "ACCEPT" or "DROP".
	Policy string
	Rules  []*Rule // in order; with MergeInet, each with Both set or not
}

// SaveRuleset reads an iptables-save file whole, line by line, into a
// Ruleset: as iptables-restore reads it (script.SaveReader), with every
// rule compiled with the Options given to NewSaveRuleset. Where SaveScript
// writes each line as it comes, a SaveRuleset keeps every rule: what the
// inet merge (MergeInet) needs, which sees both files whole.
type SaveRuleset struct {
	o  Options
	r  *script.SaveReader
	rs Ruleset
	t  int // the table being read, an index into rs.Tables

	caveatsSaid map[string]bool // the kinds of the rules' caveats said (caveats_connmark.go)
}

// NewSaveRuleset returns a reader of one iptables-save file: of iptables
// rules, or with o.IPv6 of ip6tables rules, compiled for tables of family
// o.Table (the file's own family when 0). It checks each line as
// iptables-restore does, not the whole file: a loop of jumps, or a target
// reached from a chain whose hook does not allow it, which SaveScript and
// SaveCanon report at COMMIT (SaveErrors), are not its to find; read the
// same lines with a NewSaveCheck too (as ctmatch apply -f does) before
// loading what it read.
func NewSaveRuleset(o Options) *SaveRuleset {
	return &SaveRuleset{o: o, r: script.NewSaveReader(o.parseOptions()), t: -1}
}

// Line reads the next line of the file (text, without its newline; at is
// where it is). It returns the line as script.SaveReader read it (for its
// Warnings) and an error when the line cannot be read or its rule cannot
// be compiled; such a rule is left out of its chain.
func (s *SaveRuleset) Line(text string, at parse.Position) (*script.SaveLine, error) {
	l, err := s.r.Line(text, at)
	if err != nil && (l == nil || l.Op != script.SaveRule) {
		return l, err
	}
	switch l.Op {
	case script.SaveTable:
		s.table(l.Table, l.Again)
	case script.SaveChain, script.SavePolicy:
		c := s.chain(l.Chain, l.Builtin)
		if l.Policy != "" && l.Builtin {
			c.Policy = l.Policy
		}
	case script.SaveRule:
		// A comma list of addresses is one rule per address, which
		// iptables adds one by one: -A in order, -I each at the same place.
		// A rule that cannot be compiled holds its places (nil) until
		// Ruleset, for the -I positions after it.
		var rs []*Rule
		if err == nil {
			rs, err = CompileAll(l.Rule, s.o)
			sayCaveats(&s.caveatsSaid, l, rs...)
		}
		c := s.chain(l.Chain, l.Builtin)
		if err != nil {
			c.Rules = slices.Insert(c.Rules, min(l.Index, len(c.Rules)), make([]*Rule, max(l.Rules, 1))...)
			return l, err
		}
		for k, r := range rs {
			c.Rules = slices.Insert(c.Rules, min(l.Place(k), len(c.Rules)), r)
		}
		return l, nil
	case script.SaveFlush:
		s.chain(l.Chain, l.Builtin).Rules = nil
	case script.SaveDelete:
		t := &s.rs.Tables[s.t]
		t.Chains = slices.DeleteFunc(t.Chains, func(c Chain) bool { return c.Name == l.Chain })
	}
	return l, nil
}

// End checks the end of the file (see SaveReader.End).
func (s *SaveRuleset) End() (*script.SaveLine, error) { return s.r.End() }

// Ruleset returns what the file holds, without the rules Line refused.
func (s *SaveRuleset) Ruleset() Ruleset {
	out := Ruleset{Tables: make([]Table, len(s.rs.Tables))}
	for i, t := range s.rs.Tables {
		out.Tables[i] = Table{Name: t.Name, Chains: make([]Chain, len(t.Chains))}
		for j, c := range t.Chains {
			c.Rules = slices.DeleteFunc(slices.Clone(c.Rules), func(r *Rule) bool { return r == nil })
			out.Tables[i].Chains[j] = c
		}
	}
	return out
}

func (s *SaveRuleset) table(name string, again bool) {
	for i, t := range s.rs.Tables {
		if t.Name == name {
			if again {
				// iptables-restore replaces what the earlier block made.
				s.rs.Tables[i] = Table{Name: name}
			}
			s.t = i
			return
		}
	}
	s.rs.Tables = append(s.rs.Tables, Table{Name: name})
	s.t = len(s.rs.Tables) - 1
}

func (s *SaveRuleset) chain(name string, builtin bool) *Chain {
	t := &s.rs.Tables[s.t]
	for i := range t.Chains {
		if t.Chains[i].Name == name {
			return &t.Chains[i]
		}
	}
	c := Chain{Name: name, Builtin: builtin}
	if builtin {
		c.Policy = "ACCEPT"
	}
	t.Chains = append(t.Chains, c)
	return &t.Chains[len(t.Chains)-1]
}

// WriteScript writes rs as an nft script of tables of family fam (that of
// its rules): add table, then every chain of the table (a built-in chain
// as the base chain iptables-nft makes, with its policy; a user chain as a
// regular chain), then their rules, in order, as SaveScript writes them.
func (rs Ruleset) WriteScript(w io.Writer, fam expr.Family) error { return rs.write(w, nil, fam) }

// WriteJSON writes the commands WriteScript writes into d, as libnftables
// JSON commands.
func (rs Ruleset) WriteJSON(d *JSONDoc, fam expr.Family) error { return rs.write(nil, d, fam) }

func (rs Ruleset) write(w io.Writer, d *JSONDoc, fam expr.Family) error {
	command := func(text string, obj []byte) error {
		if d != nil {
			return d.Command(obj)
		}
		_, err := io.WriteString(w, text)
		return err
	}
	for _, t := range rs.Tables {
		if err := command(fmt.Sprintf("add table %s %s\n", fam, t.Name), tableObject("add", fam, t.Name, "")); err != nil {
			return err
		}
		for _, c := range t.Chains {
			if d == nil && !script.BareName(c.Name) {
				return fmt.Errorf("%s", script.ChainNameMsg(c.Name))
			}
			if !c.Builtin {
				if err := command(fmt.Sprintf("add chain %s %s %s\n", fam, t.Name, c.Name), tableObject("add", fam, t.Name, c.Name)); err != nil {
					return err
				}
				continue
			}
			b, ok := script.BuiltinBase(t.Name, c.Name)
			if !ok {
				return fmt.Errorf("%s is no built-in chain of table %s", c.Name, t.Name)
			}
			policy := strings.ToLower(c.Policy)
			if policy == "" {
				policy = "accept"
			}
			if err := command(fmt.Sprintf("add chain %s %s %s { type %s hook %s priority %d; policy %s; }\n", fam, t.Name, c.Name, b.Type, b.Hook, b.Priority, policy),
				baseChainObject(fam, t.Name, c.Name, b.Type, b.Hook, b.Priority, policy)); err != nil {
				return err
			}
		}
		for _, c := range t.Chains {
			n := 0
			for _, r := range c.Rules {
				if r.Table != fam {
					return fmt.Errorf("table %s chain %s: a rule compiled for %s tables in an %s table", t.Name, c.Name, r.Table, fam)
				}
				var err error
				if d != nil {
					err = WriteJSONCommands(d, r, t.Name, c.Name, n, n)
				} else {
					err = WriteCommands(w, r, t.Name, c.Name, n, n, false)
				}
				if err != nil {
					return err
				}
				n += len(r.Rules)
			}
		}
	}
	return nil
}
