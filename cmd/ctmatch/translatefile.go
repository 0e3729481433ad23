package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ctmatch/ctmatch"
	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/parse"
	"github.com/ctmatch/ctmatch/script"
)

// This file is translate -f FILE and --file6 FILE: a file of rules, one
// per line (as iptables-translate takes them), or an iptables-save file
// (as iptables-restore-translate takes it).

// Input formats of translate -f.
const (
	formatRules = "rules"
	formatSave  = "iptables-save"
)

// fileInput is one file translate reads, and the family of its words.
type fileInput struct {
	name string
	v6   bool
}

// failedLine ends an nft script that is not whole: nft refuses the line,
// and with it the whole script, since nft -f parses all of it before it
// sends anything.
const failedLine = "ctmatch-translate-failed: the lines above are not the whole ruleset, and nft refuses to load a script that holds this line"

// fileInputs returns the files translate was given: -f FILE (ip6tables
// words with -6) and --file6 FILE (ip6tables words).
func (o *translateOptions) fileInputs() ([]fileInput, error) {
	var in []fileInput
	if o.words.file != "" {
		in = append(in, fileInput{o.words.file, o.words.v6})
	}
	if o.file6 != "" {
		if o.words.v6 && o.words.file != "" {
			return nil, usageError("-6 -f FILE and --file6 FILE both name ip6tables rules: give one of them")
		}
		in = append(in, fileInput{o.file6, true})
	}
	if len(in) == 2 && in[0].name == "-" && in[1].name == "-" {
		return nil, usageError("-f - and --file6 - cannot both read standard input")
	}
	return in, nil
}

// fileRun is the translation of the files of one translate command.
type fileRun struct {
	cmd    *cobra.Command
	o      *translateOptions
	rep    *reporter
	out    *stickyWriter
	format string // the format of the files (they are all of one)
	failed bool   // a line could not be translated (and there is no --keep-going)
	err    error  // what ended the translation other than a line
	bw     *bufio.Writer
	inet   *inetRun // --family inet of iptables-save files (translateinet.go)

	// refused is set when the kernel would refuse a table of an
	// iptables-save file as a whole: nothing is printed.
	refused bool
	// restoreGC puts back the garbage collector's settings (tuneGC).
	restoreGC func()
	// withheld says a line of a file of rules failed without --keep-going:
	// nothing is printed, and the lines after it are read for their errors.
	withheld bool
	// stores hold the rules of -o iptables (newSaveFile), closed at the end.
	stores []*bufferedSpool
}

// runTranslateFiles translates -f FILE and --file6 FILE.
func runTranslateFiles(cmd *cobra.Command, o *translateOptions, files []fileInput) error {
	sp := &spool{}
	defer sp.Close()
	bw := bufio.NewWriterSize(sp, 64*1024)
	fr := &fileRun{cmd: cmd, o: o, out: &stickyWriter{w: bw}, bw: bw,
		rep: &reporter{w: cmd.ErrOrStderr(), json: o.words.errorFormat == "json"}}
	defer func() {
		if fr.restoreGC != nil {
			fr.restoreGC()
		}
		for _, s := range fr.stores {
			s.Close()
		}
	}()
	rulesOut := &spool{} // a file of rules prints nothing until every line translated
	defer rulesOut.Close()
	in := &spool{} // standard input, read twice
	defer in.Close()
	read, err := readLists(cmd, &o.words, files, in)
	if err != nil {
		return err
	}
	fr.o.copts.ReadLists = read
	for _, f := range files {
		if err = fr.file(f, rulesOut); err != nil || fr.failed {
			break
		}
	}
	if fr.inet != nil && !fr.failed && err == nil {
		err = fr.inet.write(fr.out, fr.o.doc)
	}
	if fr.format == formatSave && (fr.failed || err != nil) && fr.o.doc != nil && fr.o.doc.Commands() > 0 {
		_ = fr.o.doc.Command(failedJSON)
	}
	if fr.o.doc != nil && (fr.format == formatSave && fr.o.doc.Commands() > 0 || !fr.failed && !fr.withheld && err == nil) {
		if cerr := fr.o.doc.Close(); cerr != nil && err == nil {
			err = writeError(cerr)
		}
	}
	if fr.o.output == "json" && fr.o.doc == nil && fr.format == "" && !fr.failed && err == nil {
		// Files of nothing but blank lines and comments: an empty
		// document, which nft -j -f and JSON readers take, as list -o
		// json prints for an empty ruleset.
		fmt.Fprintln(fr.out, `{"nftables":[]}`)
	}
	if fr.format == formatRules && !fr.failed && !fr.withheld && err == nil {
		if _, cerr := rulesOut.WriteTo(fr.out); cerr != nil && fr.out.err == nil {
			fr.out.err = cerr
		}
	}
	if fr.format == formatSave && (fr.failed || err != nil) && fr.out.n > 0 && fr.o.doc == nil {
		fmt.Fprintln(fr.out, failedLine)
	}
	if fr.out.err == nil {
		fr.out.err = bw.Flush()
	}
	if fr.out.err == nil && !fr.refused {
		_, fr.out.err = sp.WriteTo(cmd.OutOrStdout())
	}
	if fr.out.err != nil {
		return writeError(fr.out.err)
	}
	if err != nil {
		return err
	}
	return fr.rep.err()
}

// file translates one file, detecting its format from its first line that
// is not blank or a comment (a line starting with * or : is
// iptables-save's, as is COMMIT) unless --format says it.
func (fr *fileRun) file(f fileInput, rulesOut *spool) error {
	var pending []source // blank lines and comments before the format is known
	var rules *rulesFile
	var save *saveFile
	format := fr.o.format
	err := eachFileLine(fr.cmd, f.name, func(src source) bool {
		if format == "" {
			if src.err == nil && script.Blank(src.text) {
				pending = append(pending, src)
				return true
			}
			format = formatRules
			if src.err == nil && script.IsSaveLine(src.text) {
				format = formatSave
			}
		}
		if rules == nil && save == nil {
			if fr.format != "" && fr.format != format {
				fr.rep.report(src, &lineError{msg: fmt.Sprintf("this file is %s, and the one before it %s: translate takes files of one format together", formatName(format), formatName(fr.format))})
				fr.failed = true
				return false
			}
			fr.format = format
			if format == formatSave && (fr.o.table != "" || fr.o.family != "" && !fr.mergesInet() || fr.o.output == "bytecode" || fr.o.output == "iptables" && fr.mergesInet()) {
				fr.err = fr.saveFlags()
				return false
			}
			if fr.o.output == "json" && fr.o.doc == nil {
				var w io.Writer = fr.out
				if format == formatRules {
					w = rulesOut
				}
				fr.o.doc = ctmatch.NewJSONDoc(w)
			}
			if format == formatRules && fr.o.output == "iptables" {
				fr.err = usageError("-o iptables prints an iptables-save file in canonical form; for a file of rules, use ctmatch fmt -f FILE")
				return false
			}
			if format == formatRules {
				rules = newRulesFile(fr, f, rulesOut)
			} else {
				save = newSaveFile(fr, f)
			}
			for _, p := range pending {
				if !fr.line(rules, save, p) {
					return false
				}
			}
		}
		return fr.line(rules, save, src)
	})
	if save != nil {
		save.drain()
	}
	if err == nil && save != nil && !fr.failed {
		save.end()
	}
	if err == nil {
		err = fr.err
	}
	return err
}

// saveFlags is the error for --table and --family with an iptables-save
// file, whose tables and family are its own.
func (fr *fileRun) saveFlags() error {
	if fr.o.output == "bytecode" {
		return usageError("-o bytecode prints the rules of a file of rules; an iptables-save file becomes an nft script (-o nft)")
	}
	if fr.o.table != "" {
		return usageError("--table: an iptables-save file names its tables itself (*filter, *nat, …)")
	}
	if fr.o.output == "iptables" && fr.mergesInet() {
		return usageError("-o iptables prints each iptables-save file in canonical form, one family each; --family inet merges both families into nft tables (-o nft or -o json): give one or the other")
	}
	return usageError("--family %s: an iptables-save file's family is its own: -f holds iptables rules (ip tables), --file6 ip6tables rules (ip6 tables)", fr.o.family)
}

func formatName(f string) string {
	if f == formatSave {
		return "an iptables-save file"
	}
	return "a file of rules, one per line"
}

func (fr *fileRun) line(rules *rulesFile, save *saveFile, src source) bool {
	if rules != nil {
		rules.line(src)
		if err := rules.held.err; err != nil && fr.out.err == nil {
			fr.out.err = err // the rules held back cannot all be printed: stop
		}
	} else {
		save.line(src)
	}
	return !fr.failed && fr.out.err == nil
}

// fail reports err about src; without --keep-going, the translation stops
// there. It returns whether to go on.
func (fr *fileRun) fail(src source, err error) bool {
	fr.flush() // what was translated before the line, then its error
	fr.rep.report(src, err)
	if !fr.o.keepGoing {
		fr.failed = true
	}
	return fr.o.keepGoing
}

// untranslated writes the comment that stands for a line --keep-going
// leaves out.
func untranslated(w io.Writer, src source) {
	text := src.text
	if src.err != nil {
		text = "(" + src.err.Error() + ")"
	}
	fmt.Fprintf(w, "# untranslated: %s:%d: %s\n", src.pos.File, src.pos.Line, strings.ReplaceAll(text, "\r", `\r`))
}

// rulesFile is a file of rules, one per line, being translated: nft
// commands as iptables-translate prints them. -I CHAIN N is resolved where
// the file itself made the top of the chain: after -I CHAIN 1, -I CHAIN 2
// goes after it.
type rulesFile struct {
	fr    *fileRun
	held  *spool // the nft commands (or the JSON document), printed once the last line has translated
	copts ctmatch.Options
	popts parse.Options
	// top holds, per nft table and chain, the groups the file inserted at
	// the top of the chain, in the chain's order.
	top map[[2]string][]topGroup
}

func newRulesFile(fr *fileRun, f fileInput, held *spool) *rulesFile {
	copts := fr.o.copts
	copts.IPv6 = f.v6
	if f.v6 && fr.o.family == "" {
		copts.Table = expr.FamilyIP6
	}
	popts := fr.o.words.parseOptions(fr.cmd.Context())
	popts.Family = parse.IPv4
	if f.v6 {
		popts.Family = parse.IPv6
	}
	return &rulesFile{fr: fr, held: held, copts: copts, popts: popts, top: map[[2]string][]topGroup{}}
}

func (rf *rulesFile) line(src source) {
	if src.err == nil {
		// As eachLine reads a file of rules: a CR before the newline is
		// not part of the rule; blank lines and comments are skipped.
		src.text = strings.TrimSuffix(src.text, "\r")
		if script.Blank(src.text) {
			return
		}
	}
	if src.err == nil && script.IsSaveLine(src.text) {
		why, hint := "the file's first line made it a file of rules, one per line", "give an iptables-save file whole, starting with its *TABLE line"
		if rf.fr.o.format == formatRules {
			why, hint = "--format rules made it a file of rules, one per line", "leave out --format rules: an iptables-save file is read as one"
		}
		rf.failLine(src, &parse.Error{Pos: 0, Word: firstWord(src.text), Text: src.text, Kind: parse.Invalid,
			Msg: "an iptables-save line in a file of rules: " + why, Hint: hint})
		return
	}
	r, err := src.parse(rf.popts)
	if err != nil || r.Command == nil {
		if r != nil && r.Command == nil && !parse.IsOtherCommand(err) {
			err = noCommand(r)
		}
		var pe *parse.Error
		if parse.IsOtherCommand(err) && errors.As(err, &pe) && pe.Hint == "" {
			pe.Hint = "a file of rules holds -A and -I lines; chains and policies go in an iptables-save file (*filter, :CHAIN POLICY, -N, -P, COMMIT), which translate -f takes whole"
		}
		rf.keepPlace(r, err)
		rf.failLine(src, err)
		return
	}
	var buf bytes.Buffer
	if err := rf.translate(&buf, r); err != nil {
		rf.keepPlace(r, err)
		rf.failLine(src, err)
		return
	}
	rf.fr.o.sayCaveat(rf.fr.rep, src)
	_, _ = rf.held.Write(buf.Bytes()) // an error sticks in held: fileRun.line stops
}

// topGroup is a rule a file of rules inserted at the top of a chain: its
// iptables table, and how many nft rules it is. With --table, the rules of
// several iptables tables go into one nft chain, and -I CHAIN N counts the
// rules of its own table only, as iptables does.
type topGroup struct {
	table string
	n     int
}

// topIndex returns where in top -I CHAIN n of iptables table table goes:
// right after the (n-1)th group of that table; false when top has fewer.
func topIndex(top []topGroup, table string, n int) (int, bool) {
	if n <= 1 {
		return 0, true
	}
	seen := 0
	for i, g := range top {
		if g.table == table {
			if seen++; seen == n-1 {
				return i + 1, true
			}
		}
	}
	return 0, false
}

// topRules returns the nft rules of top's groups.
func topRules(top []topGroup) int {
	n := 0
	for _, g := range top {
		n += g.n
	}
	return n
}

// keepPlace gives a rule -I CHAIN N put at the top of its chain, which was
// not translated, its place there (no nft rule), so that the -I positions
// after it count it as iptables does: with --keep-going, the lines after it
// go on. An invalid rule (which iptables refuses too) takes no place.
func (rf *rulesFile) keepPlace(r *parse.Rule, err error) {
	var pe *parse.Error
	if r == nil || r.Command == nil || r.Command.Op != parse.Insert || errors.As(err, &pe) && pe.Kind == parse.Invalid {
		return
	}
	table := rf.fr.o.table
	if table == "" {
		table = r.TableName()
	}
	key := [2]string{table, r.Command.Chain}
	if at, ok := topIndex(rf.top[key], r.TableName(), r.Command.Index); ok {
		// A comma list of addresses takes a place per address.
		rf.top[key] = slices.Insert(rf.top[key], at, slices.Repeat([]topGroup{{table: r.TableName()}}, len(r.Expand()))...)
	}
}

func (rf *rulesFile) failLine(src source, err error) {
	if rf.fr.o.keepGoing {
		rf.fr.fail(src, err)
		rf.fr.untranslated(rf.held, src)
		return
	}
	// Without --keep-going the file prints nothing; its lines are read to
	// the end all the same, so that every bad one is reported (as fmt and
	// apply report them), the worst deciding the exit status.
	rf.fr.rep.report(src, err)
	rf.fr.withheld = true
}

// translate writes the nft commands of one rule of the file.
func (rf *rulesFile) translate(w io.Writer, r *parse.Rule) error {
	c := r.Command
	o := rf.fr.o
	table := o.table
	if table == "" {
		table = r.TableName()
	}
	key := [2]string{table, c.Chain}
	if c.Op != parse.Insert || o.output == "bytecode" {
		return translateRule(w, r, o, rf.copts)
	}
	top := rf.top[key]
	at, ok := topIndex(top, r.TableName(), c.Index)
	if !ok {
		return &parse.Error{Pos: c.IndexPos, Text: r.Text, Word: r.Text[c.IndexPos:c.End()], Kind: parse.Unsupported,
			Msg:  fmt.Sprintf("-I %s %d needs the kernel's groups: the file put only %d rule(s) at the top of %s before this line", c.Chain, c.Index, ownTop(top, r.TableName()), c.Chain),
			Hint: "use ctmatch insert rule --index N, or translate an iptables-save file, where every position is known"}
	}
	if o.doc == nil {
		if err := script.RuleNameError(r, chainNameHint); err != nil {
			return err
		}
	}
	// A comma list of addresses is one rule per address, which iptables
	// inserts each at N in turn: each goes before the one before it.
	trs, err := ctmatch.CompileAll(r, rf.copts)
	if err != nil {
		return err
	}
	after := topRules(top[:at])
	for _, tr := range trs {
		o.collectCaveats(tr)
		if o.doc != nil {
			err = ctmatch.WriteJSONCommands(o.doc, tr, table, c.Chain, after, -1)
		} else {
			err = ctmatch.WriteCommands(w, tr, table, c.Chain, after, -1, true)
		}
		if err != nil {
			return err
		}
		top = slices.Insert(top, at, topGroup{table: r.TableName(), n: len(tr.Rules)})
	}
	rf.top[key] = top
	return nil
}

// ownTop returns how many of top's groups are of iptables table table.
func ownTop(top []topGroup, table string) int {
	n := 0
	for _, g := range top {
		if g.table == table {
			n++
		}
	}
	return n
}

// saveFile is an iptables-save file being translated into an nft script
// (ctmatch.SaveScript), written as it is read.
type saveFile struct {
	fr *fileRun
	s  *ctmatch.SaveScript
	rs *ctmatch.SaveRuleset // instead of s: the file read whole, for the inet merge (translateinet.go)

	c     *ctmatch.SaveCanon // -o iptables: the file in canonical form (translatecanon.go)
	ahead                    // the lines read ahead, being prepared (translatefile_ahead.go)
}

func newSaveFile(fr *fileRun, f fileInput) *saveFile {
	if fr.restoreGC == nil {
		// (-o iptables keeps 8 bytes a rule live until the end, which a
		// soft limit on the heap would fight at millions of rules.)
		fr.restoreGC = tuneGC(fr.o.output != "iptables")
	}
	o := fr.o.copts
	o.IPv6, o.Resolver = f.v6, newSystemResolver(fr.cmd.Context(), fr.o.words.resolve)
	if fr.mergesInet() {
		return fr.inetFile(f, o)
	}
	if fr.o.output == "iptables" {
		// The rules' text waits in a spool (a temporary file past its
		// first MB) until the file's end puts it in its chains' order.
		store := newBufferedSpool()
		fr.stores = append(fr.stores, store)
		return &saveFile{fr: fr, c: ctmatch.NewSaveCanonIn(o, store)}
	}
	s := ctmatch.NewSaveScript(o)
	if fr.o.doc != nil {
		s.WriteJSON(fr.o.doc)
	}
	return &saveFile{fr: fr, s: s}
}

// process translates a line of the file, in the file's order, with what
// Prepare made of it (p may be nil).
func (sf *saveFile) process(src source, p *ctmatch.SavePrepared) {
	if src.err != nil {
		if sf.fr.fail(src, src.err) {
			sf.fr.untranslated(sf.fr.out, src)
		}
		return
	}
	if sf.rs != nil {
		sf.inetLine(src)
		return
	}
	l, err := sf.s.LinePrepared(sf.fr.out, src.text, src.pos, p)
	defer sf.s.Done(l) // after the error below is reported
	if l != nil {
		for _, w := range l.Warnings {
			sf.fr.o.sayLineWarning(sf.fr.rep, src, w)
		}
	}
	if err == nil {
		return
	}
	var table ctmatch.SaveErrors // (only for an error: errors.As makes it escape)
	if errors.As(err, &table) {
		// The kernel refuses the table whole: nothing of the file is
		// printed, --keep-going or not.
		for _, e := range table {
			sf.fr.rep.report(source{pos: e.At, text: e.Err.Text}, e.Err)
		}
		sf.fr.refused, sf.fr.failed = true, true
		return
	}
	if sf.fr.fail(src, err) {
		sf.fr.untranslated(sf.fr.out, src)
	}
}

// end checks the end of the file: a table without COMMIT.
func (sf *saveFile) end() {
	var l *script.SaveLine
	var err error
	switch {
	case sf.c != nil:
		l, err = sf.c.End()
	case sf.rs != nil:
		l, err = sf.rs.End()
	default:
		l, err = sf.s.End()
	}
	if err != nil {
		sf.fr.flush()
		sf.fr.rep.report(source{pos: l.Pos, text: l.Text}, err)
		sf.fr.failed = true
		return
	}
	if sf.c != nil {
		if _, err := sf.c.WriteTo(sf.fr.out); err != nil && sf.fr.out.err == nil {
			sf.fr.out.err = err // the file's text cannot all be printed: nothing is
		}
	}
}

// warnLine prints a warning about a line of a file: in text after
// "warning: ", in JSON as the message of an object of kind "warning".
func (r *reporter) warnLine(src source, pe *parse.Error) {
	msg := pe.Msg
	if !r.json {
		msg = "warning: " + msg
	}
	r.print(src, problem{kind: "warning", col: int(pe.Pos) + 1, word: pe.Word, msg: msg, hint: pe.Hint, caret: pe.Caret()})
}

// fileFlags checks the flags that go with -f and --file6.
// (-4 with -6 and --format are checked by compileOptions, which runs first.)
func (o *translateOptions) fileFlags(cmd *cobra.Command, args []string) error {
	if o.words.errorFormat != "text" && o.words.errorFormat != "json" {
		return usageError("--error-format must be text or json, not %q", o.words.errorFormat)
	}
	if len(args) > 0 {
		return usageError("give the rules either with -f or after --, not both")
	}
	if o.format == formatSave && o.output == "bytecode" {
		return usageError("-o bytecode prints the rules of a file of rules; an iptables-save file becomes an nft script (-o nft)")
	}
	return nil
}

// flush writes out what was translated so far, so that an error printed next
// comes after it on a terminal.
func (fr *fileRun) flush() {
	if fr.out.err == nil {
		fr.out.err = fr.bw.Flush()
	}
}
