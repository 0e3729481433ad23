package ctmatch

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/parse"
)

func inetRules(t *testing.T, v6 bool, lines ...string) []*Rule {
	t.Helper()
	var out []*Rule
	for _, l := range lines {
		r, err := Translate(l, Options{Table: expr.FamilyInet, IPv6: v6})
		if err != nil {
			t.Fatalf("%s: %v", l, err)
		}
		out = append(out, r)
	}
	return out
}

// listing is the merged chain as lines: the nft text of each rule's
// pieces, "4:", "6:" or "46:" before the words of its rule.
func listing(rs []*Rule) []string {
	var out []string
	for _, r := range rs {
		fam := "4"
		switch {
		case r.Both:
			fam = "46"
		case r.Family == parse.IPv6:
			fam = "6"
		}
		out = append(out, fam+": "+strings.ReplaceAll(strings.TrimSuffix(r.String(), "\n"), "\n", "; "))
	}
	return out
}

func TestMergeChain(t *testing.T) {
	v4 := inetRules(t, false,
		"-m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT",
		"-s 10.0.0.0/8 -j DROP",
		"-i lo -j ACCEPT",
		"-p icmp -j ACCEPT",
		"-m limit --limit 5/sec -j ACCEPT",
	)
	v6 := inetRules(t, true,
		"-m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT",
		"-i lo -j ACCEPT",
		"-p ipv6-icmp -j ACCEPT",
		"-m limit --limit 5/sec -j ACCEPT",
		"-p udp -j DROP",
	)
	got := listing(MergeChain(v4, v6))
	want := []string{
		"46: ct state established,related counter accept",
		"4: meta nfproto ipv4 ip saddr 10.0.0.0/8 counter drop",
		`46: iifname "lo" counter accept`,
		"4: meta nfproto ipv4 meta l4proto 1 counter accept",
		// Each family keeps its own limit's bucket.
		"4: meta nfproto ipv4 limit rate 5/second counter accept",
		"6: meta nfproto ipv6 meta l4proto 58 counter accept",
		"6: meta nfproto ipv6 limit rate 5/second counter accept",
		"6: meta nfproto ipv6 meta l4proto udp counter drop",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("merged chain (-want +got):\n%s", diff)
	}
}

// TestMergeChainCrossed: two rules the families have in opposite orders
// can share only one place.
func TestMergeChainCrossed(t *testing.T) {
	a, b := "-p tcp -j ACCEPT", "-p udp -j DROP"
	got := listing(MergeChain(inetRules(t, false, a, b), inetRules(t, true, b, a)))
	want := []string{
		"4: meta nfproto ipv4 meta l4proto tcp counter accept",
		"46: meta l4proto udp counter drop",
		"6: meta nfproto ipv6 meta l4proto tcp counter accept",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("merged chain (-want +got):\n%s", diff)
	}
}

// TestLCS holds lcs to a plain dynamic programme on random sequences: a
// common subsequence, in order, only of keys ≥ 0, as long as the longest.
func TestLCS(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for n := range 2000 {
		a := make([]int, rng.IntN(12))
		b := make([]int, rng.IntN(12))
		for _, s := range [][]int{a, b} {
			for i := range s {
				s[i] = rng.IntN(5) - 1
			}
		}
		pairs := lcs(a, b, 0, 0, nil)
		for k, p := range pairs {
			if a[p[0]] < 0 || a[p[0]] != b[p[1]] || k > 0 && (p[0] <= pairs[k-1][0] || p[1] <= pairs[k-1][1]) {
				t.Fatalf("case %d: lcs(%v, %v) = %v: not a common subsequence", n, a, b, pairs)
			}
		}
		if want := lcsLen(a, b); len(pairs) != want {
			t.Fatalf("case %d: lcs(%v, %v) = %v, %d pairs; the longest has %d", n, a, b, pairs, len(pairs), want)
		}
	}
}

func lcsLen(a, b []int) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			d[i][j] = max(d[i-1][j], d[i][j-1])
			if a[i-1] >= 0 && a[i-1] == b[j-1] {
				d[i][j] = max(d[i][j], d[i-1][j-1]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}

func readRuleset(t *testing.T, v6 bool, text string) Ruleset {
	t.Helper()
	s := NewSaveRuleset(Options{Table: expr.FamilyInet, IPv6: v6, NoCounter: true})
	for i, l := range strings.Split(strings.TrimSpace(text), "\n") {
		if _, err := s.Line(l, parse.Position{File: "f", Line: i + 1}); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
	}
	if _, err := s.End(); err != nil {
		t.Fatal(err)
	}
	return s.Ruleset()
}

func TestMergeInet(t *testing.T) {
	v4 := readRuleset(t, false, `
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:svc - [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -j svc
-I INPUT 1 -m conntrack --ctstate INVALID -j DROP
-A svc -p tcp -j ACCEPT
COMMIT
*nat
:POSTROUTING ACCEPT [0:0]
COMMIT
`)
	v6 := readRuleset(t, true, `
*filter
:INPUT DROP [0:0]
:svc - [0:0]
-A INPUT -m conntrack --ctstate INVALID -j DROP
-A INPUT -i lo -j ACCEPT
-A INPUT -j svc
-A svc -p tcp -j ACCEPT
-A svc -p udp -j ACCEPT
COMMIT
*raw
:PREROUTING ACCEPT [0:0]
COMMIT
`)
	got := mergedScript(t, v4, v6)
	want := `add table inet filter
add chain inet filter INPUT { type filter hook input priority 0; policy accept; }
add chain inet filter FORWARD { type filter hook forward priority 0; policy drop; }
add chain inet filter svc
add rule inet filter INPUT ct state invalid drop
add rule inet filter INPUT iifname "lo" accept
add rule inet filter INPUT jump svc
add rule inet filter INPUT meta nfproto ipv6 drop
add rule inet filter FORWARD meta nfproto ipv6 accept
add rule inet filter svc meta l4proto tcp accept
add rule inet filter svc meta nfproto ipv6 meta l4proto udp accept
add table inet nat
add chain inet nat POSTROUTING { type nat hook postrouting priority 100; policy accept; }
add table inet raw
add chain inet raw PREROUTING { type filter hook prerouting priority -300; policy accept; }
`
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("merged script (-want +got):\n%s", diff)
	}
}

func TestTranslateBoth(t *testing.T) {
	r, err := TranslateBoth("-p tcp -m conntrack --ctstate NEW -j ACCEPT", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := r.String(), "meta l4proto tcp ct state new counter accept\n"; got != want || !r.Both || r.Table != expr.FamilyInet {
		t.Errorf("TranslateBoth = %q (Both %v, table %s), want %q for both families of an inet table", got, r.Both, r.Table, want)
	}
	// xt_tcpudp skips IPv4 fragments by their offset, IPv6 ones by their
	// fragment header: two other nft forms.
	if _, err := TranslateBoth("-p tcp --dport 22 -j ACCEPT", Options{}); !errors.Is(err, ErrNotShared) {
		t.Errorf("TranslateBoth of -p tcp --dport 22: %v, want ErrNotShared", err)
	}
	// An address of one family: not the same rule in both, with the
	// parse error, and no advice about -6, which the caller did not give.
	_, err = TranslateBoth("-s 10.0.0.1 -j ACCEPT", Options{})
	var pe *parse.Error
	if !errors.Is(err, ErrNotShared) || !errors.As(err, &pe) || strings.Contains(err.Error(), "-6") {
		t.Errorf("TranslateBoth of -s 10.0.0.1: %v, want ErrNotShared and the *parse.Error, without -6", err)
	}
	// The same nft rules, but a limit: its bucket is the rule's own.
	if _, err := TranslateBoth("-m limit --limit 3/min -j ACCEPT", Options{}); !errors.Is(err, ErrNotShared) || !strings.Contains(err.Error(), "holds a limit") {
		t.Errorf("TranslateBoth of -m limit: %v, want ErrNotShared saying it holds a limit", err)
	}
}

func ExampleMergeChain() {
	compile := func(text string, v6 bool) *Rule {
		r, err := Translate(text, Options{Table: expr.FamilyInet, IPv6: v6, NoCounter: true})
		if err != nil {
			panic(err)
		}
		return r
	}
	v4 := []*Rule{
		compile("-m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT", false),
		compile("-s 192.0.2.0/24 -j DROP", false),
		compile("-i lo -j ACCEPT", false),
	}
	v6 := []*Rule{
		compile("-m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT", true),
		compile("-i lo -j ACCEPT", true),
		compile("-s 2001:db8::/32 -j DROP", true),
	}
	for _, r := range MergeChain(v4, v6) {
		fmt.Print(r)
	}
	// Output:
	// ct state established,related accept
	// meta nfproto ipv4 ip saddr 192.0.2.0/24 drop
	// iifname "lo" accept
	// meta nfproto ipv6 ip6 saddr 2001:db8::/32 drop
}

// TestSharedOtherWords: rules that compile alike are shared although they
// are written otherwise; the rule keeps the IPv4 words.
func TestSharedOtherWords(t *testing.T) {
	v4 := inetRules(t, false, "-m state --state NEW -j ACCEPT")
	v6 := inetRules(t, true, "-m conntrack --ctstate NEW -j ACCEPT")
	r, ok := Shared(v4[0], v6[0])
	if !ok {
		t.Fatal("-m state --state NEW and -m conntrack --ctstate NEW are not shared")
	}
	if got := Words(r.Source); got != "-m state --state NEW -j ACCEPT" || r.String() != "ct state new counter accept\n" {
		t.Errorf("shared rule: %q, %q", got, r.String())
	}
}

// BenchmarkMergeChain merges two chains of 2,000 rules each, every third
// rule of each family its own (the others the same in both, in the same
// order), which leaves a long middle for the LCS.
func BenchmarkMergeChain(b *testing.B) {
	var v4, v6 []*Rule
	for i := range 2000 {
		w := fmt.Sprintf("-m mark --mark %d -j ACCEPT", i)
		r4, err := Translate(w, Options{Table: expr.FamilyInet})
		if err != nil {
			b.Fatal(err)
		}
		r6, err := Translate(w, Options{Table: expr.FamilyInet, IPv6: true})
		if err != nil {
			b.Fatal(err)
		}
		if i%3 == 0 {
			r4, _ = Translate(fmt.Sprintf("-s 10.0.0.%d -j DROP", i%250), Options{Table: expr.FamilyInet})
			r6, _ = Translate(fmt.Sprintf("-s 2001:db8::%x -j DROP", i), Options{Table: expr.FamilyInet, IPv6: true})
		}
		v4, v6 = append(v4, r4), append(v6, r6)
	}
	b.ResetTimer()
	for range b.N {
		if out := MergeChain(v4, v6); len(out) != 2000+2000/3+1 {
			b.Fatalf("%d rules out", len(out))
		}
	}
}

// Policies that differ, and a -g in the built-in chain of both families:
// where the chain that -g goes to ends, each family meets its own policy,
// which one inet chain cannot hold; the merge says so. A -g in one family
// only makes that family's policy the chain's.
func TestMergeInetGotoPolicies(t *testing.T) {
	const v4 = "*filter\n:INPUT ACCEPT [0:0]\n:x - [0:0]\n-A INPUT -i eth0 -g x\nCOMMIT\n"
	const v6 = "*filter\n:INPUT DROP [0:0]\n:x - [0:0]\n-A INPUT -i eth1 -g x\n-A INPUT -j RETURN\nCOMMIT\n"
	_, err := MergeInet(readRuleset(t, false, v4), readRuleset(t, true, v6), Options{NoCounter: true})
	if err == nil || !strings.Contains(err.Error(), `chain INPUT: policy ACCEPT for IPv4 and DROP for IPv6, and a -g in both ("-i eth0 -g x", "-i eth1 -g x")`) {
		t.Errorf("MergeInet with -g in both INPUT chains: %v, want the refusal", err)
	}
	got := mergedScript(t, readRuleset(t, false, "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j RETURN\nCOMMIT\n"), readRuleset(t, true, v6))
	want := `add table inet filter
add chain inet filter INPUT { type filter hook input priority 0; policy drop; }
add chain inet filter x
add rule inet filter INPUT meta nfproto ipv4 accept
add rule inet filter INPUT meta nfproto ipv6 iifname "eth1" goto x
add rule inet filter INPUT meta nfproto ipv6 return
add rule inet filter INPUT meta nfproto ipv4 accept
`
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("merged script (-want +got):\n%s", diff)
	}
}

// The rulesets in the wrong order are refused: the policy rule of a family
// would be written for the other one.
func TestMergeInetFamiliesSwapped(t *testing.T) {
	v4 := readRuleset(t, false, "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -i lo -j ACCEPT\nCOMMIT\n")
	v6 := readRuleset(t, true, "*filter\n:INPUT DROP [0:0]\n-A INPUT -i lo -j ACCEPT\nCOMMIT\n")
	if _, err := MergeInet(v6, v4, Options{}); err == nil || !strings.Contains(err.Error(), "a rule of ip6tables words among the iptables rules") {
		t.Errorf("MergeInet(v6, v4): %v, want a refusal", err)
	}
}

// mergedScript merges v4 and v6 (MergeInet, without counters) and returns
// the script of the inet tables.
func mergedScript(t *testing.T, v4, v6 Ruleset) string {
	t.Helper()
	m, err := MergeInet(v4, v6, Options{NoCounter: true})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := m.WriteScript(&b, expr.FamilyInet); err != nil {
		t.Fatal(err)
	}
	return b.String()
}
