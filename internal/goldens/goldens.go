// Package goldens reads the golden cases of compile/testdata, which several
// test packages share: the iptables words of each case (cases.txt) and the
// correct nft text written by hand for it (handwritten.nft).
package goldens

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/ctmatch/ctmatch/parse"
)

// Case is one line of compile/testdata/cases.txt.
type Case struct {
	Name   string
	Family parse.Family // IPv4 for -4 cases, IPv6 for -6
	Words  string       // the iptables words
}

// Handwritten is compile/testdata/handwritten.nft: for each case, the nft
// rule bodies written by hand from design.md's rules, for an ip table (-4
// cases) or an ip6 table (-6 cases).
type Handwritten struct {
	Rules map[string][]string
	// SameSpelling lists the cases whose hand-written text has no other
	// spelling than ctmatch's.
	SameSpelling map[string]bool
}

// dir returns compile/testdata, found from this file's place in the tree.
func dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "compile", "testdata")
}

// Cases reads compile/testdata/cases.txt.
func Cases() ([]Case, error) {
	data, err := os.ReadFile(filepath.Join(dir(), "cases.txt"))
	if err != nil {
		return nil, err
	}
	var out []Case
	for i, line := range strings.Split(string(data), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		parts := strings.SplitN(line, " | ", 3)
		if len(parts) != 3 || (parts[1] != "-4" && parts[1] != "-6") {
			return nil, fmt.Errorf("cases.txt:%d: want NAME | -4 or -6 | WORDS, found %q", i+1, line)
		}
		c := Case{Name: parts[0], Words: parts[2]}
		if parts[1] == "-6" {
			c.Family = parse.IPv6
		}
		out = append(out, c)
	}
	return out, nil
}

// ReadHandwritten reads compile/testdata/handwritten.nft.
func ReadHandwritten() (Handwritten, error) {
	h := Handwritten{Rules: map[string][]string{}, SameSpelling: map[string]bool{}}
	f, err := os.Open(filepath.Join(dir(), "handwritten.nft"))
	if err != nil {
		return h, err
	}
	defer f.Close()
	var cur string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, "# no other spelling:"):
			for _, n := range strings.Fields(strings.TrimPrefix(line, "# no other spelling:")) {
				h.SameSpelling[n] = true
			}
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "== "):
			cur = strings.TrimPrefix(line, "== ")
			h.Rules[cur] = []string{}
		case cur == "":
			return h, fmt.Errorf("handwritten.nft: rule %q before the first == NAME line", line)
		default:
			h.Rules[cur] = append(h.Rules[cur], line)
		}
	}
	return h, sc.Err()
}
