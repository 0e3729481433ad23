package parse_test

import (
	"testing"

	"github.com/ctmatch/ctmatch/parse"
)

// IsOtherCommand tells the refusal of an iptables command other than -A and
// -I, short or long or an unambiguous prefix, from every other error.
func TestIsOtherCommand(t *testing.T) {
	for words, want := range map[string]bool{
		"-N foo":                    true,
		"-P INPUT DROP":             true,
		"--new-chain foo":           true,
		"--pol INPUT DROP":          true,
		"-F":                        true,
		"-D INPUT 1":                true,
		"-X foo":                    true,
		"-A INPUT -m bogus":         false,
		"-A INPUT -v -j ACCEPT":     false, // unsupported, but no command
		"-A INPUT -j NFQUEUE":       false,
		"-m conntrack --ctstate NE": false,
	} {
		_, err := parse.ParseText(words, parse.Options{})
		if got := parse.IsOtherCommand(err); got != want {
			t.Errorf("%s: %v: IsOtherCommand %v, want %v", words, err, got, want)
		}
	}
	if parse.IsOtherCommand(nil) {
		t.Error("nil is another command")
	}
}
