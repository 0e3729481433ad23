package compile_test

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ctmatch/ctmatch/compile"
	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/internal/goldens"
	"github.com/ctmatch/ctmatch/parse"
)

var update = flag.Bool("update", false, "rewrite testdata/golden.txt")

// testCase is one line of testdata/cases.txt.
type testCase struct {
	name   string
	family parse.Family
	words  string
}

// tableCase is a case compiled for one table family.
type tableCase struct {
	testCase
	table expr.Family
}

func (c tableCase) key() string { return c.name + " " + c.table.String() }

func loadCases(t testing.TB) []testCase {
	t.Helper()
	cs, err := goldens.Cases()
	if err != nil {
		t.Fatal(err)
	}
	out := make([]testCase, len(cs))
	for i, c := range cs {
		out[i] = testCase{name: c.Name, family: c.Family, words: c.Words}
	}
	return out
}

// tableCases returns every case for each table family its words can go into:
// iptables words into ip and inet tables, ip6tables words into ip6 and inet.
func tableCases(t testing.TB) []tableCase {
	var out []tableCase
	for _, c := range loadCases(t) {
		first := expr.FamilyIP
		if c.family == parse.IPv6 {
			first = expr.FamilyIP6
		}
		out = append(out, tableCase{c, first}, tableCase{c, expr.FamilyInet})
	}
	return out
}

func compileCase(t testing.TB, c tableCase) []expr.Rule {
	t.Helper()
	r, err := parse.ParseText(c.words, parse.Options{Family: c.family})
	if err != nil {
		t.Fatalf("%s: %+v", c.name, err)
	}
	rules, err := compile.Rule(r, compile.Options{Table: c.table, Family: c.family, Counter: true})
	if err != nil {
		t.Fatalf("%s: %v", c.name, err)
	}
	return rules
}

func renderGolden(t testing.TB, cases []tableCase) string {
	var b strings.Builder
	for _, c := range cases {
		fmt.Fprintf(&b, "== %s\n", c.key())
		for _, r := range compileCase(t, c) {
			fmt.Fprintf(&b, "%s\n", r)
		}
	}
	return b.String()
}

// TestGolden compiles every case for each table family and compares the nft
// text with testdata/golden.txt.
func TestGolden(t *testing.T) {
	got := renderGolden(t, tableCases(t))
	if *update {
		if err := os.WriteFile("testdata/golden.txt", []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile("testdata/golden.txt")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("compiled rules differ from testdata/golden.txt (-want +got):\n%s", diff)
	}
}

// TestCasesComplete fails when an option of compile's dispatch table lacks a
// plain or negated case in an ip, ip6 or inet table, or when one of the 28
// decomposition shapes of a single match has no case.
func TestCasesComplete(t *testing.T) {
	type cover struct {
		kind    parse.OptionKind
		negated bool
		table   expr.Family
	}
	seen := map[cover]bool{}
	shapes := map[string]bool{}
	type portCover struct {
		option  string
		negated bool
		table   expr.Family
	}
	ports := map[portCover]bool{}
	for _, c := range tableCases(t) {
		r, err := parse.ParseText(c.words, parse.Options{Family: c.family})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if pr := r.Protocol; pr != nil && pr.Num != 0 {
			ports[portCover{"-p", pr.Negated, c.table}] = true
		}
		for _, m := range r.Matches {
			if pm, ok := m.(*parse.Ports); ok {
				for _, o := range pm.Options {
					ports[portCover{pm.Module + " --" + o.Kind.String(), o.Negated, c.table}] = true
				}
				continue
			}
			if _, ok := m.(*parse.Comment); ok {
				ports[portCover{"comment", false, c.table}] = true
				continue
			}
			if rm, ok := m.(*parse.Recent); ok {
				ports[portCover{"recent " + rm.Mode.String(), rm.Negated, c.table}] = true
				continue
			}
			if im, ok := m.(*parse.ICMP); ok {
				form := "type"
				switch {
				case !im.V6() && im.Option.Type == 255:
					form = "any"
				case !im.Option.AnyCode():
					form = "type/code"
				}
				ports[portCover{im.Module + " " + form, im.Option.Negated, c.table}] = true
				continue
			}
			if hm, ok := m.(*parse.HL); ok {
				ports[portCover{hm.Module + " " + parse.HLOptionName(hm.Module, hm.Option.Kind), hm.Option.Negated, c.table}] = true
				continue
			}
			if om, ok := m.(*parse.Owner); ok {
				for _, o := range []struct {
					name string
					o    *parse.OwnerRange
				}{{"--uid-owner", om.UID}, {"--gid-owner", om.GID}} {
					if o.o != nil {
						form := "id"
						if o.o.Min != o.o.Max {
							form = "range"
						}
						ports[portCover{"owner " + o.name + " " + form, o.o.Negated, c.table}] = true
					}
				}
				continue
			}
			if pm, ok := m.(*parse.Pkttype); ok {
				ports[portCover{"pkttype " + pm.Type.String(), pm.Negated, c.table}] = true
				continue
			}
			if am, ok := m.(*parse.Addrtype); ok {
				for _, o := range []struct {
					name string
					o    *parse.AddrtypeOption
				}{{"--src-type", am.Src}, {"--dst-type", am.Dst}} {
					if o.o != nil {
						ports[portCover{"addrtype " + o.name, o.o.Negated, c.table}] = true
					}
				}
				if l := am.Limit; l != nil {
					ports[portCover{"addrtype " + l.Name(), false, c.table}] = true
				}
				continue
			}
			if mm, ok := m.(*parse.Mark); ok {
				ports[portCover{mm.Module + " --mark", mm.Option.Negated, c.table}] = true
				continue
			}
			if lm, ok := m.(*parse.Limit); ok {
				ports[portCover{"limit --limit", false, c.table}] = true
				if lm.Burst != nil {
					ports[portCover{"limit --limit-burst", false, c.table}] = true
				}
				continue
			}
			if mp, ok := m.(*parse.Multiport); ok {
				ports[portCover{"multiport " + mp.Option.Kind.String(), mp.Option.Negated, c.table}] = true
				continue
			}
			if keys, neg, ok := extCovers(m, c.family); ok {
				for _, k := range keys {
					ports[portCover{k, neg, c.table}] = true
				}
				continue
			}
			ct := m.(*parse.Conntrack)
			for _, o := range ct.Options {
				seen[cover{o.Kind, o.Negated, c.table}] = true
			}
			if len(r.Matches) == 1 {
				if s := shape(ct); s != "" {
					shapes[s] = true
				}
			}
		}
	}
	for _, k := range parse.Kinds() { // every option parse reads, whether compile handles it or not
		for _, neg := range []bool{false, true} {
			if neg && !k.Invertible() {
				continue
			}
			for _, tf := range []expr.Family{expr.FamilyIP, expr.FamilyIP6, expr.FamilyInet} {
				if !seen[cover{k, neg, tf}] {
					t.Errorf("no case for --%s (negated %v) in an %v table", k, neg, tf)
				}
			}
		}
	}
	for _, o := range []string{"-p", "tcp --sport", "tcp --dport", "udp --sport", "udp --dport"} {
		for _, neg := range []bool{false, true} {
			for _, tf := range []expr.Family{expr.FamilyIP, expr.FamilyIP6, expr.FamilyInet} {
				if !ports[portCover{o, neg, tf}] {
					t.Errorf("no case for %s (negated %v) in an %v table", o, neg, tf)
				}
			}
		}
	}
	// The mark and connmark matches, plain and negated, and the limit
	// match's options (neither invertible), in every table.
	for _, o := range []string{"mark --mark", "connmark --mark", "limit --limit", "limit --limit-burst"} {
		for _, neg := range []bool{false, true} {
			if neg && strings.HasPrefix(o, "limit") {
				continue
			}
			for _, tf := range []expr.Family{expr.FamilyIP, expr.FamilyIP6, expr.FamilyInet} {
				if !ports[portCover{o, neg, tf}] {
					t.Errorf("no case for %s (negated %v) in an %v table", o, neg, tf)
				}
			}
		}
	}
	for _, o := range []string{"multiport --sports", "multiport --dports", "multiport --ports"} {
		for _, neg := range []bool{false, true} {
			for _, tf := range []expr.Family{expr.FamilyIP, expr.FamilyIP6, expr.FamilyInet} {
				if !ports[portCover{o, neg, tf}] {
					t.Errorf("no case for %s (negated %v) in an %v table", o, neg, tf)
				}
			}
		}
	}
	for _, tf := range []expr.Family{expr.FamilyIP, expr.FamilyIP6, expr.FamilyInet} {
		if !ports[portCover{"comment", false, tf}] {
			t.Errorf("no case for -m comment in an %v table (it cannot be negated)", tf)
		}
		if !ports[portCover{"recent --set", false, tf}] {
			t.Errorf("no case for -m recent --set in an %v table (its other forms are refused)", tf)
		}
	}
	for _, o := range []string{"icmp type", "icmp type/code", "icmp any", "icmp6 type", "icmp6 type/code"} {
		tables := []expr.Family{expr.FamilyIP, expr.FamilyInet}
		if strings.HasPrefix(o, "icmp6") {
			tables = []expr.Family{expr.FamilyIP6, expr.FamilyInet}
		}
		for _, neg := range []bool{false, true} {
			for _, tf := range tables {
				if !ports[portCover{o, neg, tf}] {
					t.Errorf("no case for %s (negated %v) in an %v table", o, neg, tf)
				}
			}
		}
	}
	// The ttl and hl matches: each option in each table its family goes
	// into, and the equality negated (the only one iptables inverts).
	for _, o := range []string{"ttl --ttl-eq", "ttl --ttl-lt", "ttl --ttl-gt", "hl --hl-eq", "hl --hl-lt", "hl --hl-gt"} {
		tables := []expr.Family{expr.FamilyIP, expr.FamilyInet}
		if strings.HasPrefix(o, "hl") {
			tables = []expr.Family{expr.FamilyIP6, expr.FamilyInet}
		}
		for _, neg := range []bool{false, true} {
			if neg && !strings.HasSuffix(o, "-eq") {
				continue
			}
			for _, tf := range tables {
				if !ports[portCover{o, neg, tf}] {
					t.Errorf("no case for %s (negated %v) in an %v table", o, neg, tf)
				}
			}
		}
	}
	// The addrtype match (iptables only: ip6tables' is refused): each type
	// option plain and negated, each interface limit, in each table.
	for _, o := range []string{"addrtype --src-type", "addrtype --dst-type", "addrtype --limit-iface-in", "addrtype --limit-iface-out"} {
		for _, neg := range []bool{false, true} {
			if neg && strings.Contains(o, "limit") {
				continue
			}
			for _, tf := range []expr.Family{expr.FamilyIP, expr.FamilyInet} {
				if !ports[portCover{o, neg, tf}] {
					t.Errorf("no case for %s (negated %v) in an %v table", o, neg, tf)
				}
			}
		}
	}
	// The owner match: each id option, one id and a range, in each table
	// (a negated one is refused).
	for _, o := range []string{"owner --uid-owner id", "owner --uid-owner range", "owner --gid-owner id", "owner --gid-owner range"} {
		for _, tf := range []expr.Family{expr.FamilyIP, expr.FamilyIP6, expr.FamilyInet} {
			if !ports[portCover{o, false, tf}] {
				t.Errorf("no case for %s in an %v table", o, tf)
			}
		}
	}
	// The pkttype match: each type, plain and negated, in each table.
	for _, o := range []string{"pkttype unicast", "pkttype broadcast", "pkttype multicast", "pkttype otherhost"} {
		for _, neg := range []bool{false, true} {
			for _, tf := range []expr.Family{expr.FamilyIP, expr.FamilyIP6, expr.FamilyInet} {
				if !ports[portCover{o, neg, tf}] {
					t.Errorf("no case for %s (negated %v) in an %v table", o, neg, tf)
				}
			}
		}
	}
	checkExtCovered(t, func(key string, neg bool, tf expr.Family) bool { return ports[portCover{key, neg, tf}] })
	for _, neg := range []string{"plain", "negated"} {
		for bits := 1; bits < 16; bits++ {
			if bits&7 == 0 {
				continue // no state at all: not a --ctstate shape
			}
			s := fmt.Sprintf("%s R∩NB=%v R∖NB=%v N=%v O=%v", neg, bits&1 != 0, bits&2 != 0, bits&4 != 0, bits&8 != 0)
			if !shapes[s] {
				t.Errorf("no case for the decomposition shape %s", s)
			}
		}
	}
	if len(shapes) != 28 {
		t.Errorf("%d decomposition shapes covered, want 28", len(shapes))
	}
}

// shape names which of design.md's sets of a --ctstate match are empty.
func shape(m *parse.Conntrack) string {
	st := m.Option(parse.OptState)
	if st == nil || m.Alias() {
		return ""
	}
	nbStates := parse.StateInvalid | parse.StateUntracked
	realStates := parse.StateNew | parse.StateEstablished | parse.StateRelated
	neg := "plain"
	if st.Negated {
		neg = "negated"
	}
	return fmt.Sprintf("%s R∩NB=%v R∖NB=%v N=%v O=%v", neg, st.States&nbStates != 0, st.States&realStates != 0,
		st.States&(parse.StateSNAT|parse.StateDNAT) != 0, len(m.Options) > 1)
}
