package ctmatch

import (
	"strings"
	"testing"
)

// WriteCommands writes no name nft would read as other words: a table,
// chain or jump target that is not bare is an error, and nothing is
// written.
func TestWriteCommandsNames(t *testing.T) {
	jump, err := Translate("-j counter", Options{})
	if err != nil {
		t.Fatal(err)
	}
	accept, err := Translate("-j ACCEPT", Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		r            *Rule
		table, chain string
		want         string
	}{
		{accept, "t", "x\nflush ruleset", `cannot name the chain "x\nflush ruleset"`},
		{accept, "a b", "c", `cannot name the table "a b"`},
		{jump, "t", "c", `cannot name the chain "counter"`},
	} {
		var b strings.Builder
		err := WriteCommands(&b, tc.r, tc.table, tc.chain, 0, 0, false)
		if err == nil || !strings.Contains(err.Error(), tc.want) || b.Len() != 0 {
			t.Errorf("WriteCommands(%q, %q): %v, wrote %q; want an error saying %s", tc.table, tc.chain, err, b.String(), tc.want)
		}
	}
	var b strings.Builder
	if err := WriteCommands(&b, accept, "t", "c", 0, 0, false); err != nil || b.String() != "add rule ip t c counter accept\n" {
		t.Errorf("WriteCommands of bare names: %q, %v", b.String(), err)
	}
}
