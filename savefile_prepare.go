package ctmatch

import (
	"io"
	"sync"

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
	trs   []*Rule // the compiled rules (one per rule of a comma list), nil when not compiled
	cerr  error   // the compiler's error
	// The nft text of every nft rule of every one of trs, one after the
	// other in nft, rule i's ending at ends[i] (ends nil: not written).
	// One string for the line rather than two per nft rule: a file of
	// 50,000 rules makes over 100,000 allocations fewer.
	nft     string
	ends    []int
	endsBuf [4]int // room for ends
}

// textBuf holds the nft text of a line while Prepare writes it, one per
// goroutine at a time.
var textBuf = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// Prepare does for the line text, in iptables table table (that of the
// *TABLE line before it, as far as the caller knows), what does not depend
// on the file's other lines. It does not change s, so goroutines may call
// it at the same time for different lines (o.Resolver, if any, must be safe
// for concurrent use). Give the result to LinePrepared with the same text;
// when the table was not the line's after all, or the line is no rule,
// LinePrepared does the work itself.
func (s *SaveScript) Prepare(text, table string) *SavePrepared {
	if !script.IsSaveRuleLine(text) {
		return nil // no rule: a table, chain, comment or COMMIT line
	}
	p := &SavePrepared{text: text, table: table}
	p.rule, p.perr = parse.ParseText(text, s.popts)
	if p.rule == nil || p.perr != nil || p.rule.Table != nil || p.rule.Command == nil {
		return p // the reader decides what the line is
	}
	r := p.rule
	if table != "filter" {
		c := *p.rule
		c.Table = &parse.Table{Name: table, Flag: parse.NoPos, At: parse.NoPos}
		r = &c
	}
	p.trs, p.cerr = CompileAll(r, s.o)
	if p.cerr == nil {
		buf := textBuf.Get().(*[]byte)
		b, ends := (*buf)[:0], p.endsBuf[:0]
		for _, tr := range p.trs {
			for _, nr := range tr.Rules {
				b = nr.AppendText(b)
				ends = append(ends, len(b))
			}
		}
		p.nft, p.ends = string(b), ends
		*buf = b
		textBuf.Put(buf)
	}
	return p
}

// ruleTexts are the nft text of the nft rules of one Rule, written before:
// rule i's is all[ends[i-1]:ends[i]] (all[start:ends[0]] for the first).
type ruleTexts struct {
	all   string
	start int
	ends  []int
}

func (t *ruleTexts) text(i int) string {
	start := t.start
	if i > 0 {
		start = t.ends[i-1]
	}
	return t.all[start:t.ends[i]]
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

// Done gives back the memory of the rule of l, a line that Line or
// LinePrepared returned, once the caller no longer uses it: a caller that
// writes a file of many rules parses them in the same few rooms instead of
// a new one each (parse.Release), which the collector would have to find
// again. The script keeps nothing of a rule that Done could take from it
// (the checks at COMMIT keep positions and names). After Done, nothing may
// use l.Rule or anything reached through it.
func (s *SaveScript) Done(l *script.SaveLine) {
	if l != nil && l.Rule != nil {
		parse.Release(l.Rule)
		l.Rule = nil
	}
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
// table. texts is what Prepare made when it wrote the nft rules' text (nil
// otherwise).
func (s *SaveScript) compile(l *script.SaveLine) (rs []*Rule, texts *SavePrepared, err error) {
	if p := s.pre; p != nil && p.rule == l.Rule && p.table == l.Table && (p.trs != nil || p.cerr != nil) {
		if p.ends == nil {
			return p.trs, nil, p.cerr
		}
		return p.trs, p, p.cerr
	}
	rs, err = CompileAll(l.Rule, s.o)
	return rs, nil, err
}

// texts returns the texts of the nft rules of p.trs[k].
func (p *SavePrepared) texts(k int) ruleTexts {
	first := 0
	for _, tr := range p.trs[:k] {
		first += len(tr.Rules)
	}
	t := ruleTexts{all: p.nft, ends: p.ends[first : first+len(p.trs[k].Rules)]}
	if first > 0 {
		t.start = p.ends[first-1]
	}
	return t
}
