package parse_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/ctmatch/ctmatch/parse"
)

// The syntax tree names a ttl or hl option's comparison, as syntax.md says.
func TestHLJSON(t *testing.T) {
	for _, tc := range []struct {
		fam        parse.Family
		words      string
		want, also string
	}{
		{parse.IPv4, "-m ttl ! --ttl 64", `"kind":"eq","negated":true`, `"n":64`},
		{parse.IPv4, "-m ttl --ttl-lt 0x5", `"kind":"lt","negated":false`, `"text":"0x5"`},
		{parse.IPv6, "-m hl --hl-gt 1", `"module":"hl"`, `"kind":"gt"`},
	} {
		r, err := parse.ParseText(tc.words, parse.Options{Family: tc.fam})
		if err != nil {
			t.Fatalf("%s: %v", tc.words, err)
		}
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatalf("%s: %v", tc.words, err)
		}
		for _, w := range []string{tc.want, tc.also} {
			if !strings.Contains(string(b), w) {
				t.Errorf("%s: JSON %s does not hold %s", tc.words, b, w)
			}
		}
	}
}
