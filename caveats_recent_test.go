package ctmatch_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/ctmatch/ctmatch"
	"github.com/ctmatch/ctmatch/parse"
)

// A rule with -m recent --set carries one caveat per such match, at its
// --set word, naming the list; its hint is the same for every list, so
// that the once-a-kind record says it once a run.
func TestCaveatsRecentSet(t *testing.T) {
	for _, c := range []struct {
		words string
		ipv6  bool
		want  []string // the caveats' words and lists: "WORD LIST"
	}{
		{"-A INPUT -m recent --set", false, []string{"--set DEFAULT"}},
		{"-A INPUT -m recent --name=ssh --se=", false, nil}, // invalid: no caveat asked
		{"-A INPUT -p tcp -m recent --name ssh --set -m recent --rdest --set --name other -j ACCEPT", false, []string{"--set ssh", "--set other"}},
		{"-A OUTPUT -m recent --set --name v6 --mask ffff:: -j DROP", true, []string{"--set v6"}},
		{"-A INPUT -m conntrack --ctstate NEW -j ACCEPT", false, nil},
	} {
		r, err := ctmatch.Translate(c.words, ctmatch.Options{IPv6: c.ipv6})
		if c.want == nil && strings.Contains(c.words, "--se=") {
			if err == nil {
				t.Errorf("%s: translated, want an error", c.words)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", c.words, err)
		}
		var got []string
		hints := map[string]bool{}
		for _, cv := range r.Caveats {
			list := cv.Msg[strings.Index(cv.Msg, "the list ")+len("the list "):]
			list = list[:strings.IndexByte(list, ' ')]
			got = append(got, cv.Word+" "+list)
			if c.words[cv.Pos:int(cv.Pos)+len(cv.Word)] != cv.Word {
				t.Errorf("%s: caveat at %d says word %q", c.words, cv.Pos, cv.Word)
			}
			if strings.Contains(cv.Hint, list) || len(hints) > 0 && !hints[cv.Hint] {
				t.Errorf("%s: hint %q names the list %s, or differs from the other lists' (it is said once a run)", c.words, cv.Hint, list)
			}
			hints[cv.Hint] = true
			if !strings.Contains(cv.Msg, "adds no address to /proc/net/xt_recent/"+list) || !strings.Contains(cv.Msg, "--rcheck, --update, --remove") {
				t.Errorf("%s: caveat %q", c.words, cv.Msg)
			}
		}
		if strings.Join(got, ",") != strings.Join(c.want, ",") {
			t.Errorf("%s: caveats %q, want %q", c.words, got, c.want)
		}
		for _, nr := range r.Rules {
			if strings.Contains(nr.String(), "recent") {
				t.Errorf("%s: nft rule %q mentions recent", c.words, nr.String())
			}
		}
	}
}

// A -m recent --set whose list Options.ReadLists names is refused at its
// --set word, naming where the list is read; the --set of another list
// translates. RecentReaders finds the lists of the rules that read one,
// from what parse read of a rule it refused.
func TestReadListsRefuseSet(t *testing.T) {
	at := parse.Position{File: "rules.v4", Line: 7}
	o := ctmatch.Options{ReadLists: map[string]parse.Position{"ssh": at}}
	const words = "-A INPUT -p tcp --dport 22 -m recent --set --name ssh -j ACCEPT"
	_, err := ctmatch.Translate(words, o)
	var e *parse.Error
	if !errors.As(err, &e) || e.Kind != parse.Unsupported || e.Word != "--set" || words[e.Pos:int(e.Pos)+len(e.Word)] != "--set" ||
		!strings.Contains(e.Msg, "the list ssh, which the rule at rules.v4:7 reads") {
		t.Errorf("Translate(%q) with ssh read: %v, want Unsupported at --set naming rules.v4:7", words, err)
	}
	if _, err := ctmatch.Translate(strings.Replace(words, "ssh", "dns", 1), o); err != nil {
		t.Errorf("--set of a list nothing reads: %v", err)
	}
	if _, err := ctmatch.Translate(words, ctmatch.Options{}); err != nil {
		t.Errorf("--set without ReadLists: %v", err)
	}
	for _, c := range []struct {
		words string
		want  []string
	}{
		{"-A INPUT -m recent --rcheck --seconds 60 --name ssh -j DROP", []string{"ssh"}},
		{"-A INPUT -m recent --update --name a -m recent ! --set --name b", []string{"a", "b"}},
		{"-A INPUT -m recent --remove", []string{"DEFAULT"}},
		{"-A INPUT -m recent --set --name ssh", nil},
		{"-A INPUT -p tcp --dport 22", nil},
	} {
		r, _ := parse.ParseText(c.words, parse.Options{})
		if got := ctmatch.RecentReaders(r); strings.Join(got, ",") != strings.Join(c.want, ",") {
			t.Errorf("RecentReaders(%q) = %q, want %q", c.words, got, c.want)
		}
	}
}
