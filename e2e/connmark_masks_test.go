package e2e

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ctmatch/ctmatch/compile"
	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/internal/kerneltest"
	"github.com/ctmatch/ctmatch/internal/ktest"
	"github.com/ctmatch/ctmatch/kernel"
	"github.com/ctmatch/ctmatch/parse"
)

// combinedMarkRules are CONNMARK saves and restores whose masks combine
// both marks: nfmask and ctmask equal and apart, one of them 0 or full.
var combinedMarkRules = []string{
	"-j CONNMARK --restore-mark --nfmask 0xff0000 --ctmask 0xff0000",
	"-j CONNMARK --restore-mark --nfmask 0xff --ctmask 0xff00",
	"-j CONNMARK --restore-mark --nfmask 0x0 --ctmask 0xf0",
	"-j CONNMARK --restore-mark --nfmask 0xff --ctmask 0x0",
	"-j CONNMARK --save-mark --nfmask 0xff --ctmask 0xff",
	"-j CONNMARK --save-mark --nfmask 0xff --ctmask 0xff00",
	"-j CONNMARK --save-mark --nfmask 0xffffffff --ctmask 0xffff",
	"-p udp -j CONNMARK --save-mark --nfmask 0xff --ctmask 0x0",
}

// The kernel takes the bitwise of two registers these rules lower to
// (NFT_BITWISE_XOR with NFTA_BITWISE_SREG2, Linux 6.13) in ip, ip6 and
// inet tables, and dumps each rule back so that it raises to the rule
// compiled; its debug lines are the ones sent. Proof (1) of the
// translation: there is no nft 1.0.6 to compare the bytes with, so the
// kernel's own reading is the reference.
func TestCombinedMarksKernelDump(t *testing.T) {
	ns := ktest.Namespace(t, "nft")
	ctx := context.Background()
	conn := kerneltest.Dial(t, ns)
	checked := 0
	for _, table := range []expr.Family{expr.FamilyIP, expr.FamilyIP6, expr.FamilyInet} {
		ktest.Run(t, ns, "add table "+table.String()+" t\nadd chain "+table.String()+" t c { type filter hook output priority mangle; }\n", "nft", "-f", "-")
		tx, err := conn.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var all []expr.Rule
		for _, words := range combinedMarkRules {
			for _, fam := range []parse.Family{parse.IPv4, parse.IPv6} {
				if (table == expr.FamilyIP && fam == parse.IPv6) || (table == expr.FamilyIP6 && fam == parse.IPv4) {
					continue
				}
				r, err := parse.ParseText("-t mangle -A OUTPUT "+words, parse.Options{Family: fam})
				if err != nil {
					t.Fatal(err)
				}
				rules, err := compile.Rule(r, compile.Options{Table: table, Family: fam, Counter: true})
				if err != nil {
					t.Fatal(err)
				}
				for _, nr := range rules {
					b, err := nr.Lower(table)
					if err != nil {
						t.Fatal(err)
					}
					tx.AddRule(table, "t", "c", kernel.RuleSpec{Exprs: b, Source: words})
					all = append(all, nr)
				}
			}
		}
		if _, err := tx.Commit(ctx); err != nil {
			t.Fatalf("%v: the kernel refuses the rules: %v", table, err)
		}
		dumped := dumpChain(t, ns, table, "t", "c")
		if len(dumped) != len(all) {
			t.Fatalf("%v: %d rules dumped, %d loaded", table, len(dumped), len(all))
		}
		for i, want := range all {
			got, err := expr.Raise(table, dumped[i].Exprs)
			if err != nil {
				t.Errorf("%v %q: Raise(kernel dump): %v", table, want.String(), err)
				continue
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%v %q: Raise(kernel dump) (-want +got):\n%s", table, want.String(), diff)
			}
			sent, _ := want.Lower(table)
			a, err := expr.DebugLines(sent)
			if err != nil {
				t.Fatal(err)
			}
			b, err := expr.DebugLines(dumped[i].Exprs)
			if err != nil {
				t.Fatal(err)
			}
			// The dump has the counter's values where ctmatch sent none.
			if diff := cmp.Diff(a, b); diff != "" {
				t.Errorf("%v %q: debug lines sent and dumped (-sent +dumped):\n%s", table, want.String(), diff)
			}
			if !strings.Contains(strings.Join(b, "\n"), "[ bitwise reg 1 = ( reg 1 ^ reg 2 ) ]") {
				t.Errorf("%v %q: the kernel dumps no bitwise of two registers:\n%s", table, want.String(), strings.Join(b, "\n"))
			}
			checked++
		}
	}
	if checked == 0 {
		t.Fatal("no rule checked")
	}
	t.Logf("%d rules loaded and dumped back", checked)
}

// combinedMarkProbe is one probe of TestCombinedMarksEffects.
type combinedMarkProbe struct {
	op                   string
	nf, ct               uint32
	ipv6, untracked      bool
	wantMark, wantCtmark uint32 // the kernel's formula; ctmark 0 when untracked
}

// The first marks of TestCombinedMarksEffects' probes.
const combinedMark0, combinedCtmark0 = 0x12345678, 0xabcd9aef

// combinedMarkProbes are TestCombinedMarksEffects' probes.
func combinedMarkProbes() []combinedMarkProbe {
	const mark0, ctmark0 = combinedMark0, combinedCtmark0
	type probe = combinedMarkProbe
	save := func(nf, ct uint32) (uint32, uint32) { return mark0, ctmark0&^ct ^ mark0&nf }
	restore := func(nf, ct uint32) (uint32, uint32) { return mark0&^nf ^ ctmark0&ct, ctmark0 }
	var probes []probe
	for _, p := range []struct {
		op     string
		nf, ct uint32
	}{
		{"--restore-mark", 0xff0000, 0xff0000},
		{"--restore-mark", 0xff, 0xff00},
		{"--restore-mark", 0xff00, 0xffff},
		{"--restore-mark", 0, 0xf0},
		{"--restore-mark", 0xff, 0},
		{"--restore-mark", 0xffff, 0xffffffff},
		{"--save-mark", 0xff, 0xff},
		{"--save-mark", 0xff, 0xff00},
		{"--save-mark", 0xffff, 0xff},
		{"--save-mark", 0xffffffff, 0xffff},
		{"--save-mark", 0xff, 0},
	} {
		f := restore
		if p.op == "--save-mark" {
			f = save
		}
		m, c := f(p.nf, p.ct)
		probes = append(probes,
			probe{op: p.op, nf: p.nf, ct: p.ct, wantMark: m, wantCtmark: c},
			probe{op: p.op, nf: p.nf, ct: p.ct, untracked: true, wantMark: mark0})
	}
	m, c := restore(0xff00, 0xffff)
	probes = append(probes, probe{op: "--restore-mark", nf: 0xff00, ct: 0xffff, ipv6: true, wantMark: m, wantCtmark: c})
	m, c = save(0xffff, 0xff)
	probes = append(probes, probe{op: "--save-mark", nf: 0xffff, ct: 0xff, ipv6: true, wantMark: m, wantCtmark: c})
	probes = append(probes, probe{op: "--restore-mark", nf: 0xff, ct: 0xff00, ipv6: true, untracked: true, wantMark: mark0})
	return probes
}

// combinedMarkTarget is the target under test of a probe.
func combinedMarkTarget(p combinedMarkProbe) []string {
	return []string{"-j", "CONNMARK", p.op, "--nfmask", fmt.Sprintf("%#x", p.nf), "--ctmask", fmt.Sprintf("%#x", p.ct)}
}

// combinedMarkMatch is the match of every rule of probe i.
func combinedMarkMatch(i int) []string {
	return []string{"-p", "udp", "--dport", strconv.Itoa(9300 + i)}
}

// The combined CONNMARK masks' effect, xt_CONNMARK (iptables-legacy)
// against ctmatch's rules, packet by packet: proof (2) of the translation.
// As TestMarkEffects does, a UDP datagram leaves through OUTPUT, where
// the rules give it a first mark and its connection a first mark, then run
// the target under test, then NFLOG it; the packet's mark is the one the
// NFLOG listener receives, the connection's the one conntrack -L shows.
// Without conntrack (a NOTRACK in raw's OUTPUT) xt_CONNMARK changes
// nothing, and ctmatch's rule, whose ct load ends it, must not either,
// where "meta mark set meta mark & ~NFMASK" alone would clear bits.
func TestCombinedMarksEffects(t *testing.T) {
	ns := ktest.Namespace(t, "nft", "iptables-legacy", "ip6tables-legacy", "conntrack")
	bin := ctmatchCLI(t)
	const group = 11
	const mark0, ctmark0 = combinedMark0, combinedCtmark0
	probes := combinedMarkProbes()
	send := func(ipv6 bool, port int) { dialUDP(t, ns, ipv6, port, "mark") }

	connMark := func(ipv6 bool, port int) (uint32, bool) { return conntrackMark(t, ns, ipv6, port) }
	c6 := listenNFLOG(t, ns, group)
	ran := 0
	for i, p := range probes {
		port := 9300 + i
		target := combinedMarkTarget(p)
		match := combinedMarkMatch(i)
		rules := [][]string{
			append(append([]string(nil), match...), "-j", "MARK", "--set-mark", fmt.Sprint(mark0)),
			append(append([]string(nil), match...), "-j", "CONNMARK", "--set-mark", fmt.Sprint(ctmark0)),
			append(append([]string(nil), match...), target...),
			append(append([]string(nil), match...), "-j", "NFLOG", "--nflog-group", strconv.Itoa(group)),
		}
		xt, family, fam := "iptables-legacy", "ip", "-4"
		if p.ipv6 {
			xt, family, fam = "ip6tables-legacy", "ip6", "-6"
		}
		name := fmt.Sprintf("%s %s (untracked %v, %s)", family, strings.Join(target, " "), p.untracked, fam)
		type effect struct {
			mark, ctmark uint32
			tracked      bool
		}
		var got [2]effect
		for run := range 2 {
			if p.untracked {
				ktest.Run(t, ns, "", xt, append([]string{"-t", "raw", "-A", "OUTPUT"}, append(match, "-j", "CT", "--notrack")...)...)
			}
			for _, r := range rules {
				if run == 0 {
					ktest.Run(t, ns, "", xt, append([]string{"-t", "mangle", "-A", "OUTPUT"}, r...)...)
				} else {
					mustCLI(t, bin, ns, "", append([]string{"add", "rule", fam, family, "mangle", "OUTPUT", "--create", "--", "-t", "mangle"}, r...)...)
				}
			}
			send(p.ipv6, port)
			got[run].mark = receiveNFLOG(t, c6).mark
			got[run].ctmark, got[run].tracked = connMark(p.ipv6, port)
			ktest.Run(t, ns, "", xt, "-t", "mangle", "-F", "OUTPUT")
			ktest.Run(t, ns, "", xt, "-t", "raw", "-F", "OUTPUT")
			ktest.Run(t, ns, "", "nft", "flush", "ruleset")
			ktest.Run(t, ns, "", "conntrack", "-F")
			ktest.Run(t, ns, "", "conntrack", "-F", "-f", "ipv6")
		}
		want := effect{p.wantMark, p.wantCtmark, !p.untracked}
		if got[0] != want || got[1] != want {
			t.Errorf("%s: xt gives %+v, ctmatch's rule %+v; the kernel's formula %+v", name, got[0], got[1], want)
		}
		ran++
	}
	if ran < 20 {
		t.Fatalf("%d probes of %d ran", ran, len(probes))
	}
	t.Logf("%d probes: xt_CONNMARK and ctmatch's rules gave the same marks", ran)
}
