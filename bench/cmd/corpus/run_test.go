package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// fakeTools are shell scripts standing in for ctmatch and the iptables
// tools, so that the whole measurement runs without them: ctmatch refuses
// REJECT (exit 1, pointing at it), BOGUS (exit 2), a counter prefix and any
// file; the -translate tools leave -m recent as a comment.
var fakeTools = map[string]string{
	"ctmatch": `case "$1" in version) echo "ctmatch fake"; exit 0;; esac
for a; do last=$a; done
case " $* " in *" --keep-going "*) printf 'add table ip filter\n# untranslated: %s:4: -A INPUT -p tcp -j REJECT\n# untranslated: %s:5: -A INPUT -m recent --set\n' "$last" "$last"; exit 1;; esac
case " $* " in *" -f "*|*" --file6 "*) echo "no files" >&2; exit 1;; esac
case "$last" in
"["*) exit 2;;
*REJECT*) col=$(awk -v s="$last" 'BEGIN { print index(s, "REJECT") }')
	printf '{"column":%d,"word":"REJECT","message":"target REJECT is not supported","kind":"unsupported"}\n' "$col" >&2; exit 1;;
*BOGUS*) col=$(awk -v s="$last" 'BEGIN { print index(s, "BOGUS") }')
	printf '{"column":%d,"word":"BOGUS","message":"bogus","kind":"invalid"}\n' "$col" >&2; exit 2;;
esac
echo "nft 'add rule ip filter X counter'"`,
	"iptables-translate": `case "$1" in --version) echo "iptables-translate fake"; exit 0;; esac
case " $* " in *" recent "*) echo "nft # $*";; *) echo "nft 'add rule ip filter X counter'";; esac`,
	"iptables-restore-translate": `grep -q recent "$2" && echo "# -t filter -A X -m recent" ; exit 0`,
}

func installFakes(t *testing.T) string {
	dir := t.TempDir()
	for name, body := range fakeTools {
		for _, n := range []string{name, strings.Replace(name, "iptables", "ip6tables", 1)} {
			if err := os.WriteFile(filepath.Join(dir, n), []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	return dir
}

func writeCorpus(t *testing.T) string {
	dir := t.TempDir()
	files := map[string]string{
		"a.rules": "*filter\n:INPUT ACCEPT [0:0]\n" +
			"[3:4] -A INPUT -m conntrack --ctstate NEW -j ACCEPT\n" +
			"-A INPUT -p tcp -j REJECT\n" +
			"-A INPUT -m recent --set\n" +
			"COMMIT\n",
		"b6.rules": "-A INPUT -m state --state INVALID -j REJECT\n" +
			"-A INPUT BOGUS\n",
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func measureFake(t *testing.T, cfg config) (*Report, error) {
	var out bytes.Buffer
	cfg.ctmatch, cfg.workers, cfg.timeout, cfg.json = "ctmatch", 2, 10*time.Second, true
	err := run(t.Context(), &out, cfg)
	var rep Report
	if jerr := json.Unmarshal(out.Bytes(), &rep); jerr != nil {
		t.Fatalf("%v in %s", jerr, out.String())
	}
	return &rep, err
}

func TestRunFake(t *testing.T) {
	installFakes(t)
	dir := writeCorpus(t)
	rep, err := measureFake(t, config{dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	want := Totals{
		Counts: Counts{Rules: 5, Counters: 1, Conntrack: 2, Ctmatch: 2, Peer: 4, CtmatchInvalid: 1,
			CtmatchInFile: 3, ConntrackCtmatchInFile: 2, CtmatchEither: 4, ConntrackCtmatchEither: 2,
			ConntrackCtmatch: 1, ConntrackPeer: 2},
		Files: 2, SaveFiles: 1, WholePeer: 0, WholeKeepGoing: 1, KeepGoingLinesLeft: 2,
	}
	if diff := cmp.Diff(want, rep.Totals); diff != "" {
		t.Errorf("totals (-want +got):\n%s", diff)
	}
	wantBlockers := []BlockerRow{
		{Blocker: "-j REJECT", Rules: 2, Conntrack: 1, Example: "target REJECT is not supported"},
		{Blocker: "BOGUS", Rules: 1, Invalid: 1, Example: "bogus"},
	}
	if diff := cmp.Diff(wantBlockers, rep.Blockers); diff != "" {
		t.Errorf("blockers (-want +got):\n%s", diff)
	}
	if w := rep.Files[0].WholePeer; w == nil || w.OK || w.Untranslated != 1 {
		t.Errorf("whole file through the peer: %+v, want 1 rule left untranslated", w)
	}
	if w := rep.Files[0].WholeCtmatch; w == nil || w.OK || w.Exit != 1 {
		t.Errorf("whole file through ctmatch: %+v, want exit 1", w)
	}
	if w := rep.Files[0].WholeKeepGoing; w == nil || !w.Whole || w.Untranslated != 2 || w.NftAccepts != nil {
		t.Errorf("whole file through ctmatch --keep-going: %+v, want a whole script with 2 lines left, not checked", w)
	}
	// The fake peer adds no table: other chains than ctmatch's.
	if w := rep.Files[0].WholeKeepGoing; w == nil || w.SameChains == nil || *w.SameChains {
		t.Errorf("whole file through ctmatch --keep-going: same chains as the peer %v, want false", w.SameChains)
	}
	if rep.Files[1].WholeCtmatch != nil {
		t.Errorf("a file of one rule per line went through ctmatch whole")
	}
	// The fake ctmatch reads no counter prefix: it got the rule without it.
	if rep.Versions.CtmatchCounters || rep.Files[0].Rules[0].Ctmatch.Status != statusTranslated {
		t.Errorf("the rule with counters: %+v, versions %+v", rep.Files[0].Rules[0], rep.Versions)
	}

	// A baseline in which the BOGUS rule translated: it is lost now.
	base := filepath.Join(t.TempDir(), "base.json")
	rep.Files[1].Rules[1].Ctmatch.Status = statusTranslated
	b, _ := json.Marshal(rep)
	if err := os.WriteFile(base, b, 0o644); err != nil {
		t.Fatal(err)
	}
	rep, err = measureFake(t, config{dir: dir, baseline: base})
	if !errors.Is(err, errRegression) {
		t.Errorf("run with a baseline where a lost rule translated: %v, want %v", err, errRegression)
	}
	if c := rep.Comparison; c == nil || len(c.Lost) != 1 || c.Lost[0].File != "b6.rules" || c.Lost[0].Line != 2 {
		t.Errorf("comparison: %+v, want b6.rules:2 lost", c)
	}
}
