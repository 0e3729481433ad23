package script_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/ctmatch/ctmatch"
	"github.com/ctmatch/ctmatch/internal/ktest"
	"github.com/ctmatch/ctmatch/parse"
)

// TestSaveOracle loads every case file with the real iptables-restore (or
// ip6tables-restore), each in a network namespace of its own: the files
// ctmatch reads whole or refuses as unsupported must load, the files it
// refuses as invalid must be refused. (iptables-restore --test is not the
// oracle: iptables-nft 1.8.9's --test accepts files that the real restore
// refuses, such as a rule in an undeclared chain or -I beyond the chain's
// end.)
func TestSaveOracle(t *testing.T) {
	for _, c := range saveCases {
		t.Run(c.name, func(t *testing.T) {
			tool := "iptables-restore"
			if c.v6 {
				tool = "ip6tables-restore"
			}
			ns := ktest.Namespace(t, tool)
			text, _, _ := c.file()
			if text == "" {
				text = "\n" // Exec sends no standard input for ""
			}
			_, stderr, err := ktest.Exec(ns, text, tool)
			switch {
			case c.kind == "invalid" && err == nil:
				t.Errorf("%s accepted a file ctmatch refuses as invalid:\n%s", tool, text)
			case c.kind != "invalid" && err != nil:
				t.Errorf("%s refused a file ctmatch takes (%s): %v\n%s\n%s", tool, c.kind, err, strings.TrimSpace(stderr), text)
			}
		})
	}
}

// A file marked with -4 and -6 loads into each family what iptables-restore
// and ip6tables-restore load of it: ctmatch's canonical form of the file
// (ctmatch.SaveCanon, translate -o iptables) holds the rules iptables-save
// and ip6tables-save print after the restore, in their order.
func TestFamilyMarkersAsRestoreLoads(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		restore, save := "iptables-legacy-restore", "iptables-legacy-save"
		if v6 {
			restore, save = "ip6tables-legacy-restore", "ip6tables-legacy-save"
		}
		ns := ktest.Namespace(t, restore, save)
		ktest.Run(t, ns, familyMarkers, restore)
		want := ruleLines(ktest.Run(t, ns, "", save))
		s := ctmatch.NewSaveCanon(ctmatch.Options{IPv6: v6})
		for i, text := range strings.Split(strings.TrimSuffix(familyMarkers, "\n"), "\n") {
			if _, err := s.Line(text, parse.Position{File: "both.rules", Line: i + 1}); err != nil {
				t.Fatalf("%s: %v", text, err)
			}
		}
		var b strings.Builder
		if _, err := s.WriteTo(&b); err != nil {
			t.Fatal(err)
		}
		if got := ruleLines(b.String()); !slices.Equal(got, want) || len(want) != 3 {
			t.Errorf("%s: ctmatch reads\n%s\n%s loads\n%s", restore, strings.Join(got, "\n"), restore, strings.Join(want, "\n"))
		}
	}
}

// ruleLines are the -A lines of an iptables-save file.
func ruleLines(text string) []string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, "-A ") {
			out = append(out, l)
		}
	}
	return out
}
