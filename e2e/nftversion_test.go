package e2e

import (
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// The nft the tests run is an oracle whose bytes changed between versions:
// nft 1.1.2 (nftables commits "netlink_linearize: use range expression for
// OP_EQ and OP_IMPLICIT", "evaluate: optimize zero length range" and "mnl:
// do not send set size when set is constant set") sends A-B as one range eq
// where 1.0.6 sends cmp gte and cmp lte, A-A and != A-A as cmp eq and cmp
// neq, and an anonymous set without its size. The kernel evaluates each pair
// alike (nft_range_eval and nft_cmp_eval compare the register with memcmp
// alike), so tests that compare what nft loaded with what ctmatch loaded
// compare bytes with nft 1.0.6 to 1.1.1, and these forms with later ones.

var (
	nftVersionOnce sync.Once
	nftVersionNum  [3]int
	nftVersionErr  error
)

// nftVersion returns the version of the nft in PATH ("nftables v1.0.6
// (Lester Gooch #5)" is 1, 0, 6).
func nftVersion(t *testing.T) [3]int {
	t.Helper()
	nftVersionOnce.Do(func() {
		out, err := exec.Command("nft", "--version").Output()
		if err != nil {
			nftVersionErr = fmt.Errorf("nft --version: %v", err)
			return
		}
		nftVersionNum, nftVersionErr = parseNftVersion(string(out))
	})
	if nftVersionErr != nil {
		t.Fatal(nftVersionErr)
	}
	return nftVersionNum
}

var nftVersionRE = regexp.MustCompile(`^nftables v(\d+)\.(\d+)(?:\.(\d+))?\b`)

func parseNftVersion(s string) ([3]int, error) {
	m := nftVersionRE.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return [3]int{}, fmt.Errorf("nft --version printed %q, not nftables vX.Y.Z", strings.TrimSpace(s))
	}
	var v [3]int
	for i, f := range m[1:] {
		if f != "" {
			v[i], _ = strconv.Atoi(f)
		}
	}
	return v, nil
}

// nftVersionText is the version of the nft in PATH as "1.0.6".
func nftVersionText(t *testing.T) string {
	v := nftVersion(t)
	return fmt.Sprintf("%d.%d.%d", v[0], v[1], v[2])
}

// nftAtLeast reports whether nft is version major.minor.patch or later.
func nftAtLeast(t *testing.T, major, minor, patch int) bool {
	v := nftVersion(t)
	for i, w := range [3]int{major, minor, patch} {
		if v[i] != w {
			return v[i] > w
		}
	}
	return true
}

var (
	debugRangeRE = regexp.MustCompile(`^\[ range (eq|neq) reg (\d+) ((?:0x[0-9a-f]+ )+)\]$`)
	debugCmpRE   = regexp.MustCompile(`^\[ cmp (gte|lte) reg (\d+) ((?:0x[0-9a-f]+ )+)\]$`)
)

// nft106Forms rewrites the debug lines of a rule's expressions that nft
// 1.1.2 sends otherwise than 1.0.6 into one form for both: range eq reg R A
// B as cmp gte reg R A and cmp lte reg R B, as 1.0.6 sends it; and a range
// of one value, which 1.0.6 sends as cmp gte and cmp lte of that value (or
// range neq) and 1.1.2 as one cmp, as cmp eq or cmp neq. The rest is kept.
// (A value of several 32-bit words is written as the words; a range's two
// values have as many each.)
func nft106Forms(lines []string) []string {
	var out []string
	for _, l := range lines {
		m := debugRangeRE.FindStringSubmatch(l)
		var from, to string
		if m != nil {
			words := strings.Fields(m[3])
			if len(words)%2 != 0 {
				m = nil
			} else {
				from, to = strings.Join(words[:len(words)/2], " "), strings.Join(words[len(words)/2:], " ")
			}
		}
		switch {
		case m == nil:
			out = append(out, l)
		case from == to:
			out = append(out, fmt.Sprintf("[ cmp %s reg %s %s ]", m[1], m[2], from))
		case m[1] == "eq":
			out = append(out, fmt.Sprintf("[ cmp gte reg %s %s ]", m[2], from), fmt.Sprintf("[ cmp lte reg %s %s ]", m[2], to))
		default:
			out = append(out, l)
		}
	}
	for i := 0; i+1 < len(out); i++ {
		a, b := debugCmpRE.FindStringSubmatch(out[i]), debugCmpRE.FindStringSubmatch(out[i+1])
		if a != nil && b != nil && a[1] == "gte" && b[1] == "lte" && a[2] == b[2] && a[3] == b[3] {
			out[i] = fmt.Sprintf("[ cmp eq reg %s %s]", a[2], a[3])
			out = append(out[:i+1], out[i+2:]...)
		}
	}
	return out
}

func TestParseNftVersion(t *testing.T) {
	for in, want := range map[string][3]int{
		"nftables v1.0.6 (Lester Gooch #5)\n":        {1, 0, 6},
		"nftables v1.1.6 (Commodore Bullmoose #7)\n": {1, 1, 6},
		"nftables v1.1 (x)":                          {1, 1, 0},
	} {
		if got, err := parseNftVersion(in); err != nil || got != want {
			t.Errorf("parseNftVersion(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := parseNftVersion("nft: command not found"); err == nil {
		t.Error("parseNftVersion of no version: no error")
	}
}

func TestNft106Forms(t *testing.T) {
	in := []string{
		"[ payload load 4b @ network header + 12 => reg 1 ]",
		"[ range eq reg 1 0x0100000a 0x0900000a ]",
		"[ range neq reg 1 0x0001000a 0xff01000a ]",
		"[ range eq reg 1 0x00000500 0x00000500 ]",
		"[ range neq reg 2 0x00000500 0x00000500 ]",
		"[ cmp gte reg 1 0x0500000a ]",
		"[ cmp lte reg 1 0x0500000a ]",
		"[ cmp gte reg 1 0x00000001 ]",
		"[ cmp lte reg 1 0x00000002 ]",
		"[ range eq reg 1 0xb80d0120 0x00000000 0xb80d0120 0x00000009 ]",
		"[ range eq reg 1 0xb80d0120 0x00000001 0xb80d0120 0x00000001 ]",
		"[ cmp gte reg 1 0xb80d0120 0x00000005 ]",
		"[ cmp lte reg 1 0xb80d0120 0x00000005 ]",
		"[ range eq reg 1 0x00000001 0x00000002 0x00000003 ]",
		"[ counter pkts 0 bytes 0 ]",
	}
	want := []string{
		"[ payload load 4b @ network header + 12 => reg 1 ]",
		"[ cmp gte reg 1 0x0100000a ]",
		"[ cmp lte reg 1 0x0900000a ]",
		"[ range neq reg 1 0x0001000a 0xff01000a ]",
		"[ cmp eq reg 1 0x00000500 ]",
		"[ cmp neq reg 2 0x00000500 ]",
		"[ cmp eq reg 1 0x0500000a ]",
		"[ cmp gte reg 1 0x00000001 ]",
		"[ cmp lte reg 1 0x00000002 ]",
		"[ cmp gte reg 1 0xb80d0120 0x00000000 ]",
		"[ cmp lte reg 1 0xb80d0120 0x00000009 ]",
		"[ cmp eq reg 1 0xb80d0120 0x00000001 ]",
		"[ cmp eq reg 1 0xb80d0120 0x00000005 ]",
		"[ range eq reg 1 0x00000001 0x00000002 0x00000003 ]",
		"[ counter pkts 0 bytes 0 ]",
	}
	if got := nft106Forms(in); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("nft106Forms:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
