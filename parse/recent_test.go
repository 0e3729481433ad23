package parse_test

import (
	"testing"

	"github.com/ctmatch/ctmatch/parse"
)

// A list name prints as iptables-save prints it when iptables-restore reads
// that back as the same word, quoted otherwise, and reads back as the same
// name either way.
func TestRecentNamePrintsBack(t *testing.T) {
	for _, tc := range []struct{ name, printed string }{
		{"ssh", "ssh"},
		{"KUBE-SEP-ABC.v4:x", "KUBE-SEP-ABC.v4:x"},
		{"a b", `"a b"`},
		{"a\tb", "\"a\tb\""},
		{`a"b`, `"a\"b"`},
		{`a\b`, `"a\\b"`},
		{"a'b", `"a\'b"`},
		{"é", "é"},
	} {
		r, err := parse.ParseArgs([]string{"-m", "recent", "--set", "--name", tc.name}, parse.Options{})
		if err != nil {
			t.Fatalf("%q: %v", tc.name, err)
		}
		want := "-m recent --set --name " + tc.printed + " --mask 255.255.255.255 --rsource"
		if got := r.String(); got != want {
			t.Errorf("%q prints as %q, want %q", tc.name, got, want)
			continue
		}
		back, err := parse.ParseText(want, parse.Options{})
		if err != nil {
			t.Errorf("%q: the printed %q does not parse: %v", tc.name, want, err)
			continue
		}
		if m := back.Matches[0].(*parse.Recent); m.List != tc.name {
			t.Errorf("%q prints as %q, which reads back as the name %q", tc.name, want, m.List)
		}
	}
}
