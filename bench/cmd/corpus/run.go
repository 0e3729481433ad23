package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Tools names the programs measured.
type Tools struct {
	Ctmatch string // the ctmatch binary
	// Translate and Restore are the peers per family:
	// iptables-translate and iptables-restore-translate for 4.
	Translate, Restore map[int]string
	// File6 is whether ctmatch translate takes IPv6 iptables-save files
	// with --file6 (otherwise: -6 -f).
	File6 bool
	// Counters is whether ctmatch translate reads a rule text that starts
	// with a [packets:bytes] prefix; when it does not, rules go without it.
	Counters bool
	// NftCheck is the command that runs nft, without -c -f FILE, to check
	// the scripts of translate --keep-going ("unshare -n nft" as root), or
	// nil not to check them.
	NftCheck []string
	Timeout  time.Duration
}

// CtmatchResult is what ctmatch translate did with one rule.
type CtmatchResult struct {
	Exit int `json:"exit"`
	// Status is translated (exit 0), unsupported (1), invalid (2) or
	// failed (anything else: a crash, a timeout).
	Status string `json:"status"`
	// The first error ctmatch reported (--error-format json).
	Column  int    `json:"column,omitempty"`
	Word    string `json:"word,omitempty"`
	Message string `json:"message,omitempty"`
	Kind    string `json:"kind,omitempty"`
	// Blocker is the match, target or option the error points at, as the
	// report groups it (-p, --dport, -j REJECT, -m multiport).
	Blocker string `json:"blocker,omitempty"`
}

// PeerResult is what iptables-translate did with one rule.
type PeerResult struct {
	Exit       int  `json:"exit"`
	Translated bool `json:"translated"`
	// Reason says why a rule counts as not translated: "exit N" or
	// "comment" (iptables-translate 1.8.9 prints "nft # WORDS" and exits 0
	// for a rule it cannot translate).
	Reason string `json:"reason,omitempty"`
}

// WholeResult is what a tool did with a whole iptables-save file.
type WholeResult struct {
	Exit int `json:"exit"`
	// Untranslated counts the rules iptables-restore-translate left as
	// "# -t TABLE WORDS" comments.
	Untranslated int  `json:"untranslated,omitempty"`
	OK           bool `json:"ok"`
	// Whole is, for ctmatch translate --keep-going, whether the script is
	// whole: it does not end with the line that marks a script nft must
	// not load (every line is translated or left as a comment).
	Whole bool `json:"whole,omitempty"`
	// NftAccepts is whether nft -c -f accepted the script (nil: not
	// checked).
	NftAccepts *bool `json:"nft_accepts,omitempty"`
	// Left holds, for ctmatch translate --keep-going, the lines (1-based)
	// it left as "# untranslated: FILE:LINE: …" comments.
	Left []int `json:"left_lines,omitempty"`
	// SameChains is, for ctmatch translate --keep-going, whether its add
	// table and add chain lines are iptables-restore-translate's, but for
	// the security table's priority (150 as iptables-nft makes the chains,
	// where iptables-restore-translate 1.8.9 says 0).
	SameChains *bool `json:"same_chains_as_peer,omitempty"`

	chains []string // the add table, add chain and delete lines printed
}

const (
	statusTranslated  = "translated"
	statusUnsupported = "unsupported"
	statusInvalid     = "invalid"
	statusFailed      = "failed"
)

// runCmd runs a program and returns its standard output, standard error and
// exit status (-1 when it could not run or was killed).
func runCmd(ctx context.Context, timeout time.Duration, name string, args ...string) (stdout, stderr []byte, exit int) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return out.Bytes(), errb.Bytes(), 0
	case errors.As(err, &ee) && ee.ExitCode() >= 0:
		return out.Bytes(), errb.Bytes(), ee.ExitCode()
	default:
		fmt.Fprintf(&errb, "%s: %v\n", name, err)
		return out.Bytes(), errb.Bytes(), -1
	}
}

// probeCounters reports whether ctmatch translate reads a rule text with a
// [packets:bytes] prefix, as iptables-restore reads rule lines.
func (t *Tools) probeCounters(ctx context.Context) bool {
	_, _, exit := runCmd(ctx, t.Timeout, t.Ctmatch, "translate", "--", "[1:2] -t filter -A INPUT -j ACCEPT")
	return exit == 0
}

// familyFlag is ctmatch's flag for a family.
func familyFlag(family int) string {
	if family == 6 {
		return "-6"
	}
	return "-4"
}

// translateCtmatch runs ctmatch translate on one rule, given as one rule text
// (the form of a file line, with its counter prefix when ctmatch reads one),
// and classifies the outcome.
func (t *Tools) translateCtmatch(ctx context.Context, family int, rule Rule) CtmatchResult {
	text := rule.Input()
	if t.Counters {
		text = rule.InputWithCounters()
	}
	_, stderr, exit := runCmd(ctx, t.Timeout, t.Ctmatch, "translate", familyFlag(family), "--error-format", "json", "--", text)
	res := CtmatchResult{Exit: exit}
	switch exit {
	case 0:
		res.Status = statusTranslated
		return res
	case 1:
		res.Status = statusUnsupported
	case 2:
		res.Status = statusInvalid
	default:
		res.Status = statusFailed
		res.Message = firstLine(stderr)
		res.Blocker = "(ctmatch failed)"
		return res
	}
	if e, ok := firstError(stderr); ok {
		res.Column, res.Word, res.Message, res.Kind = e.Column, e.Word, e.Message, e.Kind
	} else {
		res.Message = firstLine(stderr)
	}
	res.Blocker = Blocker(text, res.Column, res.Word, res.Message)
	return res
}

// jsonError is one object of ctmatch's --error-format json.
type jsonError struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Column  int    `json:"column"`
	Word    string `json:"word"`
	Message string `json:"message"`
	Kind    string `json:"kind"`
	Hint    string `json:"hint"`
}

// firstError returns the first error (not a warning) among ctmatch's JSON
// lines.
func firstError(stderr []byte) (jsonError, bool) {
	sc := bufio.NewScanner(bytes.NewReader(stderr))
	for sc.Scan() {
		var e jsonError
		if json.Unmarshal(sc.Bytes(), &e) != nil || e.Kind == "warning" || e.Message == "" {
			continue
		}
		return e, true
	}
	return jsonError{}, false
}

func firstLine(b []byte) string {
	s, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
	return s
}

// Blocker returns the match, target or option that an error about the rule
// text points at, column being 1-based (0: no word): the option word itself
// (-p, --dport, in its short spelling), "-m NAME" or "-j NAME" for a match or
// a target or a word inside them, the option a value belongs to, and
// "-I CHAIN N" for a rule number, the word itself when no option takes it.
// Without a word it is the message.
func Blocker(text string, column int, word, message string) string {
	words, err := Split(text)
	if err != nil || column <= 0 {
		return noWord(word, message)
	}
	at := -1
	for i, w := range words {
		if column-1 >= w.Start && column-1 < w.End {
			at = i
			break
		}
	}
	if at < 0 {
		return noWord(word, message)
	}
	if words[at].Text == "!" && at+1 < len(words) {
		at++
	}
	w := canonicalOption(words[at].Text)
	if strings.HasPrefix(w, "-") && w != "-" {
		if (w == "-m" || w == "-j") && at+1 < len(words) {
			return w + " " + words[at+1].Text
		}
		return w
	}
	// A value: find the option it belongs to.
	for i := at - 1; i >= 0; i-- {
		o := canonicalOption(words[i].Text)
		if !strings.HasPrefix(o, "-") || o == "-" {
			continue
		}
		switch {
		case o == "-m" || o == "-j":
			return o + " " + words[i+1].Text
		case o == "-I" && at == i+2:
			return "-I CHAIN N"
		case (o == "-A" || o == "-I") && at > i+1:
			// A word after the chain that no option takes.
			return words[at].Text
		}
		return o
	}
	return noWord(word, message)
}

func noWord(word, message string) string {
	if word != "" {
		return word
	}
	return "(" + message + ")"
}

// translatePeer runs iptables-translate (or ip6tables-translate) on one rule,
// given as argv words.
func (t *Tools) translatePeer(ctx context.Context, family int, rule Rule) PeerResult {
	words, err := Split(rule.Input())
	if err != nil {
		return PeerResult{Exit: -1, Reason: err.Error()}
	}
	args := make([]string, len(words))
	for i, w := range words {
		args[i] = w.Text
	}
	stdout, _, exit := runCmd(ctx, t.Timeout, t.Translate[family], args...)
	return classifyPeer(stdout, exit)
}

// classifyPeer says whether iptables-translate translated a rule: it exited 0
// and printed rules and no comment. For a rule it cannot translate,
// iptables-translate 1.8.9 prints "nft # WORDS" and exits 0. For a rule that
// becomes several (-s A,B), it prints "nft 'add rule …'" and then the others
// as "'add rule …'", without the nft word: those count as translated.
func classifyPeer(stdout []byte, exit int) PeerResult {
	res := PeerResult{Exit: exit}
	if exit != 0 {
		res.Reason = fmt.Sprintf("exit %d", exit)
		return res
	}
	n := 0
	for _, l := range strings.Split(string(stdout), "\n") {
		l = strings.TrimSpace(l)
		if l == "" {
			continue
		}
		if strings.HasPrefix(l, "#") || strings.HasPrefix(l, "nft #") {
			res.Reason = "comment"
			return res
		}
		n++
	}
	if n == 0 {
		res.Reason = "no output"
		return res
	}
	res.Translated = true
	return res
}

// wholeCtmatch runs ctmatch translate on a whole iptables-save file, with
// --keep-going when keepGoing: then it counts the lines left as
// "# untranslated:" comments, and has nft -c check the script when the
// tools say how.
func (t *Tools) wholeCtmatch(ctx context.Context, rs *Ruleset, path string, keepGoing bool) WholeResult {
	args := []string{"translate", "-4", "-f", path}
	if rs.Family == 6 {
		args = []string{"translate", "-6", "-f", path}
		if t.File6 {
			args = []string{"translate", "--file6", path}
		}
	}
	if keepGoing {
		args = append(args[:1], append([]string{"--keep-going"}, args[1:]...)...)
	}
	stdout, _, exit := runCmd(ctx, t.Timeout, t.Ctmatch, args...)
	res := WholeResult{Exit: exit, OK: exit == 0}
	if !keepGoing {
		return res
	}
	res.Whole = exit >= 0 && len(stdout) > 0
	res.chains = chainLines(stdout, false)
	for _, l := range strings.Split(string(stdout), "\n") {
		switch {
		case strings.HasPrefix(l, "# untranslated:"):
			res.Untranslated++
			if n, ok := leftLine(l, path); ok {
				res.Left = append(res.Left, n)
			}
		case strings.HasPrefix(l, "ctmatch-translate-failed"):
			res.Whole = false
		}
	}
	if len(t.NftCheck) > 0 && res.Whole && rs.Format == FormatSave {
		ok := t.nftCheck(ctx, stdout)
		res.NftAccepts = &ok
	}
	return res
}

// leftLine returns the line number of a "# untranslated: PATH:LINE: …"
// comment of translate --keep-going -f PATH.
func leftLine(comment, path string) (int, bool) {
	rest, ok := strings.CutPrefix(comment, "# untranslated: "+path+":")
	if !ok {
		return 0, false
	}
	num, _, ok := strings.Cut(rest, ":")
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(num)
	return n, err == nil
}

// nftCheck reports whether nft -c -f accepts an nft script.
func (t *Tools) nftCheck(ctx context.Context, script []byte) bool {
	f, err := os.CreateTemp("", "corpus-*.nft")
	if err != nil {
		return false
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(script); err != nil || f.Close() != nil {
		return false
	}
	args := append(append([]string(nil), t.NftCheck[1:]...), "-c", "-f", f.Name())
	_, _, exit := runCmd(ctx, t.Timeout, t.NftCheck[0], args...)
	return exit == 0
}

// wholePeer runs iptables-restore-translate on a whole iptables-save file.
// It exits 0 even when it leaves rules untranslated, as "# -t TABLE WORDS"
// lines; the whole file counts as translated only without such a line.
func (t *Tools) wholePeer(ctx context.Context, rs *Ruleset, path string) WholeResult {
	stdout, _, exit := runCmd(ctx, t.Timeout, t.Restore[rs.Family], "-f", path)
	res := classifyWholePeer(stdout, exit)
	res.chains = chainLines(stdout, true)
	return res
}

// chainLines returns the add table, add chain and delete lines of an nft
// script; for iptables-restore-translate's (peer), with the security
// table's chains at priority 150, as iptables-nft makes them.
func chainLines(script []byte, peer bool) []string {
	var out []string
	for _, l := range strings.Split(string(script), "\n") {
		if !strings.HasPrefix(l, "add table ") && !strings.HasPrefix(l, "add chain ") && !strings.HasPrefix(l, "delete ") {
			continue
		}
		if peer && (strings.HasPrefix(l, "add chain ip security ") || strings.HasPrefix(l, "add chain ip6 security ")) {
			l = strings.Replace(l, "priority 0;", "priority 150;", 1)
		}
		out = append(out, l)
	}
	return out
}

// markInFile sets InFile of every rule from its file's translate
// --keep-going.
func markInFile(files []*FileResult) {
	for _, f := range files {
		k := f.WholeKeepGoing
		if k == nil || !k.Whole {
			continue
		}
		for i := range f.Rules {
			f.Rules[i].InFile = !slices.Contains(k.Left, f.Rules[i].Line)
		}
	}
}

// compareChains sets SameChains of each file's ctmatch --keep-going result.
func compareChains(files []*FileResult) {
	for _, f := range files {
		if k, p := f.WholeKeepGoing, f.WholePeer; k != nil && p != nil && k.Whole {
			same := slices.Equal(k.chains, p.chains)
			k.SameChains = &same
		}
	}
}

func classifyWholePeer(stdout []byte, exit int) WholeResult {
	res := WholeResult{Exit: exit}
	for _, l := range strings.Split(string(stdout), "\n") {
		if strings.HasPrefix(l, "# ") && !strings.HasPrefix(l, "# Translated by") && !strings.HasPrefix(l, "# Completed on") {
			res.Untranslated++
		}
	}
	res.OK = exit == 0 && res.Untranslated == 0
	return res
}

// measure runs every rule of every file through both tools on workers
// goroutines, and every iptables-save file whole.
func (t *Tools) measure(ctx context.Context, files []*FileResult, workers int) {
	jobs := make(chan func())
	var wg sync.WaitGroup
	for range max(workers, 1) {
		wg.Go(func() {
			for j := range jobs {
				j()
			}
		})
	}
	for _, f := range files {
		for i := range f.Rules {
			r := &f.Rules[i]
			jobs <- func() { r.Ctmatch = t.translateCtmatch(ctx, f.Family, r.Rule) }
			jobs <- func() { r.Peer = t.translatePeer(ctx, f.Family, r.Rule) }
		}
		// Every file whole through translate --keep-going: which of its
		// rules translate as the file gives them (a rules file's
		// -I CHAIN N is placed among the rules the file put there).
		jobs <- func() { w := t.wholeCtmatch(ctx, f.ruleset, f.path, true); f.WholeKeepGoing = &w }
		if f.Format == FormatSave {
			jobs <- func() { w := t.wholeCtmatch(ctx, f.ruleset, f.path, false); f.WholeCtmatch = &w }
			jobs <- func() { w := t.wholePeer(ctx, f.ruleset, f.path); f.WholePeer = &w }
		}
	}
	close(jobs)
	wg.Wait()
}
