//go:build !race

package parse_test

import (
	"testing"

	"github.com/ctmatch/ctmatch/parse"
)

// TestReleaseAllocs: parsing a rule after releasing one takes one
// allocation fewer than keeping it, its room. (Built without the race
// detector only, under which a sync.Pool drops what it is given at random;
// make test runs it in a run of its own.)
func TestReleaseAllocs(t *testing.T) {
	const text = "-A INPUT -p tcp --dport 22 -m conntrack --ctstate NEW -j ACCEPT"
	kept := testing.AllocsPerRun(200, func() {
		if _, err := parse.ParseText(text, parse.Options{}); err != nil {
			t.Fatal(err)
		}
	})
	released := testing.AllocsPerRun(200, func() {
		r, err := parse.ParseText(text, parse.Options{})
		if err != nil {
			t.Fatal(err)
		}
		parse.Release(r)
	})
	if released > kept-0.5 {
		t.Errorf("a rule parsed and released takes %.2f allocations, kept %.2f: want one fewer (its room)", released, kept)
	}
}
