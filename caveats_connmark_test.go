package ctmatch_test

import (
	"io"
	"strings"
	"testing"

	"github.com/ctmatch/ctmatch"
	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/parse"
	"github.com/ctmatch/ctmatch/script"
)

// A CONNMARK save or restore whose masks combine both marks carries the
// caveat that its text needs nft 1.1.2, at the operation's word; the masks
// that leave one mark out, and the other targets, none.
func TestCaveatsCombinedMarks(t *testing.T) {
	for _, c := range []struct {
		words string
		ipv6  bool
		want  string // the caveat's word, "" for none
	}{
		{"-t mangle -A PREROUTING -j CONNMARK --restore-mark --nfmask 0xff --ctmask 0xff", false, "--restore-mark"},
		{"-t mangle -A POSTROUTING -j CONNMARK --nfmask 0xff --ctmask 0xff00 --save-mark", true, "--save-mark"},
		{"-t mangle -A POSTROUTING -j CONNMARK --save-mark --mask 0xff", false, "--save-mark"},
		{"-t mangle -A PREROUTING -j CONNMARK --restore-mark --ctmask 0xff", false, ""},
		{"-t mangle -A POSTROUTING -j CONNMARK --save-mark --nfmask 0xff", false, ""},
		{"-t mangle -A POSTROUTING -j CONNMARK --save-mark --nfmask 0 --ctmask 0xff", false, ""},
		{"-t mangle -A PREROUTING -j CONNMARK --set-mark 1/0xff", false, ""},
		{"-t mangle -A PREROUTING -j MARK --set-mark 1/0xff", false, ""},
	} {
		r, err := ctmatch.Translate(c.words, ctmatch.Options{IPv6: c.ipv6})
		if err != nil {
			t.Fatalf("%s: %v", c.words, err)
		}
		got := ""
		if len(r.Caveats) > 0 {
			got = r.Caveats[0].Word
			if msg := r.Caveats[0].Error(); !strings.Contains(msg, "nft 1.1.2") || !strings.Contains(msg, "nft 1.0.6") {
				t.Errorf("%s: caveat %q does not name the nft versions", c.words, msg)
			}
		}
		if got != c.want || len(r.Caveats) > 1 {
			t.Errorf("%s (ipv6 %v): caveats %v, want one at %q", c.words, c.ipv6, r.Caveats, c.want)
		}
	}
}

// In an iptables-save file the caveat is a warning of the first such rule's
// line, and of no other line.
func TestSaveScriptCombinedMarksWarning(t *testing.T) {
	s := ctmatch.NewSaveScript(ctmatch.Options{})
	file := []string{
		"*mangle",
		":PREROUTING ACCEPT [0:0]",
		"-A PREROUTING -j CONNMARK --restore-mark --ctmask 0xff",
		"-A PREROUTING -j CONNMARK --save-mark --nfmask 0xff --ctmask 0xff00",
		"-A PREROUTING -j CONNMARK --restore-mark --nfmask 0xff --ctmask 0xff00",
		"COMMIT",
	}
	rs := ctmatch.NewSaveRuleset(ctmatch.Options{Table: expr.FamilyInet})
	for _, read := range []struct {
		name string
		line func(text string, at parse.Position) (*script.SaveLine, error)
	}{
		{"SaveScript", func(text string, at parse.Position) (*script.SaveLine, error) { return s.Line(io.Discard, text, at) }},
		{"SaveRuleset", rs.Line},
	} {
		var warned []int
		for i, line := range file {
			l, err := read.line(line, parse.Position{File: "rules", Line: i + 1})
			if err != nil {
				t.Fatalf("%s: line %d: %v", read.name, i+1, err)
			}
			for _, w := range l.Warnings {
				if w.Word != "--save-mark" || !strings.Contains(w.Msg, "nft 1.1.2") {
					t.Errorf("%s: line %d: warning %v", read.name, i+1, w)
				}
				warned = append(warned, i+1)
			}
		}
		if len(warned) != 1 || warned[0] != 4 {
			t.Errorf("%s: warnings at lines %v, want one at line 4", read.name, warned)
		}
	}
}
