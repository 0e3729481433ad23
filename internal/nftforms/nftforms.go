// Package nftforms is test support for the tests that hold ctmatch's bytes
// to nft's: which nft the tests run, and one form for the debug lines of
// rules that nft versions send otherwise for the same meaning.
//
// nft 1.1.2 changed how it sends some rules (nftables commits
// "netlink_linearize: use range expression for OP_EQ and OP_IMPLICIT",
// "evaluate: optimize zero length range", "mnl: do not send set size when
// set is constant set"):
//
//   - a range A-B is one range eq where 1.0.6 sends cmp gte A and cmp lte B;
//   - a range of one value, A-A or != A-A, is one cmp eq or cmp neq, of a
//     host-order key without the byteorder before it, where 1.0.6 sends the
//     byteorder and cmp gte and cmp lte of A, or range neq A A;
//   - an anonymous set has no size;
//   - a NAT to one address sends the address once, without addr_max, where
//     1.0.6 sends it in two registers.
//
// The kernel evaluates each pair alike: nft_range_eval and nft_cmp_eval
// both compare the register with memcmp; hton of a 4-byte key compared with
// its big-endian bytes is the key compared with its host-order bytes; and
// nft_nat_init takes addr_min's register for addr_max when there is none.
// Lines rewrites the lines of both into one form, so that a test compares
// bytes with nft 1.0.6 to 1.1.1 and these forms with later versions.
package nftforms

import (
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// Version is an nft version: major, minor, patch.
type Version [3]int

func (v Version) String() string { return fmt.Sprintf("%d.%d.%d", v[0], v[1], v[2]) }

// AtLeast reports whether v is major.minor.patch or later.
func (v Version) AtLeast(major, minor, patch int) bool {
	for i, w := range [3]int{major, minor, patch} {
		if v[i] != w {
			return v[i] > w
		}
	}
	return true
}

// NewForms reports whether nft v sends nft 1.1.2's forms.
func (v Version) NewForms() bool { return v.AtLeast(1, 1, 2) }

var versionRE = regexp.MustCompile(`^nftables v(\d+)\.(\d+)(?:\.(\d+))?\b`)

// ParseVersion reads what nft --version prints ("nftables v1.0.6 (Lester
// Gooch #5)").
func ParseVersion(s string) (Version, error) {
	m := versionRE.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return Version{}, fmt.Errorf("nft --version printed %q, not nftables vX.Y.Z", strings.TrimSpace(s))
	}
	var v Version
	for i, f := range m[1:] {
		if f != "" {
			v[i], _ = strconv.Atoi(f)
		}
	}
	return v, nil
}

var (
	installedOnce sync.Once
	installed     Version
	installedErr  error
)

// Installed returns the version of the nft in PATH.
func Installed() (Version, error) {
	installedOnce.Do(func() {
		out, err := exec.Command("nft", "--version").Output()
		if err != nil {
			installedErr = fmt.Errorf("nft --version: %v", err)
			return
		}
		installed, installedErr = ParseVersion(string(out))
	})
	return installed, installedErr
}

// Need returns the version of the nft in PATH, and fails the test when
// there is none that says its version.
func Need(t testing.TB) Version {
	t.Helper()
	v, err := Installed()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

var (
	rangeRE     = regexp.MustCompile(`^\[ range (eq|neq) reg (\d+) ((?:0x[0-9a-f]+ )+)\]$`)
	cmpOrderRE  = regexp.MustCompile(`^\[ cmp (gte|lte) reg (\d+) ((?:0x[0-9a-f]+ )+)\]$`)
	cmpEqRE     = regexp.MustCompile(`^\[ cmp (eq|neq) reg (\d+) (0x[0-9a-f]{8}) \]$`)
	hton4RE     = regexp.MustCompile(`^\[ byteorder reg (\d+) = hton\(reg (\d+), 4, 4\) \]$`)
	immediateRE = regexp.MustCompile(`^\[ immediate reg (\d+) ((?:0x[0-9a-f]+ )+)\]$`)
	natMaxRE    = regexp.MustCompile(`^(\[ nat .*addr_min reg (\d+)) addr_max reg (\d+)( .*\])$`)
)

// Lines returns the debug lines of a rule's expressions (expr.DebugLines,
// as nft --debug=netlink prints them) in one form for nft 1.0.6's and 1.1.2's
// ways of sending the same meaning (see the package comment): ranges as cmp
// gte and cmp lte, a range of one value as cmp eq or cmp neq of the
// host-order value, one register for a NAT to one address (addr_max of
// addr_min's register, as the kernel dumps a NAT sent without addr_max, is
// left out too). The rest is kept. A value of several 32-bit words is
// written as the words; a range's two values have as many each.
func Lines(lines []string) []string {
	var out []string
	for _, l := range lines {
		m := rangeRE.FindStringSubmatch(l)
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
	// cmp gte A and cmp lte A: cmp eq A.
	for i := 0; i+1 < len(out); i++ {
		a, b := cmpOrderRE.FindStringSubmatch(out[i]), cmpOrderRE.FindStringSubmatch(out[i+1])
		if a != nil && b != nil && a[1] == "gte" && b[1] == "lte" && a[2] == b[2] && a[3] == b[3] {
			out[i] = fmt.Sprintf("[ cmp eq reg %s %s]", a[2], a[3])
			out = append(out[:i+1], out[i+2:]...)
		}
	}
	// hton of 4 bytes, then cmp eq or neq of the big-endian value: cmp of
	// the host-order value.
	for i := 0; i+1 < len(out); i++ {
		h, c := hton4RE.FindStringSubmatch(out[i]), cmpEqRE.FindStringSubmatch(out[i+1])
		if h != nil && c != nil && h[1] == h[2] && h[1] == c[2] {
			w, _ := strconv.ParseUint(strings.TrimPrefix(c[3], "0x"), 16, 32)
			sw := w>>24 | w>>8&0xff00 | w<<8&0xff0000 | w<<24&0xff000000
			out[i] = fmt.Sprintf("[ cmp %s reg %s 0x%08x ]", c[1], c[2], sw)
			out = append(out[:i+1], out[i+2:]...)
		}
	}
	// A NAT whose addr_max register holds what its addr_min register holds,
	// both loaded by immediates: addr_min alone.
	imm := map[string]int{} // register: index of the immediate that loaded it
	for i := 0; i < len(out); i++ {
		if m := immediateRE.FindStringSubmatch(out[i]); m != nil {
			imm[m[1]] = i
			continue
		}
		n := natMaxRE.FindStringSubmatch(out[i])
		if n == nil {
			continue
		}
		if n[2] == n[3] {
			// As the kernel dumps a NAT sent without addr_max.
			out[i] = n[1] + n[4]
			continue
		}
		lo, okLo := imm[n[2]]
		hi, okHi := imm[n[3]]
		if !okLo || !okHi || lo == hi || valueOf(out[lo]) != valueOf(out[hi]) {
			continue
		}
		out[i] = n[1] + n[4]
		out = append(out[:hi], out[hi+1:]...)
		if hi < i {
			i--
		}
		imm = map[string]int{}
	}
	return out
}

func valueOf(immediate string) string {
	if m := immediateRE.FindStringSubmatch(immediate); m != nil {
		return m[2]
	}
	return ""
}
