package e2e

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/internal/ktest"
	"github.com/ctmatch/ctmatch/internal/lab"
	"github.com/ctmatch/ctmatch/parse"
)

// knownWrong is one case of compile/testdata/known-wrong.txt (design.md's
// "Known wrong translations by iptables-translate"), with what the file
// records above it.
type knownWrong struct {
	name  string
	argv  []string // the iptables words, "-A INPUT …", as given to iptables-translate
	words string   // the match alone, as a lab case holds it
	// printed is what the file says iptables-translate prints, loads what
	// it says nft 1.0.6 does with that: "loads", or nft's error. The note
	// after "loads" or after nft's error, in parentheses or after a
	// semicolon ("loads (the destination test is dropped)"), is note.
	printed, loads, note string
	file                 string // the file it is read from
}

const (
	knownWrongFile = "../compile/testdata/known-wrong.txt"
	// knownWrongMatchesFile holds the other matches' known wrong
	// translations, in the same format: all of them whole rules.
	knownWrongMatchesFile = "../compile/testdata/known-wrong-matches.txt"
)

// splitLoads splits what a known-wrong file says nft 1.0.6 does into
// "loads" or nft's error, and the note after it.
func splitLoads(s string) (loads, note string) {
	if rest, ok := strings.CutPrefix(s, "loads"); ok && (rest == "" || rest[0] == ' ' || rest[0] == ';') {
		return "loads", strings.TrimSpace(strings.TrimLeft(rest, ";"))
	}
	if i := strings.Index(s, " ("); i >= 0 {
		return s[:i], s[i+1:]
	}
	return s, ""
}

// readKnownWrong reads compile/testdata/known-wrong.txt.
func readKnownWrong(t *testing.T) []knownWrong {
	t.Helper()
	return readKnownWrongFile(t, knownWrongFile)
}

// readKnownWrongFile reads a file of known wrong translations in
// known-wrong.txt's format.
func readKnownWrongFile(t *testing.T, knownWrongFile string) []knownWrong {
	t.Helper()
	f, err := os.Open(knownWrongFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []knownWrong
	var printed, loads string
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "# iptables-translate: "):
			printed = strings.TrimPrefix(line, "# iptables-translate: ")
		case strings.HasPrefix(line, "#   nft 1.0.6: "):
			loads = strings.TrimPrefix(line, "#   nft 1.0.6: ")
		case line == "" || strings.HasPrefix(line, "#"):
		default:
			name, words, ok := strings.Cut(line, " | ")
			match, ok2 := strings.CutPrefix(words, "-A INPUT ")
			if !ok || !ok2 || printed == "" || loads == "" {
				t.Fatalf("%s:%d: want NAME | -A INPUT WORDS after the two comment lines, found %q", knownWrongFile, n, line)
			}
			l, note := splitLoads(loads)
			out = append(out, knownWrong{name: name, argv: strings.Fields(words), words: match, printed: printed, loads: l, note: note, file: knownWrongFile})
			printed, loads = "", ""
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// conntrackKnownWrong are the cases of known-wrong.txt that are conntrack
// matches alone: TestLabIptablesTranslate's. The whole rules (-p, ports,
// icmp types) are TestLabRulesIptablesTranslate's.
func conntrackKnownWrong(t *testing.T) []knownWrong {
	t.Helper()
	var out []knownWrong
	for _, kw := range readKnownWrong(t) {
		if !wholeWords(t, kw.words, lab.IPv4) {
			out = append(out, kw)
		}
	}
	return out
}

// wholeWords reports whether words hold anything besides conntrack and
// state matches.
func wholeWords(t *testing.T, words string, f lab.Family) bool {
	t.Helper()
	r, err := parseCase(lab.Case{Words: words, Family: f})
	if err != nil {
		t.Fatalf("%q: %v", words, err)
	}
	return r.Src != nil || r.Dst != nil || r.InIface != nil || r.OutIface != nil || r.Protocol != nil ||
		len(conntrackMatches(r)) != len(r.Matches)
}

var translateInput = regexp.MustCompile(`^nft 'add rule ip filter INPUT (.*)'$`)

// The lab's traffic for the known wrong translations: the standard
// classes, whose errors at 0.5 s left (lab.HalfSecondExpire) sit inside the
// second that iptables-translate's `ct expiration 0` turns into an exact
// millisecond; the stray datagram, whose addresses split the two non-CIDR
// masks of the file; and errors that see 20.5, 28.5 and 59.5 s left, inside
// the seconds that its other expiration values turn into an exact
// millisecond (28) or a bound without its 999 ms (10-20, 0-59).
var translateExpire = lab.ExpireSet{Name: "expire-translate", Timeouts: []int{21, 29, 60}, FirstPort: 40301}

func translatePhases() []lab.Phase {
	ps := append(lab.Scenario(lab.IPv4), lab.Phase{Name: "stray4", Run: func(l *lab.Lab) (lab.Class, error) { return l.Stray(lab.IPv4) }})
	return append(ps, lab.ExpirePhases(translateExpire, lab.IPv4)...)
}

// knownWrongDivergences says, for each case of known-wrong.txt whose
// iptables-translate text nft loads, where that text counts differently
// from xt_conntrack on the lab's traffic (translatePhases): each class, and
// the points where it does (r the router's forward hook, s the server's
// input hook). TestLabIptablesTranslate checks it exactly, but for the TCP
// class of a case whose expire range the lab's TCP packets race
// (lab.ExpireRaces), which may or may not diverge on a run. For a case that
// reads the remaining time it lists, and the test compares, only the
// classes and points where that time is the same at any uptime
// (lab.Settled): on a flow's first packet it depends on the host's uptime.
var knownWrongDivergences = map[string]string{
	"snat-dnat":            "dnat4:r",
	"new-dnat":             "tcp4:rs udp4:rs echo4:rs related-out4:rs related-in4:r dnat4:s snat4:rs other-proto4:rs expire-flows4:rs expire-half-flows4:rs stray4:r expire-translate-flows4:rs",
	"neg-snat":             "tcp4:rs udp4:rs echo4:rs related-out4:rs related-in4:rs invalid4:rs untracked4:rs dnat4:rs snat4:s other-proto4:rs orphan-error4:rs expire-flows4:rs expire4:rs expire-half-flows4:rs expire-half4:rs stray4:r expire-translate-flows4:rs expire-translate4:rs",
	"expire-single":        "expire-translate4:rs",
	"expire-single-neg":    "expire-translate4:rs",
	"expire-range":         "expire-translate4:rs",
	"expire-range-neg":     "expire-translate4:rs",
	"expire-open-neg":      "expire-translate4:rs",
	"expire-zero":          "expire-half4:rs",
	"mask-noncidr":         "stray4:r",
	"mask-noncidr-neg":     "stray4:r",
	"invalid-udp":          "invalid4:rs orphan-error4:rs",
	"neg-established-addr": "invalid4:rs untracked4:rs orphan-error4:rs",
}

// divergenceCount returns the class comparisons and the (case, class)
// pairs in which knownWrongDivergences says iptables-translate diverges.
func divergenceCount() (comparisons, pairs int) {
	for _, s := range knownWrongDivergences {
		for _, f := range strings.Fields(s) {
			_, pts, _ := strings.Cut(f, ":")
			comparisons += len(pts)
			pairs++
		}
	}
	return comparisons, pairs
}

// divergenceString writes where a case diverged in the form of
// knownWrongDivergences, the classes in the order they ran, leaving out
// the TCP class when skipTCP is set, and, for a case that reads the
// remaining time, the classes and points that are not lab.Settled.
func divergenceString(rep *lab.Report, name, words string, skipTCP bool) string {
	var out []string
	for _, cl := range rep.Classes {
		if skipTCP && cl.Name == "tcp4" {
			continue
		}
		pts := ""
		for q, pt := range lab.Points {
			if lab.ReadsExpire(words) && !lab.Settled(cl, q) {
				continue
			}
			if slices.ContainsFunc(rep.Divergences, func(d lab.Divergence) bool {
				return d.Case == name && d.Class == cl.Name && d.Point == pt.Name
			}) {
				pts += pt.Name[:1]
			}
		}
		if pts != "" {
			out = append(out, cl.Name+":"+pts)
		}
	}
	return strings.Join(out, " ")
}

// textPieces is a translation given as nft text.
func textPieces(texts []string) lab.Translation {
	return func(lab.Case, expr.Family) ([]lab.Piece, error) {
		var ps []lab.Piece
		for _, s := range texts {
			ps = append(ps, lab.Piece{Text: s})
		}
		return ps, nil
	}
}

// expireRaces reports whether a case has a --ctexpire range that the lab
// cannot measure without racing the clock or another packet
// (lab.ExpireRaces).
func expireRaces(c lab.Case) bool {
	r, err := parseCase(c)
	if err != nil {
		return false
	}
	for _, ct := range conntrackMatches(r) {
		if o := ct.Option(parse.OptExpire); o != nil && lab.ExpireRaces(o.Lo, o.Hi) {
			return true
		}
	}
	return false
}

// iptables-translate on the lab: every case of known-wrong.txt that is conntrack matches alone is run
// through the installed iptables-translate and its nft text loaded into the
// lab's native table, at the hooks of the xt rule. Each case has one of two
// outcomes, the one the file records: nft refuses the text (the test
// checks nft's error), or it loads and then counts packets of some class
// differently from xt_conntrack. None agrees with xt on every class.
// ctmatch's own translation of the same matches runs beside it and agrees
// everywhere.
func TestLabIptablesTranslate(t *testing.T) {
	if _, err := exec.LookPath("iptables-translate"); err != nil {
		ktest.Skip(t, "iptables-translate is not installed (make test installs it when run as root)")
	}
	kws := conntrackKnownWrong(t)
	l := lab.New(t)
	var cases []lab.Case
	refused := map[string]string{}
	for _, kw := range kws {
		out, err := l.Run(l.Router, "", "iptables-translate", kw.argv...)
		if err != nil {
			t.Fatalf("%s: iptables-translate %s: %v", kw.name, strings.Join(kw.argv, " "), err)
		}
		printed := strings.TrimSpace(string(out))
		if printed != kw.printed {
			t.Errorf("%s: iptables-translate prints %q, %s records %q", kw.name, printed, knownWrongFile, kw.printed)
		}
		var texts []string
		for _, line := range strings.Split(printed, "\n") {
			m := translateInput.FindStringSubmatch(line)
			if m == nil {
				t.Fatalf("%s: unexpected iptables-translate output %q", kw.name, line)
			}
			texts = append(texts, m[1])
		}
		var complaints []string
		for _, pt := range lab.Points {
			var complaint string
			for _, s := range texts {
				err := l.TryText(pt, expr.FamilyIP, s)
				var re *lab.RefusedError
				switch {
				case errors.As(err, &re):
					complaint = re.Complaint()
				case err != nil:
					t.Fatalf("%s: %v", kw.name, err)
				}
			}
			complaints = append(complaints, complaint)
		}
		if complaints[0] != complaints[1] {
			t.Errorf("%s: nft says %q at the router's forward hook and %q at the server's input hook", kw.name, complaints[0], complaints[1])
		}
		switch {
		case complaints[0] != "":
			refused[kw.name] = complaints[0]
			if kw.loads != complaints[0] {
				t.Errorf("%s: nft refuses %q with %q; %s records %q", kw.name, texts, complaints[0], knownWrongFile, kw.loads)
			}
		default:
			if kw.loads != "loads" && !laterParses(t, kw.loads) {
				t.Errorf("%s: nft loads %q; %s records %q", kw.name, texts, knownWrongFile, kw.loads)
			}
			cases = append(cases, lab.Case{Name: "iptables-translate " + kw.name, Words: kw.words, Family: lab.IPv4, Translation: textPieces(texts)})
		}
	}
	loaded := len(cases)
	var raced []string
	for _, kw := range kws {
		c := lab.Case{Name: "ctmatch " + kw.name, Words: kw.words, Family: lab.IPv4}
		if expireRaces(c) {
			// The lab cannot measure these ranges on its TCP packets
			// without racing the clock or another packet (see
			// lab.ExpireRaces): iptables-translate's text runs, ctmatch's
			// control does not.
			raced = append(raced, kw.name)
			continue
		}
		cases = append(cases, c)
	}
	rep, err := l.Differential(expr.FamilyIP, cases, translatePhases())
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	rep.Format(&b)
	t.Log("\n" + b.String())

	comparisons := loaded * len(rep.Classes) * len(lab.Points)
	diverged, pairs := 0, map[string]bool{}
	for _, d := range rep.Divergences {
		if strings.HasPrefix(d.Case, "iptables-translate ") {
			diverged++
			pairs[d.Case+"/"+d.Class] = true
		} else {
			t.Errorf("ctmatch's own translation diverged: %s", d)
		}
	}
	for _, o := range rep.Overlaps {
		t.Errorf("overlap: %s", o)
	}
	// Some controls match nothing by their meaning (--ctstatus NONE, an
	// expiry beyond 32-bit milliseconds, a port the lab never uses): their
	// agreement shows no split, so they are named here; the lab's own case
	// lists cover those options with traffic that splits.
	for _, u := range rep.Uncovered {
		if !strings.HasPrefix(u, "iptables-translate ") {
			t.Logf("control without a split: %s", u)
		}
	}
	var lines []string
	agree := 0
	for _, kw := range kws {
		name := "iptables-translate " + kw.name
		want, listed := knownWrongDivergences[kw.name]
		switch {
		case refused[kw.name] != "":
			lines = append(lines, fmt.Sprintf("  %-22s refused by nft: %s", kw.name, refused[kw.name]))
			if listed {
				t.Errorf("%s: nft refuses it, but knownWrongDivergences lists it", kw.name)
			}
		case rep.Diverged(name):
			got := divergenceString(rep, name, kw.words, false)
			lines = append(lines, fmt.Sprintf("  %-22s diverges from xt: %s", kw.name, got))
			races := expireRaces(lab.Case{Words: kw.words, Family: lab.IPv4})
			if got != want && !(races && divergenceString(rep, name, kw.words, true) == want) {
				t.Errorf("%s: diverges at %q, want %q", kw.name, got, want)
			}
		case laterParses(t, kw.loads):
			// The text was wrong only for nft 1.0.6, which cannot parse
			// it: a later nft loads it, and it agrees with xt.
			lines = append(lines, fmt.Sprintf("  %-22s loads with nft %v and agrees with xt (nft 1.0.6: %s)", kw.name, nftVersion(t), kw.loads))
			agree++
		default:
			t.Errorf("%s (%s): iptables-translate's %q loads and agrees with xt on every class of the lab", kw.name, kw.words, kw.printed)
		}
	}
	if n := len(knownWrongDivergences); n != loaded-agree {
		t.Errorf("knownWrongDivergences lists %d cases, nft loads %d that diverge", n, loaded-agree)
	}
	t.Logf("iptables-translate on the lab: %d cases, %d refused by nft, %d load and diverge from xt in %d of %d class comparisons (%d (case, class) pairs of %d); %d classes; ctmatch's controls: %d, %d divergences (left out, their ranges racing in the lab: %s); in %v\n%s",
		len(kws), len(refused), loaded-agree, diverged, comparisons, len(pairs), loaded*len(rep.Classes), len(rep.Classes),
		len(cases)-loaded, len(rep.Divergences)-diverged, strings.Join(raced, ", "), rep.Elapsed.Round(time.Millisecond), strings.Join(lines, "\n"))
}

// laterParses reports whether record, what nft 1.0.6 does with a known
// wrong text, is its refusal to parse a ct port match without a protocol
// before it, and the nft the tests run is 1.0.7 or later, which parses it.
func laterParses(t *testing.T, record string) bool {
	return strings.Contains(record, "Can't parse symbolic invalid expressions") && nftAtLeast(t, 1, 0, 7)
}
