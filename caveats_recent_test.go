package ctmatch_test

import (
	"strings"
	"testing"

	"github.com/ctmatch/ctmatch"
)

// A rule with -m recent --set carries one caveat per such match, at its
// --set word, naming the list; its hint names the list too, so that the
// once-a-kind record says it once per list name.
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
			if !strings.Contains(cv.Hint, "the list "+list) || hints[cv.Hint] {
				t.Errorf("%s: hint %q does not name the list %s alone", c.words, cv.Hint, list)
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
