// Command corpus measures how many rules of a corpus of real iptables
// rulesets ctmatch translates, next to iptables-translate. For each file of
// CORPUS_DIR named *.rules (*6.rules hold ip6tables rules) and each -A or -I
// rule in it, it runs `ctmatch translate` and iptables-translate (or
// ip6tables-translate) on that one rule; it runs each file whole through
// `ctmatch translate --keep-going -f` (the rules it translates as the file
// gives them), and each iptables-save file through `ctmatch translate -f`
// and iptables-restore-translate. It
// prints a Markdown report (a table per file, totals, and the words that
// keep ctmatch from translating rules, with counts), or with -json every
// rule's outcome; -baseline compares with an earlier -json report and exits 1
// when ctmatch no longer translates a rule it translated then.
//
//	go run ./bench/cmd/corpus -ctmatch PATH [-j N] [-json] [-baseline FILE] CORPUS_DIR
//
// bench/corpus.sh builds ctmatch and runs it.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// FileResult is the outcome of one file.
type FileResult struct {
	Name         string       `json:"file"`
	Family       int          `json:"family"`
	Format       Format       `json:"format"`
	Rules        []RuleResult `json:"rules"`
	WholeCtmatch *WholeResult `json:"whole_ctmatch,omitempty"`
	// WholeKeepGoing is ctmatch translate --keep-going of the whole file.
	WholeKeepGoing *WholeResult `json:"whole_ctmatch_keep_going,omitempty"`
	WholePeer      *WholeResult `json:"whole_peer,omitempty"`

	ruleset *Ruleset
	path    string
}

// RuleResult is the outcome of one rule.
type RuleResult struct {
	Rule
	Ctmatch CtmatchResult `json:"ctmatch"`
	// InFile is whether ctmatch translated the rule as its file gives it:
	// translate --keep-going of the whole file did not leave its line as
	// a comment. It differs from Ctmatch for a rule that needs the rules
	// before it (a rules file's -I CHAIN N).
	InFile bool       `json:"ctmatch_in_file"`
	Peer   PeerResult `json:"peer"`
}

// Report is everything measured, the form -json prints.
type Report struct {
	Date     string        `json:"date"`
	Versions Versions      `json:"versions"`
	Files    []*FileResult `json:"files"`
	Totals   Totals        `json:"totals"`
	Blockers []BlockerRow  `json:"blockers"`
	// Comparison is there when -baseline named an earlier report.
	Comparison *Comparison `json:"comparison,omitempty"`
}

// Versions are the versions of the tools measured.
type Versions struct {
	Ctmatch    string `json:"ctmatch"`
	CtmatchRev string `json:"ctmatch_rev,omitempty"` // the commit it was built from
	Translate  string `json:"iptables_translate"`
	Translate6 string `json:"ip6tables_translate"`
	// CtmatchCounters is whether ctmatch was given the rules' counter
	// prefixes (it reads them).
	CtmatchCounters bool `json:"ctmatch_reads_counters"`
}

func main() {
	ctmatchBin := flag.String("ctmatch", "ctmatch", "the ctmatch `binary` to measure")
	workers := flag.Int("j", 2, "run at most `N` tools at once")
	asJSON := flag.Bool("json", false, "print every rule's outcome as JSON instead of the Markdown report")
	rev := flag.String("ctmatch-rev", "", "the commit ctmatch was built from, for the report")
	baseline := flag.String("baseline", "", "compare with an earlier -json report `FILE`: list the rules ctmatch no longer translates, and exit 1 when there is one")
	timeout := flag.Duration("timeout", 30*time.Second, "kill a tool that runs longer than this on one rule or file")
	nftCheck := flag.String("nft-check", "", "check the nft scripts of translate --keep-going with `COMMAND` -c -f FILE (such as \"unshare -n nft\", which needs root)")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: corpus [-ctmatch PATH] [-ctmatch-rev REV] [-j N] [-json] [-baseline FILE] CORPUS_DIR\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 || *workers < 1 {
		flag.Usage()
		os.Exit(2)
	}
	cfg := config{dir: flag.Arg(0), ctmatch: *ctmatchBin, rev: *rev, workers: *workers, timeout: *timeout, json: *asJSON, baseline: *baseline, nftCheck: strings.Fields(*nftCheck)}
	if err := run(context.Background(), os.Stdout, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "corpus:", err)
		os.Exit(1)
	}
}

// config is what the command line asks for.
type config struct {
	dir     string // the corpus
	ctmatch string // the ctmatch binary
	rev     string // the commit it was built from, or ""
	workers int
	timeout time.Duration
	json    bool
	// baseline is an earlier -json report to compare with, or "".
	baseline string
	nftCheck []string // the command that runs nft, or nil
}

// errRegression is what run returns when ctmatch translates fewer rules
// than in the baseline (after printing the report).
var errRegression = errors.New("ctmatch no longer translates rules it translated in the baseline")

func run(ctx context.Context, w io.Writer, cfg config) error {
	t, err := newTools(ctx, cfg)
	if err != nil {
		return err
	}
	var old *Report
	if cfg.baseline != "" {
		if old, err = readReport(cfg.baseline); err != nil {
			return err
		}
	}
	files, err := readCorpus(cfg.dir)
	if err != nil {
		return err
	}
	t.measure(ctx, files, cfg.workers)
	markInFile(files)
	compareChains(files)
	rep := &Report{
		Date:     time.Now().UTC().Format("2006-01-02"),
		Versions: t.versions(ctx, cfg.rev),
		Files:    files,
		Totals:   totals(files),
		Blockers: blockers(files),
	}
	if old != nil {
		rep.Comparison = compare(cfg.baseline, old, rep)
	}
	if err := write(w, rep, cfg.json); err != nil {
		return err
	}
	if rep.Comparison != nil && len(rep.Comparison.Lost) > 0 {
		return errRegression
	}
	return nil
}

// newTools finds the tools and asks ctmatch what it reads.
func newTools(ctx context.Context, cfg config) (*Tools, error) {
	t := &Tools{
		Ctmatch:   cfg.ctmatch,
		Translate: map[int]string{4: "iptables-translate", 6: "ip6tables-translate"},
		Restore:   map[int]string{4: "iptables-restore-translate", 6: "ip6tables-restore-translate"},
		Timeout:   cfg.timeout,
		NftCheck:  cfg.nftCheck,
	}
	for _, name := range []string{t.Ctmatch, t.Translate[4], t.Translate[6], t.Restore[4], t.Restore[6]} {
		if _, err := exec.LookPath(name); err != nil {
			return nil, err
		}
	}
	help, _, _ := runCmd(ctx, t.Timeout, t.Ctmatch, "translate", "--help")
	t.File6 = strings.Contains(string(help), "--file6")
	t.Counters = t.probeCounters(ctx)
	return t, nil
}

func (t *Tools) versions(ctx context.Context, rev string) Versions {
	return Versions{
		Ctmatch:         version(ctx, t.Timeout, t.Ctmatch, "version"),
		CtmatchRev:      rev,
		CtmatchCounters: t.Counters,
		Translate:       version(ctx, t.Timeout, t.Translate[4], "--version"),
		Translate6:      version(ctx, t.Timeout, t.Translate[6], "--version"),
	}
}

// write prints the report as Markdown, or as JSON.
func write(w io.Writer, rep *Report, asJSON bool) error {
	if !asJSON {
		return writeMarkdown(w, rep)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(rep)
}

func version(ctx context.Context, timeout time.Duration, name string, args ...string) string {
	out, _, _ := runCmd(ctx, timeout, name, args...)
	return firstLine(out)
}

// readCorpus reads every *.rules file of dir, in name order.
func readCorpus(dir string) ([]*FileResult, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.rules"))
	if err != nil {
		return nil, err
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("%s: no *.rules file", dir)
	}
	sort.Strings(paths)
	var files []*FileResult
	for _, p := range paths {
		rs, err := extractFile(p)
		if err != nil {
			return nil, err
		}
		f := &FileResult{Name: rs.Name, Family: rs.Family, Format: rs.Format, ruleset: rs, path: p}
		for _, r := range rs.Rules {
			f.Rules = append(f.Rules, RuleResult{Rule: r})
		}
		files = append(files, f)
	}
	return files, nil
}

func extractFile(path string) (*Ruleset, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	return Extract(filepath.Base(path), fh)
}
