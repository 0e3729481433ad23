package e2e

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/ctmatch/ctmatch/internal/ktest"
)

// markProbe is one probe of TestMarkEffects: the target under test and
// the marks the kernel's formula gives after it, from the first marks
// mark0 and ctmark0.
type markProbe struct {
	name         string
	ipv6         bool
	target       []string
	mark, ctmark uint32
}

// The first marks of TestMarkEffects' probes.
const markEffect0, ctmarkEffect0 = 0x12345678, 0xabcd00ef

// markEffectProbes are TestMarkEffects' probes.
var markEffectProbes = func() []markProbe {
	const mark0, ctmark0 = markEffect0, ctmarkEffect0
	return []markProbe{
		{"mark set", false, []string{"-j", "MARK", "--set-mark", "1"}, 1, ctmark0},
		{"mark xmark", false, []string{"-j", "MARK", "--set-xmark", "0x40000/0xff0000"}, mark0&^0xff0000 ^ 0x40000, ctmark0},
		{"mark set masked", false, []string{"-j", "MARK", "--set-mark", "0x10/0xf0"}, mark0&^0xf0 ^ 0x10, ctmark0},
		{"mark and", false, []string{"-j", "MARK", "--and-mark", "0xff"}, mark0 & 0xff, ctmark0},
		{"mark or", false, []string{"-j", "MARK", "--or-mark", "0x5"}, mark0 | 0x5, ctmark0},
		{"mark xor", false, []string{"-j", "MARK", "--xor-mark", "0xff"}, mark0 ^ 0xff, ctmark0},
		{"mark noop", false, []string{"-j", "MARK", "--set-xmark", "0/0"}, mark0, ctmark0},
		{"connmark set", false, []string{"-j", "CONNMARK", "--set-mark", "0x10"}, mark0, 0x10},
		{"connmark set masked", false, []string{"-j", "CONNMARK", "--set-xmark", "0x10/0xf0"}, mark0, ctmark0&^0xf0 ^ 0x10},
		{"connmark and", false, []string{"-j", "CONNMARK", "--and-mark", "0xff00"}, mark0, ctmark0 & 0xff00},
		{"connmark save", false, []string{"-j", "CONNMARK", "--save-mark"}, mark0, mark0},
		{"connmark save nfmask", false, []string{"-j", "CONNMARK", "--save-mark", "--nfmask", "0xff"}, mark0, mark0 & 0xff},
		{"connmark save nfmask 0", false, []string{"-j", "CONNMARK", "--save-mark", "--nfmask", "0", "--ctmask", "0xff00"}, mark0, ctmark0 &^ 0xff00},
		{"connmark restore", false, []string{"-j", "CONNMARK", "--restore-mark"}, ctmark0, ctmark0},
		{"connmark restore ctmask", false, []string{"-j", "CONNMARK", "--restore-mark", "--ctmask", "0xff0000"}, ctmark0 & 0xff0000, ctmark0},
		// CONNMARK's other operations and --mask; the save with nfmask 0
		// and a ctmask over bits the first connection mark has.
		{"connmark or", false, []string{"-j", "CONNMARK", "--or-mark", "0xff"}, mark0, ctmark0 | 0xff},
		{"connmark xor", false, []string{"-j", "CONNMARK", "--xor-mark", "0xff"}, mark0, ctmark0 ^ 0xff},
		{"connmark set value/mask", false, []string{"-j", "CONNMARK", "--set-mark", "0x1/0xff"}, mark0, ctmark0&^0xff ^ 0x1},
		{"connmark set then mask", false, []string{"-j", "CONNMARK", "--set-mark", "0x1", "--mask", "0xff"}, mark0, ctmark0&^0xff ^ 0x1},
		{"connmark save mask", false, []string{"-j", "CONNMARK", "--save-mark", "--mask", "0xff"}, mark0, ctmark0&^0xff ^ mark0&0xff},
		{"connmark save nfmask 0 ctmask set bits", false, []string{"-j", "CONNMARK", "--save-mark", "--nfmask", "0", "--ctmask", "0xff0000"}, mark0, ctmark0 &^ 0xff0000},
		// The same in ip6tables: every MARK and CONNMARK operation, the
		// masks, save and restore.
		{"mark6 set masked", true, []string{"-j", "MARK", "--set-mark", "0x10/0xf0"}, mark0&^0xf0 ^ 0x10, ctmark0},
		{"mark6 xmark", true, []string{"-j", "MARK", "--set-xmark", "0x1/0x3"}, mark0&^0x3 ^ 0x1, ctmark0},
		{"mark6 and", true, []string{"-j", "MARK", "--and-mark", "0xf"}, mark0 & 0xf, ctmark0},
		{"mark6 or", true, []string{"-j", "MARK", "--or-mark", "0x100"}, mark0 | 0x100, ctmark0},
		{"mark6 xor", true, []string{"-j", "MARK", "--xor-mark", "0x8"}, mark0 ^ 0x8, ctmark0},
		{"connmark6 set then mask", true, []string{"-j", "CONNMARK", "--set-mark", "0x2", "--mask", "0xff"}, mark0, ctmark0&^0xff ^ 0x2},
		{"connmark6 xmark", true, []string{"-j", "CONNMARK", "--set-xmark", "0x2/0x3"}, mark0, ctmark0&^0x3 ^ 0x2},
		{"connmark6 and", true, []string{"-j", "CONNMARK", "--and-mark", "0xf0"}, mark0, ctmark0 & 0xf0},
		{"connmark6 or", true, []string{"-j", "CONNMARK", "--or-mark", "0x100"}, mark0, ctmark0 | 0x100},
		{"connmark6 xor", true, []string{"-j", "CONNMARK", "--xor-mark", "0x1"}, mark0, ctmark0 ^ 0x1},
		{"connmark6 restore", true, []string{"-j", "CONNMARK", "--restore-mark"}, ctmark0, ctmark0},
		{"connmark6 save nfmask 0", true, []string{"-j", "CONNMARK", "--save-mark", "--nfmask", "0", "--ctmask", "0xff0000"}, mark0, ctmark0 &^ 0xff0000},
	}
}()

// markEffectMatch is the match of every rule of TestMarkEffects' probe i.
func markEffectMatch(i int) []string {
	return []string{"-p", "udp", "--dport", strconv.Itoa(9100 + i)}
}

// markEffectRule is the rule under test of TestMarkEffects' probe i, as
// the test loads it into mangle OUTPUT.
func markEffectRule(i int) []string {
	return append(markEffectMatch(i), markEffectProbes[i].target...)
}

// MARK's and CONNMARK's effect, xt (iptables-legacy) against ctmatch's
// rules: for each probe, a UDP datagram leaves through OUTPUT, where the
// rules give it a first mark and its connection a first mark, then run the
// target under test, then NFLOG it. The mark a later rule reads is the mark
// the NFLOG listener receives (NFULA_MARK), and the connection's mark is
// what conntrack -L shows in the namespace. Both are compared between the
// two runs and with the kernel's formula, (mark & ~mask) ^ value, computed
// here.
func TestMarkEffects(t *testing.T) {
	ns := ktest.Namespace(t, "nft", "iptables-legacy", "ip6tables-legacy", "conntrack")
	bin := ctmatchCLI(t)
	const group = 9
	const mark0, ctmark0 = markEffect0, ctmarkEffect0
	probes := markEffectProbes
	send := func(ipv6 bool, port int) { dialUDP(t, ns, ipv6, port, "mark") }

	connMark := func(ipv6 bool, port int) uint32 {
		m, ok := conntrackMark(t, ns, ipv6, port)
		if !ok {
			t.Fatalf("conntrack -L shows no mark for port %d:\n%s", port, conntrackUDP(t, ns, ipv6, port))
		}
		return m
	}
	c := listenNFLOG(t, ns, group)
	for i, p := range probes {
		port := 9100 + i
		match := markEffectMatch(i)
		rules := [][]string{
			append(append([]string(nil), match...), "-j", "MARK", "--set-mark", fmt.Sprint(mark0)),
			append(append([]string(nil), match...), "-j", "CONNMARK", "--set-mark", fmt.Sprint(ctmark0)),
			markEffectRule(i),
			append(append([]string(nil), match...), "-j", "NFLOG", "--nflog-group", strconv.Itoa(group)),
		}
		xt, cli := "iptables-legacy", []string{"add", "rule", "ip", "mangle", "OUTPUT", "--create", "--", "-t", "mangle"}
		if p.ipv6 {
			xt, cli = "ip6tables-legacy", []string{"add", "rule", "-6", "ip6", "mangle", "OUTPUT", "--create", "--", "-t", "mangle"}
		}
		type effect struct{ mark, ctmark uint32 }
		var got [2]effect
		for run := range 2 {
			for _, r := range rules {
				if run == 0 {
					ktest.Run(t, ns, "", xt, append([]string{"-t", "mangle", "-A", "OUTPUT"}, r...)...)
				} else {
					mustCLI(t, bin, ns, "", append(append([]string(nil), cli...), r...)...)
				}
			}
			send(p.ipv6, port)
			got[run] = effect{receiveNFLOG(t, c).mark, connMark(p.ipv6, port)}
			ktest.Run(t, ns, "", xt, "-t", "mangle", "-F", "OUTPUT")
			ktest.Run(t, ns, "", "nft", "flush", "ruleset")
			ktest.Run(t, ns, "", "conntrack", "-F")
			ktest.Run(t, ns, "", "conntrack", "-F", "-f", "ipv6")
		}
		want := effect{p.mark, p.ctmark}
		if got[0] != want || got[1] != want {
			t.Errorf("%s (%s): xt gives mark %#x ctmark %#x, ctmatch's rules mark %#x ctmark %#x; the kernel's formula %#x %#x",
				p.name, strings.Join(p.target, " "), got[0].mark, got[0].ctmark, got[1].mark, got[1].ctmark, want.mark, want.ctmark)
		}
	}
	t.Logf("%d probes: xt and ctmatch's rules gave the marks of the kernel's formula", len(probes))
}

// iptables-translate's texts for CONNMARK --restore-mark and --save-mark with
// masks that combine both marks (which ctmatch translates exactly with a
// bitwise of two registers, TestCombinedMarksEffects) do something else than
// xt_CONNMARK: "meta mark set ct mark and M" clears the packet mark's bits
// outside M, and "ct mark set mark and M" the connection mark's, where
// xt_CONNMARK keeps them.
func TestConnmarkMasksIptablesTranslateWrong(t *testing.T) {
	ns := ktest.Namespace(t, "nft", "iptables-legacy", "iptables-translate", "conntrack")
	const group = 10
	const mark0, ctmark0 = 0x12345678, 0xabcd00ef
	c := listenNFLOG(t, ns, group)
	for i, p := range []struct {
		op           string
		mark, ctmark uint32 // xt_CONNMARK's
	}{
		{"--restore-mark", mark0&^0xff0000 ^ ctmark0&0xff0000, ctmark0},
		{"--save-mark", mark0, ctmark0&^0xff0000 ^ mark0&0xff0000},
	} {
		port := 9200 + i
		match := []string{"-p", "udp", "--dport", strconv.Itoa(port)}
		target := append(append([]string(nil), match...), "-j", "CONNMARK", p.op, "--nfmask", "0xff0000", "--ctmask", "0xff0000")
		send := func() { dialUDP(t, ns, false, port, "mark") }

		ctmark := func() uint32 {
			m, ok := conntrackMark(t, ns, false, port)
			if !ok {
				t.Fatalf("conntrack -L shows no mark:\n%s", conntrackUDP(t, ns, false, port))
			}
			return m
		}

		for _, r := range [][]string{
			append(append([]string(nil), match...), "-j", "MARK", "--set-mark", fmt.Sprint(mark0)),
			append(append([]string(nil), match...), "-j", "CONNMARK", "--set-mark", fmt.Sprint(ctmark0)),
			target,
			append(append([]string(nil), match...), "-j", "NFLOG", "--nflog-group", strconv.Itoa(group)),
		} {
			ktest.Run(t, ns, "", "iptables-legacy", append([]string{"-t", "mangle", "-A", "OUTPUT"}, r...)...)
		}
		send()
		xtMark, xtCt := receiveNFLOG(t, c).mark, ctmark()
		ktest.Run(t, ns, "", "iptables-legacy", "-t", "mangle", "-F", "OUTPUT")
		ktest.Run(t, ns, "", "conntrack", "-F")
		if xtMark != p.mark || xtCt != p.ctmark {
			t.Fatalf("%s: xt_CONNMARK gives mark %#x ctmark %#x, want %#x %#x", p.op, xtMark, xtCt, p.mark, p.ctmark)
		}

		tr := ktest.Run(t, ns, "", "iptables-translate", append([]string{"-t", "mangle", "-A", "OUTPUT"}, target...)...)
		text := strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(tr), "nft '"), "'")
		script := "add table ip mangle\nadd chain ip mangle OUTPUT { type route hook output priority mangle; }\n" +
			fmt.Sprintf("add rule ip mangle OUTPUT udp dport %d meta mark set %#x\n", port, mark0) +
			fmt.Sprintf("add rule ip mangle OUTPUT udp dport %d ct mark set %#x\n", port, ctmark0) +
			text + "\n" +
			fmt.Sprintf("add rule ip mangle OUTPUT udp dport %d log group %d\n", port, group)
		ktest.Run(t, ns, script, "nft", "-f", "-")
		send()
		trMark, trCt := receiveNFLOG(t, c).mark, ctmark()
		ktest.Run(t, ns, "", "nft", "flush", "ruleset")
		ktest.Run(t, ns, "", "conntrack", "-F")
		if trMark == xtMark && trCt == xtCt {
			t.Errorf("%s: iptables-translate's %q gives the same marks as xt_CONNMARK (%#x %#x): it is not wrong any more", p.op, text, trMark, trCt)
		} else {
			t.Logf("%s: xt_CONNMARK mark %#x ctmark %#x; iptables-translate's %q mark %#x ctmark %#x", p.op, xtMark, xtCt, text, trMark, trCt)
		}
	}
}
