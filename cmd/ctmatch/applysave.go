package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"

	"github.com/spf13/cobra"

	"github.com/ctmatch/ctmatch"
	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/firewall"
	"github.com/ctmatch/ctmatch/kernel"
	"github.com/ctmatch/ctmatch/parse"
	"github.com/ctmatch/ctmatch/script"
)

// This file is apply -f of iptables-save files: the tables the files name
// are created, whole, in one transaction (firewall.Client.CreateTables).

// formatNft is an nft script (list -o nft's), which apply -f refuses.
const formatNft = "nft"

// formatNone is a file with no line but blank lines and comments, which
// may be an iptables-save file of a host without tables of that family
// (iptables-save prints nothing then, and iptables-nft's says in a comment
// that a table is not its own).
const formatNone = "none"

// peekFormat returns the format of the file name (- for standard input):
// formatSave when its first line that is not blank or a comment starts with
// * or : (or is COMMIT), formatNft when it is nft's (table …, flush
// ruleset), formatNone when there is no such line, "" otherwise. What it
// reads of standard input is put back for the command to read.
func peekFormat(cmd *cobra.Command, name string) (string, error) {
	r, _, done, err := openInput(cmd, name)
	if err != nil {
		return "", err
	}
	defer done()
	br := bufio.NewReader(r)
	var read bytes.Buffer
	format := formatNone
	for {
		line, err := br.ReadString('\n')
		read.WriteString(line)
		if t := line; !script.Blank(t) {
			format = ""
			switch f := strings.Fields(t); {
			case script.IsSaveLine(t):
				format = formatSave
			case len(f) > 0 && (f[0] == "table" || f[0] == "flush" && len(f) > 1 && f[1] == "ruleset"):
				format = formatNft
			}
			break
		}
		if err != nil {
			break
		}
	}
	if name == "-" {
		cmd.SetIn(io.MultiReader(bytes.NewReader(read.Bytes()), br))
	}
	return format, nil
}

// desiredRuleset is what iptables-save files say, as the tables to create.
type desiredRuleset struct {
	tables []*desiredTable // in the order the files name them
}

type desiredTable struct {
	d      firewall.DesiredTable
	chains map[string]int // index into d.Chains
	// rules[i] are the rules of d.Chains[i], compiled and lowered off the
	// reading (see ruleSlot); done puts them into d.
	rules [][]*ruleSlot
}

// ruleSlot is a rule of a file, compiled and lowered by a worker while the
// lines after it are read.
type ruleSlot struct {
	rule     *parse.Rule
	opts     *ctmatch.Options // the file's, shared by its rules
	src      source
	prepared *firewall.Prepared
	err      error
	// caveats are the compiled rule's (ctmatch.Rule.Caveats), said as
	// warnings in the file's order.
	caveats []*parse.Error
	// keep: the compiled rule is kept too (compiled), for the inet merge,
	// which compares the rules of the two families.
	keep     bool
	compiled *ctmatch.Rule
	// release: once lowered, the parsed rule's memory goes back to the
	// parser (parse.Release) for the rules after it. Not for a rule of a
	// user chain: the file's check keeps what it needs of the rule's
	// matches (their nodes) for the table's COMMIT.
	release bool
}

// done puts the rules into the desired table.
func (t *desiredTable) done() {
	for i, rules := range t.rules {
		t.d.Chains[i].Rules = make([]firewall.DesiredRule, len(rules))
		for j, r := range rules {
			t.d.Chains[i].Rules[j] = firewall.DesiredRule{Rule: r.compiled, Prepared: r.prepared}
		}
	}
}

// fileEvent is what a line of a file gave to report, in the file's order:
// an error, a warning, or a rule whose compiling may fail.
// A file has an event per rule: the rule's is a pointer and a flag (24
// bytes, not the 136 of a line's source, error and warning next to it,
// which the slice of 50,000 events copied some 30 MB of as it grew); a
// line's error or warning, rare, is a lineEvent of its own.
type fileEvent struct {
	rule *ruleSlot
	// quiet: a rule of a comma list after the first, whose error is
	// reported only when the first one's was not.
	quiet bool
	line  *lineEvent
}

// lineEvent is an error or a warning of a line.
type lineEvent struct {
	src  source
	err  error
	warn *parse.Error
}

// fileLineError is the event of a line's error.
func fileLineError(src source, err error) fileEvent {
	return fileEvent{line: &lineEvent{src: src, err: err}}
}

// compileRules compiles and lowers the rules sent on jobs, on every CPU,
// until jobs is closed; wait waits for the last.
func compileRules(jobs <-chan *ruleSlot) (wait func()) {
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range jobs {
				c, err := ctmatch.Compile(r.rule, *r.opts)
				if err == nil {
					r.caveats = c.Caveats
				}
				if err == nil && r.keep {
					r.compiled = c
				} else if err == nil {
					r.prepared, err = firewall.Prepare(c)
					if err == nil && r.release {
						parse.Release(r.rule)
					}
				}
				r.rule, r.err = nil, err
			}
		}()
	}
	return wg.Wait
}

// table returns the table of family f and name, new and empty when again
// (the file names it a second time: iptables-restore replaces it).
func (rs *desiredRuleset) table(f expr.Family, name string, again bool) *desiredTable {
	for i, t := range rs.tables {
		if t.d.Family == f && t.d.Name == name {
			if again {
				rs.tables[i] = &desiredTable{d: firewall.DesiredTable{Family: f, Name: name}, chains: map[string]int{}}
			}
			return rs.tables[i]
		}
	}
	t := &desiredTable{d: firewall.DesiredTable{Family: f, Name: name}, chains: map[string]int{}}
	rs.tables = append(rs.tables, t)
	return t
}

// chain returns the chain name of t, made when missing: a base chain as
// iptables-nft makes it (policy accept) when builtin, a regular one
// otherwise.
func (t *desiredTable) chain(name string, builtin bool) *firewall.DesiredChain {
	if i, ok := t.chains[name]; ok {
		return &t.d.Chains[i]
	}
	c := firewall.DesiredChain{Name: name}
	if builtin {
		b, err := firewall.CreatedChain(t.d.Name, name)
		if err != nil || b == nil {
			panic("built-in chain " + name + " of table " + t.d.Name) // script.IsBuiltin said it is one
		}
		b.Policy = kernel.PolicyAccept
		c.Base = b
	}
	t.chains[name] = len(t.d.Chains)
	t.d.Chains = append(t.d.Chains, c)
	t.rules = append(t.rules, nil)
	return &t.d.Chains[len(t.d.Chains)-1]
}

// remove deletes chain name of t.
func (t *desiredTable) remove(name string) {
	i, ok := t.chains[name]
	if !ok {
		return
	}
	t.d.Chains = slices.Delete(t.d.Chains, i, i+1)
	t.rules = slices.Delete(t.rules, i, i+1)
	delete(t.chains, name)
	for n, j := range t.chains {
		if j > i {
			t.chains[n] = j - 1
		}
	}
}

// runApplySave applies iptables-save files: every line is read, and every
// bad one reported, before anything is sent; then the tables they name are
// created in one transaction.
func runApplySave(cmd *cobra.Command, o *applyOptions, files []fileInput) error {
	if o.write.create || o.write.echo {
		return usageError("--create and --echo go with apply lines (add rule …), not with an iptables-save file, whose tables are created whole")
	}
	ctx := cmd.Context()
	if os.Getenv("GOGC") == "" && os.Getenv("GOMEMLIMIT") == "" {
		// The whole ruleset is held until it is sent, and much of what is
		// allocated stays live: for 50,000 rules, collecting each time
		// the heap doubles costs 0.41 to 0.45 s of CPU, against 0.32 to
		// 0.37 s when it grows fivefold (145 against 200 MB).
		defer debug.SetGCPercent(debug.SetGCPercent(400))
	}
	rep := &reporter{w: cmd.ErrOrStderr(), json: o.words.errorFormat == "json"}
	var rs desiredRuleset
	// The lines are read in order (the reader keeps the tables' chains
	// and positions), and each rule is compiled and lowered on every CPU
	// while the lines after it are read; what the lines give to report is
	// reported in the files' order once all are read.
	// A -m recent --set whose list a rule of the files reads is refused
	// with it, as translate -f refuses it.
	in := &spool{}
	defer in.Close()
	read, err := readLists(cmd, &o.words, files, in)
	if err != nil {
		return err
	}
	jobs := make(chan *ruleSlot, 1024)
	wait := compileRules(jobs)
	var events []fileEvent
	var readErr error
	for _, f := range files {
		if readErr = readSaveFile(cmd, o, f, read, jobs, &events, &rs); readErr != nil {
			break
		}
	}
	close(jobs)
	wait()
	if readErr != nil {
		return readErr
	}
	var saidAt parse.Position // where the last rule error was reported
	var cv caveats
	for _, e := range events {
		switch {
		case e.rule != nil && e.rule.err != nil:
			if e.quiet && saidAt == e.rule.src.pos {
				continue // the list's first rule said it
			}
			rep.report(e.rule.src, e.rule.err)
			saidAt = e.rule.src.pos
		case e.rule != nil:
			cv.say(rep, e.rule.src, e.rule.caveats)
		case e.line.warn != nil:
			rep.warnLine(e.line.src, e.line.warn)
		case e.line.err != nil:
			rep.report(e.line.src, e.line.err)
		}
	}
	if err := rep.err(); err != nil {
		return err
	}
	ds := make([]firewall.DesiredTable, len(rs.tables))
	for i, t := range rs.tables {
		t.done()
		ds[i] = t.d
	}
	if o.family != "" {
		var err error
		if ds, err = o.inet(rs.tables); err != nil {
			return err
		}
	} else {
		// The ip and ip6 tables take the place of the inet table of their
		// name that apply --family inet made of them before: --replace
		// deletes it in the same transaction (the first table of the name
		// says so), where it would go on filtering beside them.
		named := map[string]bool{}
		for i := range ds {
			if !named[ds[i].Name] {
				named[ds[i].Name] = true
				ds[i].Merges = append(ds[i].Merges, firewall.MergedTable{Family: expr.FamilyInet})
			}
		}
	}
	if len(ds) == 0 {
		return nil
	}
	return o.writeTables(ctx, rep, ds, "the file")
}

// writeTables writes whole tables, as apply -f of iptables-save files and
// of JSON listings does (firewall.Client.WriteTables with --replace,
// --takeover, --force and --check), and warns of the chains --force
// deleted that what (the file, the listing) does not define.
func (o *applyOptions) writeTables(ctx context.Context, rep *reporter, ds []firewall.DesiredTable, what string) error {
	client, err := o.kernel.dial(ctx)
	if err != nil {
		return err
	}
	defer client.Close()
	wo := firewall.WriteOptions{Replace: o.replace, Takeover: o.takeover, Force: o.write.force, Check: o.kernel.check}
	res, err := client.WriteTables(ctx, ds, wo)
	if err != nil {
		if (errors.Is(err, firewall.ErrTableExists) || errors.Is(err, firewall.ErrForeignChains)) && !rep.json {
			return systemError(err)
		}
		return kernelFailure(rep, err)
	}
	done := "was deleted"
	if res.Checked {
		done = "would be deleted (--check: nothing was changed)"
	}
	for _, ch := range res.Foreign {
		rep.warn([]firewall.Warning{{Object: ch, Reason: fmt.Sprintf("chain %s, which %s does not define, %s with its table (--force)", ch, what, done)}})
	}
	for _, ob := range res.ForeignObjects {
		rep.warn([]firewall.Warning{{Object: ob, Reason: fmt.Sprintf("%s, which iptables-nft does not make, %s with its table (--force)", ob, done)}})
	}
	// --replace deletes the chains of ctmatch's table that the file does
	// not define, which another program (Docker, kube-proxy) may have put
	// there: say each.
	for _, d := range res.Diffs {
		for _, obj := range d.DeletedChains() {
			rep.warn([]firewall.Warning{{Object: "chain " + obj, Reason: fmt.Sprintf("chain %s, which %s does not define, %s (--replace)", obj, what, done)}})
		}
	}
	return nil
}

// readSaveFile reads one iptables-save file into rs, sending each rule to
// jobs to be compiled and adding to events what each line gives to report.
func readSaveFile(cmd *cobra.Command, o *applyOptions, f fileInput, read map[string]parse.Position, jobs chan<- *ruleSlot, events *[]fileEvent, rs *desiredRuleset) error {
	popts := o.words.parseOptions(cmd.Context())
	fam := expr.FamilyIP
	popts.Family = parse.IPv4
	if f.v6 {
		popts.Family, fam = parse.IPv6, expr.FamilyIP6
	}
	copts := ctmatch.Options{Table: fam, IPv6: f.v6, NoCounter: o.noCounter, ReadLists: read}
	r := script.NewSaveReader(popts)
	check := ctmatch.NewSaveCheck()
	var t *desiredTable
	// The words of the rule lines are parsed on every CPU, a few blocks of
	// lines ahead of the reader, which reads the lines in order with them
	// (LineParsed), as translate -f does.
	parseRule := func(src source) (*parse.Rule, error) {
		if src.err != nil || !script.IsSaveRuleLine(src.text) {
			return nil, errNotParsed
		}
		return parse.ParseText(src.text, popts)
	}
	err := forEachInOrder(func(yield func(source) bool) error { return eachFileLine(cmd, f.name, yield) }, parseRule, func(src source, rule *parse.Rule, perr error) {
		if src.err != nil {
			*events = append(*events, fileLineError(src, src.err))
			return
		}
		var l *script.SaveLine
		var err error
		if perr == errNotParsed {
			l, err = r.Line(src.text, src.pos)
		} else {
			l, err = r.LineParsed(src.text, src.pos, rule, perr)
		}
		if l != nil && (err == nil || l.Op == script.SaveRule) {
			*events = append(*events, saveCheckEvents(check.Line(l))...)
		}
		if err != nil {
			*events = append(*events, fileLineError(src, err))
			return
		}
		for _, w := range l.Warnings {
			*events = append(*events, fileEvent{line: &lineEvent{src: src, warn: w}})
		}
		switch l.Op {
		case script.SaveTable:
			t = rs.table(fam, l.Table, l.Again)
		case script.SaveChain, script.SavePolicy:
			c := t.chain(l.Chain, l.Builtin)
			if l.Policy != "" {
				c.Base.Policy = kernel.PolicyAccept
				if l.Policy == "DROP" {
					c.Base.Policy = kernel.PolicyDrop
				}
			}
		case script.SaveRule:
			t.chain(l.Chain, l.Builtin)
			i := t.chains[l.Chain]
			// A comma list of -s or -d is several rules, which iptables
			// adds one by one: -A in order, -I each at the same place.
			// (The reader counts them so for the -I positions.) An error
			// is reported once for the line: they differ in addresses only.
			// A line before that the reader placed but that was refused
			// has no slot (the file fails anyway): the positions after it
			// stop at the rules kept. (Place reads no rule: a worker may
			// release one's memory once it is lowered.)
			for k, r := range l.Rule.Expand() {
				slot := &ruleSlot{rule: r, opts: &copts, src: src, keep: o.family != "", release: l.Builtin}
				t.rules[i] = slices.Insert(t.rules[i], min(l.Place(k), len(t.rules[i])), slot)
				if k == 0 {
					*events = append(*events, fileEvent{rule: slot})
				} else {
					*events = append(*events, fileEvent{rule: slot, quiet: true})
				}
				jobs <- slot
			}
		case script.SaveFlush:
			t.chain(l.Chain, l.Builtin)
			t.rules[t.chains[l.Chain]] = nil
		case script.SaveDelete:
			t.remove(l.Chain)
		}
	})
	if err != nil {
		return err
	}
	if l, err := r.End(); err != nil {
		*events = append(*events, fileLineError(source{pos: l.Pos, text: l.Text}, err))
	}
	return nil
}

// errNotParsed stands for the words of a line that is no rule line, which
// the reader reads itself.
var errNotParsed = errors.New("not parsed ahead")

// saveCheckEvents are the errors the whole-file check found at a COMMIT
// line, as events to report in the file's order.
func saveCheckEvents(err error) []fileEvent {
	if err == nil {
		return nil
	}
	var table ctmatch.SaveErrors // (only for an error: errors.As makes it escape)
	if !errors.As(err, &table) {
		return nil
	}
	out := make([]fileEvent, len(table))
	for i, e := range table {
		out[i] = fileLineError(source{pos: e.At, text: e.Err.Text}, e.Err)
	}
	return out
}

// saveFiles returns the iptables-save files apply was given, or nil when
// -f FILE is a file of apply lines.
func (o *applyOptions) saveFiles(cmd *cobra.Command) ([]fileInput, error) {
	if o.words.file != "" && o.words.file == o.file6 && o.file6 == "-" {
		return nil, usageError("-f - and --file6 - cannot both read standard input")
	}
	var files []fileInput
	if o.words.file != "" {
		format, err := peekFormat(cmd, o.words.file)
		if err != nil {
			return nil, err
		}
		if format == formatNft {
			return nil, usageError("-f %s is an nft script (ctmatch list -o nft prints one): load it with nft -f; apply -f reads iptables-save files, apply lines (add rule FAMILY TABLE CHAIN -- WORDS) and the JSON of ctmatch list -o json", o.words.file)
		}
		if format == formatNone && (o.file6 != "" || o.words.v4 || o.words.v6 || o.replace || o.takeover || o.family != "") {
			// Nothing to read either way: the flags say iptables-save.
			format = formatSave
		}
		if format != formatSave {
			switch {
			case o.file6 != "":
				return nil, usageError("--file6 goes with an iptables-save file: -f %s holds apply lines", o.words.file)
			case o.words.v4 || o.words.v6:
				return nil, usageError("-4 and -6 go with an iptables-save file: -f %s holds apply lines, which name their family after the chain (add rule FAMILY TABLE CHAIN -6 -- WORDS)", o.words.file)
			}
			return nil, nil
		}
		files = append(files, fileInput{name: o.words.file, v6: o.words.v6})
	}
	if o.file6 != "" {
		files = append(files, fileInput{name: o.file6, v6: true})
	}
	return files, nil
}
