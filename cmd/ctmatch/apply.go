package main

import (
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/spf13/cobra"

	"github.com/ctmatch/ctmatch"
	"github.com/ctmatch/ctmatch/firewall"
	"github.com/ctmatch/ctmatch/parse"
	"github.com/ctmatch/ctmatch/script"
)

type applyOptions struct {
	words     wordsFlags // -f, --error-format, --resolve
	kernel    kernelFlags
	write     writeFlags
	noCounter bool
	file6     string // --file6: an iptables-save file of ip6tables rules
	family    string // --family inet: the files merged into inet tables (applyinet.go)
	replace   bool   // --replace: ctmatch's own tables of the file's names are replaced whole
	takeover  bool   // --takeover: iptables-nft's tables of the file's names are deleted in the same transaction
}

func newApplyCmd() *cobra.Command {
	var o applyOptions
	cmd := &cobra.Command{
		Use:   "apply (-f FILE|- [--file6 FILE] [-4|-6] [--family inet]) [--check] [--create] [--force] [--echo] [--replace] [--takeover] [--netns PATH]",
		Short: "Write a file of add rule and insert rule lines into the kernel in one transaction",
		Long: `apply reads FILE (- for standard input), one command per line:

  add rule FAMILY TABLE CHAIN [--index N | --handle H] [-4|-6] [--no-counter] -- WORDS
  insert rule FAMILY TABLE CHAIN [--index N | --handle H] [-4|-6] [--no-counter] -- WORDS

and writes every rule into the kernel in one transaction: all of them, or,
when anything is wrong, none. Blank lines and lines starting with # are
skipped. Each line means what ctmatch add rule or insert rule means with the
same arguments; the WORDS after "--" are rule text with iptables-save quoting.
The positions (--index, --handle) count the chain's groups as the lines
before left them, as iptables-restore does.

Every line is read before anything is sent: each bad line is reported as
FILE:LINE:COL, and then nothing is sent. An error of the kernel names the line
it is about.

--check has the kernel check every change, then changes nothing; --create,
--force and --echo are those of add rule. Writing needs CAP_NET_ADMIN.

An iptables-save file (its first line that is not a comment starts with * or
:) holds iptables rules; --file6 FILE (or -6 -f FILE) one of ip6tables rules. The tables they
name (ip tables for -f, ip6 tables for --file6) are created whole, with their
built-in chains as iptables-nft makes them, policies, user chains and rules,
all in one transaction, as ctmatch's own tables; a table of that name that
exists already is an error (exit 1), and nothing is sent, unless:

  --replace   it carries ctmatch's record (ctmatch made it): it is replaced
              whole in the same transaction (its chains flushed and
              refilled, the others deleted or made);
  --takeover  it is iptables-nft's: it is deleted in the same transaction,
              so there is no moment without a firewall and none with both;
              only when the file defines every chain of it (exit 1, naming
              the chains another program put there, unless --force).

A table of another program (nft's, firewalld's) is never touched.

With --family inet,
both files become one inet table per iptables table: a rule that is the same
in both families is one rule without meta nfproto, the others keep it, and
each family keeps its order and its policies.

A JSON listing of ctmatch list -o json (its first character is "{") is
loaded whole too: its tables, chains and rules, each rule from the iptables
words its "ctmatch" record keeps, checked against the expressions listed,
with its group record (counters start from zero); a table that exists is
an error unless --replace or --takeover, as for an iptables-save file.

Exit codes: 0 success; 1 valid iptables that ctmatch does not support, or a
refusal or failure of the kernel or the system; 2 lines iptables or ctmatch
rejects, or bad usage.`,
		Example: `  ctmatch apply -f rules.ctmatch --create
  ctmatch apply --check -f - <<'EOF'
  # the firewall
  add rule inet fw input -- -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
  insert rule inet fw input -- -m conntrack --ctstate INVALID -j DROP
  add rule inet fw input -6 -- -m conntrack --ctstate NEW --ctorigsrc 2001:db8::/32 -j ACCEPT
  EOF`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runApply(cmd, &o)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&o.words.file, "file", "f", "", "read the commands from `FILE`, one per line, each ending with a newline (- for standard input)")
	fl.StringVar(&o.words.errorFormat, "error-format", "text", "print errors as `text` or json (one object per line)")
	fl.BoolVar(&o.words.resolve, "resolve", false, "look up host names in addresses (each must resolve to exactly one address)")
	fl.BoolVar(&o.noCounter, "no-counter", false, "leave out the counter of every rule")
	fl.BoolVar(&o.replace, "replace", false, "with an iptables-save file or a JSON listing: replace the tables of its names that ctmatch made, whole, in the same transaction")
	fl.BoolVar(&o.takeover, "takeover", false, "with an iptables-save file or a JSON listing: delete iptables-nft's tables of its names in the same transaction (with --force, also when they hold chains the file does not define)")
	fl.StringVar(&o.file6, "file6", "", "read an iptables-save file of ip6tables rules from `FILE` (with -f FILE, an iptables-save file of iptables rules, both in one transaction)")
	fl.BoolVarP(&o.words.v4, "ipv4", "4", false, "-f FILE is an iptables-save file of iptables rules (the default)")
	fl.BoolVarP(&o.words.v6, "ipv6", "6", false, "-f FILE is an iptables-save file of ip6tables rules (the same as --file6 FILE)")
	fl.StringVar(&o.family, "family", "", "with iptables-save files, `inet` merges both families into one inet table per iptables table")
	o.kernel.bind(cmd, true)
	o.write.bind(cmd)
	return cmd
}

func runApply(cmd *cobra.Command, o *applyOptions) error {
	if err := o.kernel.validate(); err != nil {
		return err
	}
	if o.words.file == "" && o.file6 == "" {
		return usageError("apply reads its commands from a file: -f FILE, or -f - for standard input")
	}
	if o.words.v4 && o.words.v6 {
		return usageError("-4 and -6 cannot be used together")
	}
	if o.words.v6 && o.file6 != "" && o.words.file != "" {
		return usageError("-6 -f FILE and --file6 FILE both name ip6tables rules: give one of them")
	}
	if o.words.errorFormat != "text" && o.words.errorFormat != "json" {
		return usageError("--error-format must be text or json, not %q", o.words.errorFormat)
	}
	if done, err := o.applyListing(cmd); done || err != nil {
		return err
	}
	if files, err := o.saveFiles(cmd); err != nil || files != nil {
		if err != nil {
			return err
		}
		return runApplySave(cmd, o, files)
	}
	if o.family != "" {
		return usageError("--family goes with iptables-save files; apply lines name their family themselves")
	}
	if o.replace || o.takeover {
		return usageError("--replace and --takeover go with an iptables-save file, whose tables are written whole, not with apply lines")
	}
	ctx := cmd.Context()
	rep := &reporter{w: cmd.ErrOrStderr(), json: o.words.errorFormat == "json"}
	popts := o.words.parseOptions(ctx)
	// The table and chain names of the changes, shared, so that no change
	// keeps its line.
	names := map[string]string{}
	intern := func(s string) string {
		if t, ok := names[s]; ok {
			return t
		}
		t := strings.Clone(s)
		names[t] = t
		return t
	}
	// The lines are translated on every CPU as they are read, and each is
	// added to the batch, in the file's order, as soon as it is: the batch
	// plans and encodes it at once, so that nothing is kept of a line but
	// its bytes in the batch and its group record. Every line is read, and
	// every bad line reported, before anything is sent; once a line is bad,
	// or the kernel's ruleset refuses a change, the lines after it are only
	// checked.
	var (
		client  *firewall.Client
		batch   *firewall.Batch
		failed  error // the first failure of the kernel or the batch
		changes []firewall.Change
	)
	defer func() {
		if client != nil {
			client.Close()
		}
	}()
	pacer := newHeapPacer()
	defer pacer.stop()
	var cv caveats
	translate := func(src source) (lineResult, error) {
		if src.err != nil {
			return lineResult{}, src.err
		}
		l, err := script.ReadLine(src.text, src.pos, popts)
		if err != nil {
			return lineResult{}, err
		}
		lr, err := lineChanges(l, o.noCounter, !o.write.echo)
		if err == nil && !slices.ContainsFunc(lr.chs, func(ch firewall.Change) bool { return ch.Rule != nil }) {
			// Every rule of the line is lowered: the parsed rule's
			// memory goes back to the parser for the lines after it.
			parse.Release(l.Rule)
		}
		return lr, err
	}
	readErr := forEachInOrder(func(yield func(source) bool) error { return o.words.eachLine(cmd, yield) }, translate,
		func(src source, lr lineResult, err error) {
			defer pacer.line()
			if err != nil {
				rep.report(src, err)
				return
			}
			cv.say(rep, src, lr.caveats)
			chs := lr.chs
			if rep.errors > 0 || failed != nil {
				return
			}
			if client == nil {
				if client, failed = o.kernel.dial(ctx); failed != nil {
					return
				}
				batch = client.Batch(firewall.ApplyOptions{Create: o.write.create, Force: o.write.force, Check: o.kernel.check, NoHandles: !o.write.echo})
			}
			for _, ch := range chs {
				ch.Table, ch.Chain = intern(ch.Table), intern(ch.Chain)
				if o.write.echo {
					changes = append(changes, ch)
				}
				if failed = batch.Add(ctx, ch); failed != nil {
					return
				}
			}
		})
	if readErr != nil {
		return readErr
	}
	if err := rep.err(); err != nil {
		return err
	}
	if failed != nil {
		return kernelFailure(rep, failed)
	}
	if batch == nil || batch.Len() == 0 {
		return nil
	}
	res, err := batch.Commit(ctx)
	if err != nil {
		return kernelFailure(rep, err)
	}
	rep.warn(res.Warnings())
	if o.write.echo {
		return writeEcho(cmd.OutOrStdout(), changes, res, false)
	}
	return nil
}

// A big apply keeps little but its batch, which grows line after line,
// and makes a lot of garbage translating the lines. With GOGC's pacing the
// heap would grow to twice what is live, and while little is live the
// garbage collector would run all the time; instead, unless GOGC or
// GOMEMLIMIT say otherwise, it runs when the heap has grown past what was
// live after the last collection by a quarter of that, and by at least
// minHeadroom (a memory limit, moved after every collection). (The quarter
// keeps the collections from getting more frequent as the batch grows: each
// marks all that is live.)
//
// A memory limit counts all the memory of the process, not only the heap,
// so the heap grows by less than that between collections: of minHeadroom's
// 24 MiB, about 14 (the runtime's own memory takes the rest), which is what
// keeps the peak of a long apply low. (16 MiB left the heap about 6 MiB:
// 40 collections for 50,000 lines of whole rules, a fifth of the user CPU
// time; 24 MiB takes 20 collections and 7 MB more at the peak, 72 MB.)
// But when one line allocates a lot (a change placed by an index or a
// handle has the batch read and group a whole chain; a table named like
// iptables' has it read every chain), the collections would follow each
// other, each marking what is live for a few megabytes of progress (a line
// that read a chain of 77,000 rules, then 50,000 lines added after it:
// 22 s, against 6.5 s with GOGC=100; that line took most of it). So a
// line that lasts burstCycles collections or more is a burst: until the
// lines move on, the collector runs on a GC percent instead, which lets the
// heap grow by a quarter of what is live (burstHeadroom, 16 MiB, at least)
// between collections, whatever else the process holds.
const (
	minHeadroom   = 24 << 20
	burstHeadroom = 16 << 20
	burstCycles   = 2
	minPercent    = 25
	maxPercent    = 400 // (the runtime's minimum heap, 4 MiB at 100%, is then 16 MiB)
)

type heapPacer struct {
	lines    atomic.Int64 // the lines done (line)
	mu       sync.Mutex
	on       bool
	sample   []metrics.Sample
	seen     int64 // lines at the last collection
	still    int   // collections since the lines last moved
	cycles   int   // collections paced
	bursts   int   // collections paced as in a burst
	oldGC    int   // the settings before, for stop
	oldLimit int64 //
}

// gcSentinel is garbage that each collection finds: its finalizer paces
// the next collection and leaves a new one.
type gcSentinel struct{ p *heapPacer }

func newHeapPacer() *heapPacer {
	p := &heapPacer{sample: []metrics.Sample{{Name: "/gc/heap/live:bytes"}}}
	if os.Getenv("GOGC") == "" && os.Getenv("GOMEMLIMIT") == "" {
		p.on = true
		p.oldGC, p.oldLimit = debug.SetGCPercent(-1), debug.SetMemoryLimit(minHeadroom)
		p.arm()
	}
	return p
}

// line says one more line was done.
func (p *heapPacer) line() { p.lines.Add(1) }

func (p *heapPacer) arm() {
	runtime.SetFinalizer(&gcSentinel{p}, func(s *gcSentinel) { s.p.collected() })
}

// collected runs after each collection while the pacer is on, and paces
// the next one.
func (p *heapPacer) collected() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.on {
		return
	}
	metrics.Read(p.sample)
	if p.sample[0].Value.Kind() == metrics.KindUint64 {
		percent, limit := p.next(p.lines.Load(), p.sample[0].Value.Uint64())
		debug.SetGCPercent(percent)
		debug.SetMemoryLimit(limit)
	}
	p.arm()
}

// next returns the GC percent and the memory limit for the collection
// after one that found live bytes live, when lines lines were done.
func (p *heapPacer) next(lines int64, live uint64) (percent int, limit int64) {
	p.cycles++
	if lines != p.seen {
		p.seen, p.still = lines, 0
	} else {
		p.still++
	}
	if p.still >= burstCycles {
		p.bursts++
		return burstPercent(live), math.MaxInt64
	}
	return -1, int64(live + max(minHeadroom, live/4))
}

// burstPercent is the GC percent that lets a heap of live bytes grow by a
// quarter, or by burstHeadroom when that is more.
func burstPercent(live uint64) int {
	if live == 0 {
		return maxPercent
	}
	return int(min(max(burstHeadroom*100/live, minPercent), maxPercent))
}

// stop gives the garbage collector back the settings it had.
func (p *heapPacer) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.on {
		p.on = false
		debug.SetGCPercent(p.oldGC)
		debug.SetMemoryLimit(p.oldLimit)
	}
}

// forEachInOrder calls fn with work's result for each source that read
// yields, in their order, while work runs on every CPU, a few blocks of
// sources ahead. It returns read's error.
func forEachInOrder[T any](read func(yield func(source) bool) error, work func(source) (T, error), fn func(source, T, error)) error {
	const block = 128
	type result struct {
		srcs []source
		chs  []T
		errs []error
		done chan struct{}
	}
	workers := runtime.GOMAXPROCS(0)
	jobs := make(chan *result)
	ordered := make(chan *result, 2*workers) // the blocks in flight
	var readErr error
	go func() {
		defer close(jobs)
		defer close(ordered)
		r := &result{done: make(chan struct{})}
		flush := func() {
			ordered <- r
			jobs <- r
			r = &result{done: make(chan struct{})}
		}
		readErr = read(func(src source) bool {
			if r.srcs = append(r.srcs, src); len(r.srcs) == block {
				flush()
			}
			return true
		})
		if len(r.srcs) > 0 {
			flush()
		}
	}()
	for range workers {
		go func() {
			for r := range jobs {
				r.chs, r.errs = make([]T, len(r.srcs)), make([]error, len(r.srcs))
				for k, src := range r.srcs {
					r.chs[k], r.errs[k] = work(src)
				}
				close(r.done)
			}
		}()
	}
	for r := range ordered {
		<-r.done
		for k, src := range r.srcs {
			fn(src, r.chs[k], r.errs[k])
		}
	}
	return readErr
}

// lineChanges are the changes an apply line asks for: one, or one per
// iptables rule of a comma list of -s or -d, in iptables' order, each
// placed where the line says, as iptables-restore places each (so that
// "insert rule … index 2" puts the last one at 2); with prepare, each
// change holds its rule lowered (Change.Prepared), not the rule.
func lineChanges(l *script.Line, noCounter, prepare bool) (lineResult, error) {
	rules, err := ctmatch.CompileAll(l.Rule, ctmatch.Options{Table: l.Family, IPv6: l.IPv6, NoCounter: noCounter || l.NoCounter, Chain: l.Chain})
	if err != nil {
		return lineResult{}, l.WordsError(err)
	}
	var lr lineResult
	lr.chs = make([]firewall.Change, len(rules))
	for i, rule := range rules {
		lr.chs[i] = lineChange(l, rule, prepare)
		for _, c := range rule.Caveats {
			// At the line's words, as the line's errors are.
			if pe, ok := l.WordsError(c).(*parse.Error); ok {
				lr.caveats = append(lr.caveats, pe)
			}
		}
	}
	return lr, nil
}

// lineResult is what an apply line asks for: its changes, and the
// caveats of its rules, to be said as warnings.
type lineResult struct {
	chs     []firewall.Change
	caveats []*parse.Error
}

// lineChange is the change of an apply line for one of its iptables rules.
func lineChange(l *script.Line, rule *ctmatch.Rule, prepare bool) firewall.Change {
	ch := firewall.Change{Family: l.Family, Table: l.Table, Chain: l.Chain, Insert: l.Op == script.Insert, Index: l.Index, Handle: l.Handle, Pos: l.Pos}
	if prepare {
		// Lowered now, the rule's parse and nft rules can go. (A rule that
		// does not lower stays whole, for Apply to report.)
		if p, err := firewall.Prepare(rule); err == nil {
			ch.Prepared = p
		}
	}
	if ch.Prepared == nil {
		ch.Rule = rule
	}
	return ch
}
