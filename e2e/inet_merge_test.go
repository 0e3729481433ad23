package e2e

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/ctmatch/ctmatch/internal/ktest"
	"github.com/ctmatch/ctmatch/internal/netns"
)

// The inet merge, held to the kernel's xt matches: the same pair of
// iptables-save files loaded with iptables-restore and ip6tables-restore
// (the kernel's xt code in ip and ip6 tables), with ctmatch apply into ip
// and ip6 tables, with ctmatch apply --family inet, and with nft -f of
// ctmatch translate --family inet's script (both merged into one inet
// table), give every probe of both families the same verdict. A probe is a
// UDP datagram sent from a socket of the namespace to its loopback address
// (127.0.0.1 or ::1), with a mark on the socket and a destination port; a
// drop in OUTPUT makes sendto fail with EPERM, so each probe's verdict is
// read from its sendto, and every probe is a new flow (a new socket, a new
// source port).

// The rulesets: rules the same in both families in another order in each,
// rules of one family only (ports compile to other nft rules per family:
// xt_udp's fragment test), a user chain with RETURN, a conntrack state,
// OUTPUT's policy ACCEPT for IPv4 and DROP for IPv6, and a RETURN in
// OUTPUT in each family (mark 8 for IPv6, 9 for IPv4): RETURN in a
// built-in chain is its policy, each family's own.
const (
	mergeV4 = `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:probe - [0:0]
-A OUTPUT -m mark --mark 0x9 -j RETURN
-A OUTPUT -p udp -j probe
-A OUTPUT -m mark --mark 0x6 -j DROP
-A probe -p udp --dport 1001 -j DROP
-A probe -m mark --mark 0x1 -j DROP
-A probe -m mark --mark 0x2 -j ACCEPT
-A probe -p udp --dport 1002 -j ACCEPT
-A probe -m mark --mark 0x3 -j RETURN
-A probe -m conntrack --ctstate NEW -m mark --mark 0x4 -j DROP
-A probe -m conntrack --ctstate NEW -j ACCEPT
-I probe 1 -s 127.0.0.9,127.0.0.1 -p udp -m mark --mark 0x7 --dport 1004 -j ACCEPT
-I probe 2 -d 127.0.0.2,127.0.0.1 -m mark --mark 0x7 -j DROP
COMMIT
`
	mergeV6 = `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT DROP [0:0]
:probe - [0:0]
-A OUTPUT -m mark --mark 0x8 -j RETURN
-A OUTPUT -p udp -j probe
-A OUTPUT -m mark --mark 0x6 -j ACCEPT
-A probe -m mark --mark 0x2 -j ACCEPT
-A probe -m mark --mark 0x1 -j DROP
-A probe -p udp --dport 1002 -j DROP
-A probe -p udp --dport 1003 -j ACCEPT
-A probe -m mark --mark 0x3 -j RETURN
-A probe -m conntrack --ctstate NEW -m mark --mark 0x4 -j DROP
-A probe -m mark --mark 0x5 -j ACCEPT
-I probe 1 -d ::2,::1 -m mark --mark 0x7 -j DROP
COMMIT
`
)

// mergeProbes sends every probe in ns and returns the verdicts, one line
// per probe: "FAMILY mark M port P: accept|drop".
func mergeProbes(t *testing.T, ns *netns.NS) []string {
	t.Helper()
	var out []string
	err := ns.Do(func() error {
		for _, dst := range []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1")} {
			for mark := range 10 {
				for _, port := range []int{1001, 1002, 1003, 1004} {
					v, err := sendProbe(dst, mark, port)
					if err != nil {
						return err
					}
					out = append(out, fmt.Sprintf("%s mark %d port %d: %s", dst, mark, port, v))
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// sendProbe sends one UDP datagram to dst:port from a new socket with
// SO_MARK mark, and says whether OUTPUT let it through.
func sendProbe(dst netip.Addr, mark, port int) (string, error) {
	fam := syscall.AF_INET6
	var sa syscall.Sockaddr = &syscall.SockaddrInet6{Port: port, Addr: dst.As16()}
	if dst.Is4() {
		fam = syscall.AF_INET
		sa = &syscall.SockaddrInet4{Port: port, Addr: dst.As4()}
	}
	fd, err := syscall.Socket(fam, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return "", err
	}
	defer syscall.Close(fd)
	if err := syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_MARK, mark); err != nil {
		return "", err
	}
	switch err := syscall.Sendto(fd, []byte("probe"), 0, sa); {
	case err == nil:
		return "accept", nil
	case errors.Is(err, syscall.EPERM):
		return "drop", nil
	default:
		return "", fmt.Errorf("sendto %s port %d mark %d: %w", dst, port, mark, err)
	}
}

func TestInetMergeVerdicts(t *testing.T) {
	bin := ctmatchCLI(t)
	v4, v6, want := mergeOracle(t, mergeV4, mergeV6, "the policies", "127.0.0.1 mark 0 port 1004: accept", "::1 mark 0 port 1004: drop", "::1 mark 6 port 1004: accept", "127.0.0.1 mark 4 port 1004: drop",
		"::1 mark 8 port 1003: drop", "127.0.0.1 mark 8 port 1003: accept", "127.0.0.1 mark 9 port 1001: accept", "::1 mark 9 port 1003: accept")

	check := func(name string, ns *netns.NS) {
		t.Helper()
		got := mergeProbes(t, ns)
		if d := diffLines(want, got); d != "" {
			t.Errorf("%s: verdicts differ from iptables-restore's (xt, want → got):\n%s", name, d)
		}
	}

	sep := ktest.Namespace(t, "nft")
	mustCLI(t, bin, sep, "", "apply", "-f", v4, "--file6", v6)
	check("ctmatch apply into ip and ip6 tables", sep)

	inet := ktest.Namespace(t, "nft")
	mustCLI(t, bin, inet, "", "apply", "-f", v4, "--file6", v6, "--family", "inet")
	check("ctmatch apply --family inet", inet)
	listed := mustCLI(t, bin, inet, "", "list", "-o", "iptables", "table", "inet", "filter")
	for _, w := range []string{
		"-A probe -m mark --mark 0x2 -j ACCEPT # ipv4 and ipv6",
		"-A probe -m conntrack --ctstate NEW -m mark --mark 0x4 -j DROP # ipv4 and ipv6",
		"-A OUTPUT -j DROP # -6",
		"-A probe -p udp -m udp --dport 1003 -j ACCEPT # -6",
	} {
		if !strings.Contains(listed, w) {
			t.Errorf("list -o iptables of the merged table has no line %q:\n%s", w, listed)
		}
	}

	out, err := exec.Command(bin, "translate", "-f", v4, "--file6", v6, "--family", "inet").Output()
	if err != nil {
		t.Fatalf("translate --family inet: %v", err)
	}
	script := string(out)
	if !strings.HasPrefix(script, "# inet merge: 14 iptables and 14 ip6tables nft rules in, 25 nft rules out (4 for both families)") {
		t.Errorf("translate --family inet: the saving is not the one expected:\n%s", script)
	}
	nftNS := ktest.Namespace(t, "nft")
	ktest.Run(t, nftNS, script, "nft", "-f", "-")
	check("nft -f of translate --family inet", nftNS)

	// The test can fail: a rule of one family that loses its meta nfproto
	// changes the verdicts of the other family's probes.
	broken := regexp.MustCompile(`(?m)^(add rule inet filter OUTPUT) meta nfproto ipv4 (meta mark 0x00000006 counter drop)$`).ReplaceAllString(script, "$1 $2")
	if broken == script {
		t.Fatalf("no rule to break in:\n%s", script)
	}
	faulty := ktest.Namespace(t, "nft")
	ktest.Run(t, faulty, broken, "nft", "-f", "-")
	if d := diffLines(want, mergeProbes(t, faulty)); !strings.Contains(d, "::1 mark 6 port 1004: accept → ::1 mark 6 port 1004: drop") {
		t.Errorf("a rule without its meta nfproto went unnoticed; differences:\n%s", d)
	}
}

// A -g in a built-in chain of one family, whose policy is not the other
// family's: the merged chain takes that family's policy (where the chain
// that -g goes to ends, the packet meets it), and the other family's RETURN
// becomes its own policy's verdict.
func TestInetMergeGotoPolicy(t *testing.T) {
	const v4text = `*filter
:OUTPUT ACCEPT [0:0]
:probe - [0:0]
-A OUTPUT -m mark --mark 0x8 -j RETURN
-A OUTPUT -p udp -j probe
-A probe -p udp --dport 1001 -j DROP
COMMIT
`
	const v6text = `*filter
:OUTPUT DROP [0:0]
:probe - [0:0]
-A OUTPUT -m mark --mark 0x9 -g probe
-A OUTPUT -p udp -j probe
-A OUTPUT -j ACCEPT
-A probe -p udp --dport 1003 -j ACCEPT
COMMIT
`
	bin := ctmatchCLI(t)
	v4, v6, want := mergeOracle(t, v4text, v6text, "-g and RETURN", "::1 mark 9 port 1001: drop", "::1 mark 0 port 1001: accept", "::1 mark 9 port 1003: accept", "127.0.0.1 mark 8 port 1001: accept", "127.0.0.1 mark 0 port 1001: drop")
	inet := ktest.Namespace(t, "nft")
	mustCLI(t, bin, inet, "", "apply", "-f", v4, "--file6", v6, "--family", "inet")
	if d := diffLines(want, mergeProbes(t, inet)); d != "" {
		t.Errorf("ctmatch apply --family inet: verdicts differ from iptables-restore's (xt, want → got):\n%s", d)
	}
	out, err := exec.Command(bin, "translate", "-f", v4, "--file6", v6, "--family", "inet").Output()
	if err != nil {
		t.Fatalf("translate --family inet: %v", err)
	}
	nftNS := ktest.Namespace(t, "nft")
	ktest.Run(t, nftNS, string(out), "nft", "-f", "-")
	if d := diffLines(want, mergeProbes(t, nftNS)); d != "" {
		t.Errorf("nft -f of translate --family inet: verdicts differ from iptables-restore's (xt, want → got):\n%s", d)
	}
}

// mergeOracle writes the files v4text and v6text, loads them with
// iptables-restore and ip6tables-restore (the kernel's xt matches, in
// iptables' own tables) and returns the files and the probes' verdicts
// there, which must hold each of musts (else the probes do not tell what
// apart).
func mergeOracle(t *testing.T, v4text, v6text, what string, musts ...string) (v4, v6 string, want []string) {
	t.Helper()
	dir := t.TempDir()
	v4, v6 = filepath.Join(dir, "rules.v4"), filepath.Join(dir, "rules.v6")
	writeTestFile(t, v4, v4text)
	writeTestFile(t, v6, v6text)
	xt := ktest.Namespace(t, "iptables-restore", "ip6tables-restore")
	ktest.Run(t, xt, v4text, "iptables-restore")
	ktest.Run(t, xt, v6text, "ip6tables-restore")
	want = mergeProbes(t, xt)
	for _, v := range musts {
		if !contains(want, v) {
			t.Fatalf("the probes do not tell %s apart (no %q):\n%s", what, v, strings.Join(want, "\n"))
		}
	}
	return v4, v6, want
}

func contains(lines []string, s string) bool {
	for _, l := range lines {
		if l == s {
			return true
		}
	}
	return false
}

// diffLines lists the lines that differ, index by index.
func diffLines(want, got []string) string {
	var b strings.Builder
	for i := range max(len(want), len(got)) {
		var w, g string
		if i < len(want) {
			w = want[i]
		}
		if i < len(got) {
			g = got[i]
		}
		if w != g {
			fmt.Fprintf(&b, "  %s → %s\n", w, g)
		}
	}
	return b.String()
}

func writeTestFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}
