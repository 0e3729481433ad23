// Package benchrules holds the mix of conntrack rules the benchmarks of
// parse, compile and expr measure: one whole period of bench/rules.sh.
package benchrules

import (
	_ "embed"
	"strings"
)

//go:embed rules.txt
var text string

// Lines returns the rules, one iptables rule per line (blank lines and
// comments left out), in a new slice.
func Lines() []string {
	var out []string
	for line := range strings.Lines(text) {
		if line = strings.TrimRight(line, "\n"); line != "" && !strings.HasPrefix(line, "#") {
			out = append(out, line)
		}
	}
	return out
}
