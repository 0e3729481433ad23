package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
)

// Comparison says what changed for ctmatch since an earlier -json report.
type Comparison struct {
	Baseline string `json:"baseline"` // the earlier report's file
	Date     string `json:"baseline_date"`
	Rev      string `json:"baseline_rev,omitempty"`
	Before   int    `json:"baseline_translated"`
	// Lost are the rules ctmatch translated then and does not now, or that
	// it refuses as invalid now and did not then; Gained are the rules it
	// translates now and did not then.
	Lost   []Change `json:"lost"`
	Gained []Change `json:"gained"`
	// Unmatched counts the rules of this run that the earlier report does
	// not hold (the corpus changed).
	Unmatched int `json:"unmatched,omitempty"`
}

// Change is one rule whose outcome changed.
type Change struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Before  string `json:"before"`
	After   string `json:"after"`
	Blocker string `json:"blocker,omitempty"` // what blocks it now
	Message string `json:"message,omitempty"`
}

func readReport(path string) (*Report, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var rep Report
	if err := json.Unmarshal(b, &rep); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &rep, nil
}

// compare matches the rules of two reports by file and rule text (the n-th
// rule of a text in a file with the n-th), so that lines moving in a file do
// not count as changes.
func compare(name string, old, cur *Report) *Comparison {
	c := &Comparison{Baseline: name, Date: old.Date, Rev: old.Versions.CtmatchRev, Before: old.Totals.Ctmatch}
	before := map[string][]CtmatchResult{}
	for _, f := range old.Files {
		for _, r := range f.Rules {
			k := f.Name + "\x00" + r.Text
			before[k] = append(before[k], r.Ctmatch)
		}
	}
	seen := map[string]int{}
	for _, f := range cur.Files {
		for _, r := range f.Rules {
			k := f.Name + "\x00" + r.Text
			n := seen[k]
			seen[k]++
			if n >= len(before[k]) {
				c.Unmatched++
				continue
			}
			was, now := before[k][n], r.Ctmatch
			ch := Change{File: f.Name, Line: r.Line, Before: was.Status, After: now.Status, Blocker: now.Blocker, Message: now.Message}
			switch {
			case was.Status == statusTranslated && now.Status != statusTranslated,
				was.Status != statusInvalid && now.Status == statusInvalid:
				c.Lost = append(c.Lost, ch)
			case was.Status != statusTranslated && now.Status == statusTranslated:
				c.Gained = append(c.Gained, ch)
			}
		}
	}
	return c
}

func writeComparison(b *strings.Builder, c *Comparison, now int) {
	rev := ""
	if c.Rev != "" {
		rev = ", ctmatch built from " + c.Rev
	}
	fmt.Fprintf(b, "\nCompared with %s (%s%s): ctmatch translated %d rules then, %d now; %d newly translated, %d no longer translated or now refused as invalid",
		c.Baseline, c.Date, rev, c.Before, now, len(c.Gained), len(c.Lost))
	if c.Unmatched > 0 {
		fmt.Fprintf(b, "; %d rules are not in the earlier report", c.Unmatched)
	}
	b.WriteString(".\n")
	if len(c.Lost) > 0 {
		b.WriteString("\nNo longer translated, or now refused as invalid:\n\n")
		for _, l := range c.Lost {
			fmt.Fprintf(b, "- %s:%d: %s → %s (`%s`): %s\n", l.File, l.Line, l.Before, l.After, cell(l.Blocker), cell(l.Message))
		}
	}
}
