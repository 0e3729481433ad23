package e2e

import (
	"context"
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
