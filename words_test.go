package ctmatch

import (
	"testing"

	"github.com/ctmatch/ctmatch/parse"
)

// The words a group record keeps are the rule's matches and target: not
// its table, command or counters, which the kernel holds elsewhere.
func TestWordsLeaveOutCounters(t *testing.T) {
	for _, text := range []string{
		"[5:6] -t raw -A PREROUTING -m conntrack -j ACCEPT --ctstate NEW",
		"-t raw -A PREROUTING -c 5 6 -m conntrack --ctstate NEW -j ACCEPT",
	} {
		r, err := parse.ParseText(text, parse.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := Words(r), "-m conntrack --ctstate NEW -j ACCEPT"; got != want {
			t.Errorf("Words(%q) = %q, want %q", text, got, want)
		}
	}
}

func TestWords(t *testing.T) {
	r, err := parse.ParseText("-t nat -I PREROUTING 3 -m state --state new -m conntrack --ctstate est -j ACCEPT", parse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := Words(r), "-m state --state NEW -m conntrack --ctstate ESTABLISHED -j ACCEPT"; got != want {
		t.Errorf("Words = %q, want %q", got, want)
	}
	if r.Command == nil || r.Table == nil {
		t.Error("Words changed the rule")
	}
}
