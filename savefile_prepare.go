package ctmatch

import (
	"io"

	"github.com/ctmatch/ctmatch/parse"
	"github.com/ctmatch/ctmatch/script"
)

// This file lets a caller translate an iptables-save file's rules on
// several CPUs: what a rule's line needs of no other line (its words
// parsed, compiled and the nft rules written as text) is Prepare, which
// goroutines may run for lines read ahead; what needs the lines before it
// (the reader's tables and chains, the -I positions) is LinePrepared, run
// in the file's order, which uses what Prepare made.

// SavePrepared is the part of a line's translation that needs nothing of
// the file's other lines.
type SavePrepared struct {
	text  string
	table string // the table the line was prepared for
	rule  *parse.Rule
	perr  error
	trs   []*Rule    // the compiled rules (one per rule of a comma list), nil when not compiled
	cerr  error      // the compiler's error
	texts [][]string // the nft text of each nft rule of each of trs
}

// Prepare does for the line text, in iptables table table (that of the
// *TABLE line before it, as far as the caller knows), what does not depend
// on the file's other lines. It does not change s, so goroutines may call
// it at the same time for different lines (o.Resolver, if any, must be safe
// for concurrent use). Give the result to LinePrepared with the same text;
// when the table was not the line's after all, or the line is no rule,
// LinePrepared does the work itself.
func (s *SaveScript) Prepare(text, table string) *SavePrepared {
	if text == "" || text[0] != '-' && text[0] != '[' && text[0] != '!' {
		return nil // no rule: a table, chain, comment or COMMIT line
	}
	p := &SavePrepared{text: text, table: table}
	p.rule, p.perr = parse.ParseText(text, s.popts)
	if p.rule == nil || p.perr != nil || p.rule.Table != nil || p.rule.Command == nil {
		return p // the reader decides what the line is
	}
	c := *p.rule
	if table != "filter" {
		c.Table = &parse.Table{Name: table, Flag: parse.NoPos, At: parse.NoPos}
	}
	p.trs, p.cerr = CompileAll(&c, s.o)
	if p.cerr == nil {
		p.texts = make([][]string, len(p.trs))
		for k, tr := range p.trs {
			p.texts[k] = make([]string, len(tr.Rules))
			for i, nr := range tr.Rules {
				p.texts[k][i] = nr.String()
			}
		}
	}
	return p
}

// LinePrepared is Line for a line that Prepare prepared (p may be nil).
func (s *SaveScript) LinePrepared(w io.Writer, text string, at parse.Position, p *SavePrepared) (*script.SaveLine, error) {
	if p == nil || p.text != text {
		return s.Line(w, text, at)
	}
	s.pre = p
	defer func() { s.pre = nil }()
	return s.Line(w, text, at)
}

// readLine reads a line with the reader, with the words Prepare parsed
// when there are.
func (s *SaveScript) readLine(text string, at parse.Position) (*script.SaveLine, error) {
	if p := s.pre; p != nil {
		return s.r.LineParsed(text, at, p.rule, p.perr)
	}
	return s.r.Line(text, at)
}

// compile compiles the rule of l (CompileAll: one per rule of a comma
// list), or takes what Prepare compiled for it: the same words, in the same
// table. texts are the nft rules' text when Prepare wrote them.
func (s *SaveScript) compile(l *script.SaveLine) (rs []*Rule, texts [][]string, err error) {
	if p := s.pre; p != nil && p.rule == l.Rule && p.table == l.Table && (p.trs != nil || p.cerr != nil) {
		return p.trs, p.texts, p.cerr
	}
	rs, err = CompileAll(l.Rule, s.o)
	return rs, nil, err
}
