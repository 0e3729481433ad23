package compile_test

import (
	"strings"
	"testing"

	"github.com/ctmatch/ctmatch/compile"
	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/parse"
)

// A second icmp match in one rule is refused: nft 1.0.6 sends "icmp type 3
// icmp code 3 icmp type 8" as a 1-byte load of the type and a 2-byte load
// compared with 03 08, which no order of the fields gives.
func TestICMPTwiceRefused(t *testing.T) {
	for _, words := range []string{
		"-A INPUT -p icmp -m icmp --icmp-type 3/3 -m icmp ! --icmp-type 8",
		"-A INPUT -p icmp --icmp-type 8 -m icmp --icmp-type 0",
	} {
		r, err := parse.ParseText(words, parse.Options{})
		if err != nil {
			t.Fatalf("%s: %v", words, err)
		}
		_, err = compile.Rule(r, compile.Options{Table: expr.FamilyIP})
		if err == nil || !strings.Contains(err.Error(), "a second icmp match") {
			t.Errorf("%s: compile.Rule error %v, want a refusal of the second icmp match", words, err)
		}
	}
}
