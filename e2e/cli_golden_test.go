package e2e

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/ctmatch/ctmatch"
	"github.com/ctmatch/ctmatch/compile"
	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/internal/kerneltest"
	"github.com/ctmatch/ctmatch/internal/ktest"
	"github.com/ctmatch/ctmatch/internal/netns"
	"github.com/ctmatch/ctmatch/internal/nftforms"
	"github.com/ctmatch/ctmatch/internal/nftwire"
	"github.com/ctmatch/ctmatch/parse"
)

// dumpChain reads the rules of a chain with a raw GETRULE dump.
func dumpChain(t *testing.T, ns *netns.NS, f expr.Family, table, chain string) []nftwire.Rule {
	t.Helper()
	var rules []nftwire.Rule
	if err := ns.Do(func() error {
		var err error
		rules, err = nftwire.GetRules(uint8(f), table, chain)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return rules
}

// handRule returns the nft text of a golden case's hand-written rule as
// nft -f takes it in a table of family f: after "meta nfproto" in an inet
// table, and, for a ct port match without a protocol, which nft 1.0.6 cannot
// parse, after "ct original protocol 6"; and how many expressions that
// protocol test puts after the nfproto test's (0 or 2), to leave out when
// the kernel's dumps are compared (sameDump).
func handRule(f expr.Family, fam parse.Family, text string) (string, int) {
	pre, skip := "", 0
	if f == expr.FamilyInet {
		pre = "meta nfproto ipv4 "
		if fam == parse.IPv6 {
			pre = "meta nfproto ipv6 "
		}
	}
	if strings.Contains(text, "proto-") && !strings.Contains(text, "protocol 6 ") && !strings.Contains(text, "protocol tcp ") {
		pre += "ct original protocol 6 "
		skip = 2
	}
	return pre + text, skip
}

// sameDump compares ctmatch's rule with nft's for the hand-written text,
// as the kernel dumped them, leaving out the skip expressions handRule put
// in nft's; it returns a description of the first difference, or "".
func sameDump(t *testing.T, f expr.Family, ours, hand []byte, skip int) string {
	a, b := listElems(t, ours), listElems(t, hand)
	if len(a) == 0 {
		return "the kernel holds no expressions"
	}
	if skip > 0 {
		nf := 0
		if f == expr.FamilyInet {
			nf = 2 // meta nfproto: load and cmp
		}
		b = append(b[:nf:nf], b[nf+skip:]...)
	}
	return sameExprsAs(t, a, b)
}

// sameExprsAs is sameExprs, but with nft 1.1.2 or later, which sends some
// meanings in forms of its own (internal/nftforms), it compares the
// expressions' debug lines in one form where the bytes differ.
func sameExprsAs(t *testing.T, a, b [][]byte) string {
	d := sameExprs(a, b)
	if d != "" && nftVersion(t).NewForms() {
		la, errA := expr.DebugLines(bytes.Join(a, nil))
		lb, errB := expr.DebugLines(bytes.Join(b, nil))
		if errA == nil && errB == nil && slices.Equal(nftforms.Lines(la), nftforms.Lines(lb)) {
			return ""
		}
	}
	return d
}

// sameExprs compares two rules' expressions element by element, and
// returns a description of the first difference, or "".
func sameExprs(a, b [][]byte) string {
	if len(a) != len(b) {
		return "different numbers of expressions"
	}
	for k := range a {
		if string(a[k]) != string(b[k]) {
			return fmt.Sprintf("expression %d differs:\nctmatch % x\nnft     % x", k+1, a[k], b[k])
		}
	}
	return ""
}

// For every golden case of compile/testdata/cases.txt, in ip, ip6 and inet
// tables: ctmatch add rule leaves in the kernel, byte for byte, the rules
// nft -f leaves for the hand-written text (handles, positions, userdata and
// counter values aside); list -o iptables prints each case's canonical
// words back on one line; and list -o nft, loaded with nft -f into another
// chain, gives the same bytes again (except the port cases, which nft 1.0.6
// cannot parse; with nft 1.1.2 and later, the same in sameExprsAs).
func TestCLIGoldenCases(t *testing.T) {
	ns := ktest.Namespace(t, "nft")
	bin := ctmatchCLI(t)
	cases := goldenCases(t)
	for _, table := range []expr.Family{expr.FamilyIP, expr.FamilyIP6, expr.FamilyInet} {
		fam := table.String()
		ktest.Run(t, ns, "add table "+fam+" t\nadd chain "+fam+" t hand\nadd chain "+fam+" t relisted\n"+
			"add chain "+fam+" t new_conns\nadd chain "+fam+" t other\n", "nft", "-f", "-")
		type piece struct {
			name    string
			rule    expr.Rule
			skipPre int  // expressions nft got in front of the hand-written rule
			port    bool // nft 1.0.6 cannot parse ctmatch's text
		}
		var pieces []piece
		var hand strings.Builder
		var wantLines []string
		first := true
		for _, c := range cases {
			if (table == expr.FamilyIP && c.family == parse.IPv6) || (table == expr.FamilyIP6 && c.family == parse.IPv4) {
				continue
			}
			args := []string{"add", "rule", fam, "t", "ours"}
			if first {
				// A regular chain ("ours" is no built-in name), in the
				// table nft made: --force lets --create add it there.
				args = append(args, "--create", "--force")
				first = false
			}
			if c.family == parse.IPv6 {
				args = append(args, "-6")
			}
			// The words without their -A INPUT, if any: add rule takes the
			// chain as an argument.
			r, err := parse.ParseText(c.words, parse.Options{Family: c.family})
			if err != nil {
				t.Fatal(err)
			}
			if r.Target != nil && r.Target.Name == "NETMAP" {
				continue // its chain says its direction: cli_netmap_test.go
			}
			words := ctmatch.Words(r)
			if tn := r.TableName(); tn != "filter" {
				// A target valid only in its table (MASQUERADE in nat)
				// needs its -t.
				words = "-t " + tn + " " + words
			}
			mustCLI(t, bin, ns, "", append(args, "--", words)...)
			line := "-A ours " + ctmatch.Words(r)
			if tt := compile.TargetTable(r); tt != "" && tt != "filter" {
				// Listed with its -t, a whole iptables command.
				line = "-t " + tt + " " + line
			}
			if table == expr.FamilyInet && c.family == parse.IPv6 {
				line += " # -6"
			}
			wantLines = append(wantLines, line)
			rules, err := compile.Rule(r, compile.Options{Table: table, Family: c.family, Counter: true})
			if err != nil {
				t.Fatal(err)
			}
			if len(rules) != len(c.hand) {
				t.Fatalf("%s: %d rules, %d hand-written", c.name, len(rules), len(c.hand))
			}
			for i, nr := range rules {
				text, skip := handRule(table, c.family, c.hand[i])
				hand.WriteString("add rule " + fam + " t hand " + text + "\n")
				pieces = append(pieces, piece{name: c.name, rule: nr, skipPre: skip, port: skip > 0})
			}
		}
		ktest.Run(t, ns, hand.String(), "nft", "-f", "-")

		// The kernel holds the same bytes.
		ours := dumpChain(t, ns, table, "t", "ours")
		handRules := dumpChain(t, ns, table, "t", "hand")
		if len(pieces) == 0 || len(ours) != len(pieces) || len(handRules) != len(pieces) {
			t.Fatalf("%v: %d and %d rules dumped, want %d", table, len(ours), len(handRules), len(pieces))
		}
		conn := kerneltest.Dial(t, ns)
		for i, p := range pieces {
			if p.rule.HasLookup() {
				if d := sameSets(t, conn, table, "t", ours[i].Exprs, handRules[i].Exprs); d != "" {
					t.Errorf("%v %s: %q: %s", table, p.name, p.rule.String(), d)
				}
			}
			if d := sameDump(t, table, unnamed(t, ours[i].Exprs), unnamed(t, handRules[i].Exprs), p.skipPre); d != "" {
				t.Errorf("%v %s: %q: %s", table, p.name, p.rule.String(), d)
			}
		}

		// list -o iptables: one line per case, its canonical words.
		out := mustCLI(t, bin, ns, "", "list", "chain", fam, "t", "ours", "-o", "iptables")
		var got []string
		for _, l := range strings.Split(out, "\n") {
			if strings.HasPrefix(l, "-A ") || strings.HasPrefix(l, "-t ") {
				got = append(got, l)
			} else if l != "" && !strings.HasPrefix(l, "# table ") && !strings.HasPrefix(l, "# chain ") {
				t.Errorf("%v: list -o iptables printed %q", table, l)
			}
		}
		if len(got) != len(wantLines) {
			t.Errorf("%v: list -o iptables printed %d rules, want %d", table, len(got), len(wantLines))
		}
		for i := range min(len(got), len(wantLines)) {
			if got[i] != wantLines[i] {
				t.Errorf("%v: list -o iptables line %d:\n got %s\nwant %s", table, i+1, got[i], wantLines[i])
			}
		}

		// list -o nft, loaded back with nft -f into another chain.
		out = mustCLI(t, bin, ns, "", "list", "chain", fam, "t", "ours", "-o", "nft")
		var texts []string
		for _, l := range strings.Split(out, "\n") {
			if strings.HasPrefix(l, "\t\t") && !strings.HasPrefix(l, "\t\t#") {
				texts = append(texts, strings.TrimPrefix(l, "\t\t"))
			}
		}
		if len(texts) != len(pieces) {
			t.Fatalf("%v: list -o nft printed %d rules, want %d:\n%s", table, len(texts), len(pieces), out)
		}
		var script strings.Builder
		var kept []int
		for i, p := range pieces {
			if p.port && !nftAtLeast(t, 1, 0, 7) {
				continue
			}
			script.WriteString("add rule " + fam + " t relisted " + texts[i] + "\n")
			kept = append(kept, i)
		}
		ktest.Run(t, ns, script.String(), "nft", "-f", "-")
		relisted := dumpChain(t, ns, table, "t", "relisted")
		if len(relisted) != len(kept) {
			t.Fatalf("%v: %d rules relisted, want %d", table, len(relisted), len(kept))
		}
		for k, i := range kept {
			if pieces[i].rule.HasLookup() {
				if d := sameSets(t, conn, table, "t", ours[i].Exprs, relisted[k].Exprs); d != "" {
					t.Errorf("%v %s: list -o nft gave %q, whose sets nft loads otherwise: %s", table, pieces[i].name, texts[i], d)
				}
			}
			if d := sameExprsAs(t, listElems(t, unnamed(t, ours[i].Exprs)), listElems(t, unnamed(t, relisted[k].Exprs))); d != "" {
				t.Errorf("%v %s: list -o nft gave %q, which nft loads otherwise: %s", table, pieces[i].name, texts[i], d)
			}
		}
		t.Logf("%v: %d cases, %d nft rules compared; %d reloaded from list -o nft", table, len(wantLines), len(pieces), len(kept))
	}
}
