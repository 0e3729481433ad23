package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

// Counts are the figures of one file, or of all of them.
type Counts struct {
	Rules     int `json:"rules"`
	Counters  int `json:"counter_prefixes"`
	Conntrack int `json:"conntrack_rules"`
	// Rules translated by ctmatch and by iptables-translate.
	Ctmatch int `json:"ctmatch_translated"`
	Peer    int `json:"peer_translated"`
	// Rules ctmatch refused as invalid (exit 2: a defect, since every
	// rule of the corpus is valid iptables) or failed on (a crash, a
	// timeout).
	CtmatchInvalid int `json:"ctmatch_exit2"`
	CtmatchFailed  int `json:"ctmatch_failed"`
	// Conntrack rules translated by each tool.
	ConntrackCtmatch int `json:"conntrack_ctmatch_translated"`
	ConntrackPeer    int `json:"conntrack_peer_translated"`
	// Rules, and conntrack rules, ctmatch translated as their files give
	// them (RuleResult.InFile).
	CtmatchInFile          int `json:"ctmatch_translated_in_file"`
	ConntrackCtmatchInFile int `json:"conntrack_ctmatch_translated_in_file"`
	// Rules, and conntrack rules, ctmatch translated one way or the
	// other: alone, or in its file (a file that another file completes,
	// as ufw's, refuses a jump to a chain it does not declare, as
	// iptables-restore does; a rule alone cannot be placed by -I CHAIN N).
	CtmatchEither          int `json:"ctmatch_translated_either"`
	ConntrackCtmatchEither int `json:"conntrack_ctmatch_translated_either"`
}

func (c *Counts) add(r RuleResult) {
	c.Rules++
	if r.Counters != "" {
		c.Counters++
	}
	if r.Conntrack {
		c.Conntrack++
	}
	if r.Ctmatch.Status == statusTranslated {
		c.Ctmatch++
		if r.Conntrack {
			c.ConntrackCtmatch++
		}
	}
	if r.InFile {
		c.CtmatchInFile++
		if r.Conntrack {
			c.ConntrackCtmatchInFile++
		}
	}
	if r.InFile || r.Ctmatch.Status == statusTranslated {
		c.CtmatchEither++
		if r.Conntrack {
			c.ConntrackCtmatchEither++
		}
	}
	if r.Peer.Translated {
		c.Peer++
		if r.Conntrack {
			c.ConntrackPeer++
		}
	}
	switch r.Ctmatch.Status {
	case statusInvalid:
		c.CtmatchInvalid++
	case statusFailed:
		c.CtmatchFailed++
	}
}

// Totals are the corpus' figures.
type Totals struct {
	Counts
	Files     int `json:"files"`
	SaveFiles int `json:"iptables_save_files"`
	// iptables-save files that each tool translated whole.
	WholeCtmatch int `json:"whole_ctmatch"`
	WholePeer    int `json:"whole_peer"`
	// iptables-save files that ctmatch translate --keep-going made into
	// whole scripts (every line translated or left as a comment), and of
	// those the scripts nft -c -f accepted (when checked), and the lines
	// left as comments.
	WholeKeepGoing       int  `json:"whole_ctmatch_keep_going"`
	KeepGoingNftAccepted *int `json:"keep_going_nft_accepted,omitempty"`
	KeepGoingLinesLeft   int  `json:"keep_going_lines_left"`
	// Of those, the scripts whose tables and chains are
	// iptables-restore-translate's (see WholeResult.SameChains).
	KeepGoingSameChains int `json:"keep_going_same_chains"`
}

func fileCounts(f *FileResult) Counts {
	var c Counts
	for _, r := range f.Rules {
		c.add(r)
	}
	return c
}

func totals(files []*FileResult) Totals {
	var t Totals
	for _, f := range files {
		t.Files++
		for _, r := range f.Rules {
			t.add(r)
		}
		if f.Format == FormatSave {
			t.SaveFiles++
			if f.WholeCtmatch != nil && f.WholeCtmatch.OK {
				t.WholeCtmatch++
			}
			if f.WholePeer != nil && f.WholePeer.OK {
				t.WholePeer++
			}
			if k := f.WholeKeepGoing; k != nil && k.Whole {
				t.WholeKeepGoing++
				t.KeepGoingLinesLeft += k.Untranslated
				if k.SameChains != nil && *k.SameChains {
					t.KeepGoingSameChains++
				}
				if k.NftAccepts != nil {
					if t.KeepGoingNftAccepted == nil {
						t.KeepGoingNftAccepted = new(int)
					}
					if *k.NftAccepts {
						*t.KeepGoingNftAccepted++
					}
				}
			}
		}
	}
	return t
}

// BlockerRow is one word that keeps ctmatch from translating rules: the rules
// whose first error points at it.
type BlockerRow struct {
	Blocker   string `json:"blocker"`
	Rules     int    `json:"rules"`
	Conntrack int    `json:"conntrack_rules"`
	Invalid   int    `json:"exit2"`
	Example   string `json:"example"`
}

// blockers groups the rules ctmatch did not translate by their blocker, most
// rules first.
func blockers(files []*FileResult) []BlockerRow {
	rows := map[string]*BlockerRow{}
	for _, f := range files {
		for _, r := range f.Rules {
			if r.Ctmatch.Status == statusTranslated {
				continue
			}
			b := rows[r.Ctmatch.Blocker]
			if b == nil {
				b = &BlockerRow{Blocker: r.Ctmatch.Blocker, Example: r.Ctmatch.Message}
				rows[r.Ctmatch.Blocker] = b
			}
			b.Rules++
			if r.Conntrack {
				b.Conntrack++
			}
			if r.Ctmatch.Status == statusInvalid {
				b.Invalid++
			}
		}
	}
	list := make([]BlockerRow, 0, len(rows))
	for _, b := range rows {
		list = append(list, *b)
	}
	sort.Slice(list, func(i, j int) bool {
		if list[i].Rules != list[j].Rules {
			return list[i].Rules > list[j].Rules
		}
		return list[i].Blocker < list[j].Blocker
	})
	return list
}

func percent(n, of int) string {
	if of == 0 {
		return "–"
	}
	return fmt.Sprintf("%.1f%%", 100*float64(n)/float64(of))
}

// keepGoing describes ctmatch translate --keep-going of a whole file.
func keepGoing(w *WholeResult) string {
	switch {
	case w == nil:
		return "–"
	case !w.Whole:
		return fmt.Sprintf("not whole (exit %d)", w.Exit)
	}
	s := fmt.Sprintf("%d left", w.Untranslated)
	if w.SameChains != nil && !*w.SameChains {
		s += ", other chains than the peer's"
	}
	if w.NftAccepts != nil {
		if *w.NftAccepts {
			s += ", nft -c ok"
		} else {
			s += ", nft -c refuses"
		}
	}
	return s
}

func yesNo(w *WholeResult) string {
	switch {
	case w == nil:
		return "–"
	case w.OK:
		return "yes"
	case w.Exit != 0:
		return fmt.Sprintf("no (exit %d)", w.Exit)
	default:
		return fmt.Sprintf("no (%d left as comments)", w.Untranslated)
	}
}

// cell escapes text for a Markdown table cell.
func cell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}

func writeMarkdown(w io.Writer, rep *Report) error {
	var b strings.Builder
	ct := rep.Versions.Ctmatch
	if rep.Versions.CtmatchRev != "" {
		ct += " built from " + rep.Versions.CtmatchRev
	}
	fmt.Fprintf(&b, "Measured %s with %s, %s and %s.\n\n", rep.Date, ct, rep.Versions.Translate, rep.Versions.Translate6)
	b.WriteString("| file | family | format | rules | conntrack rules | ctmatch translated, one rule at a time | in its file | iptables-translate translated | ctmatch exit 2 | whole file: ctmatch / peer | ctmatch --keep-going |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, f := range rep.Files {
		c := fileCounts(f)
		fmt.Fprintf(&b, "| %s | ipv%d | %s | %d | %d | %d | %d | %d | %d | %s / %s | %s |\n",
			f.Name, f.Family, f.Format, c.Rules, c.Conntrack, c.Ctmatch, c.CtmatchInFile, c.Peer, c.CtmatchInvalid,
			yesNo(f.WholeCtmatch), yesNo(f.WholePeer), keepGoing(f.WholeKeepGoing))
	}
	t := rep.Totals
	fmt.Fprintf(&b, "| **total: %d files** | | %d iptables-save | %d | %d | %d (%s) | %d (%s) | %d (%s) | %d | %d / %d of %d | %d whole, %d lines left |\n\n",
		t.Files, t.SaveFiles, t.Rules, t.Conntrack, t.Ctmatch, percent(t.Ctmatch, t.Rules), t.CtmatchInFile, percent(t.CtmatchInFile, t.Rules), t.Peer, percent(t.Peer, t.Rules),
		t.CtmatchInvalid, t.WholeCtmatch, t.WholePeer, t.SaveFiles, t.WholeKeepGoing, t.KeepGoingLinesLeft)
	fmt.Fprintf(&b, "Whole iptables-save files: ctmatch translate -f translated %d of %d (iptables-restore-translate %d); with --keep-going, %d of %d became whole scripts with %d lines left as comments",
		t.WholeCtmatch, t.SaveFiles, t.WholePeer, t.WholeKeepGoing, t.SaveFiles, t.KeepGoingLinesLeft)
	if t.KeepGoingNftAccepted != nil {
		fmt.Fprintf(&b, ", and nft -c -f accepted %d of those scripts", *t.KeepGoingNftAccepted)
	}
	fmt.Fprintf(&b, "; %d of them add the tables and chains iptables-restore-translate adds (the same lines, with the security table's chains at priority 150, as iptables-nft makes them, where iptables-restore-translate says 0).\n\n", t.KeepGoingSameChains)
	given := "without it (this ctmatch does not read it)"
	if rep.Versions.CtmatchCounters {
		given = "with it"
	}
	fmt.Fprintf(&b, "Rules: %d (%d with a [packets:bytes] prefix: ctmatch got them %s, iptables-translate without it); ctmatch translated %d (%s), iptables-translate %d (%s).\n\n",
		t.Rules, t.Counters, given, t.Ctmatch, percent(t.Ctmatch, t.Rules), t.Peer, percent(t.Peer, t.Rules))
	fmt.Fprintf(&b, "Conntrack rules (-m conntrack or -m state): %d; ctmatch translated %d (%s), iptables-translate %d (%s).\n\n",
		t.Conntrack, t.ConntrackCtmatch, percent(t.ConntrackCtmatch, t.Conntrack), t.ConntrackPeer, percent(t.ConntrackPeer, t.Conntrack))
	fmt.Fprintf(&b, "As their files give them (each file whole through ctmatch translate --keep-going -f, every rule not left as a comment; a rules file's -I CHAIN N placed among the rules the file put there): %d rules (%s), %d conntrack rules (%s).\n\n",
		t.CtmatchInFile, percent(t.CtmatchInFile, t.Rules), t.ConntrackCtmatchInFile, percent(t.ConntrackCtmatchInFile, t.Conntrack))
	fmt.Fprintf(&b, "One way or the other (alone, or in its file; a file that another completes, as ufw's, refuses a jump to a chain it does not declare, as iptables-restore does, and a rule alone cannot be placed by -I CHAIN N): %d rules (%s), %d conntrack rules (%s).\n\n",
		t.CtmatchEither, percent(t.CtmatchEither, t.Rules), t.ConntrackCtmatchEither, percent(t.ConntrackCtmatchEither, t.Conntrack))
	fmt.Fprintf(&b, "ctmatch exit 2 (refused as invalid): %d rules; ctmatch failures (crash, timeout): %d.\n\n", t.CtmatchInvalid, t.CtmatchFailed)
	b.WriteString("What still blocks rules (the word ctmatch's first error points at):\n\n")
	b.WriteString("| blocker | rules | conntrack rules | exit 2 | example message |\n|---|---|---|---|---|\n")
	for _, r := range rep.Blockers {
		fmt.Fprintf(&b, "| `%s` | %d | %d | %d | %s |\n", cell(r.Blocker), r.Rules, r.Conntrack, r.Invalid, cell(r.Example))
	}
	if t.CtmatchInvalid+t.CtmatchFailed > 0 {
		b.WriteString("\nRules ctmatch refused as invalid or failed on:\n\n")
		for _, f := range rep.Files {
			for _, r := range f.Rules {
				if r.Ctmatch.Status == statusInvalid || r.Ctmatch.Status == statusFailed {
					fmt.Fprintf(&b, "- %s:%d (exit %d, `%s`): %s\n", f.Name, r.Line, r.Ctmatch.Exit, cell(r.Ctmatch.Word), cell(r.Ctmatch.Message))
				}
			}
		}
	}
	if rep.Comparison != nil {
		writeComparison(&b, rep.Comparison, t.Ctmatch)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
