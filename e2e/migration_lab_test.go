package e2e

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ctmatch/ctmatch/internal/lab"
	"github.com/ctmatch/ctmatch/internal/netns"
)

// The migration lab: whole iptables-save rulesets (testdata/migration),
// each loaded into a lab of its own once with iptables-legacy-restore
// (ip6tables-legacy-restore), whose rules the kernel's ip_tables and xt
// modules run with no nft in between, and once with ctmatch apply -f (the
// command, built once), whose rules are native nft; then the same fixed
// probes (lab.MigrationProbes) in both labs, compared probe by probe: what
// the sender got back, where the probe arrived with which addresses and
// ports, what a listener saw. There must be no difference; and faults put
// into the file given to ctmatch (a rule dropped, a verdict swapped, a
// DNAT port changed) must each show as a difference at the probe they
// touch.

// migRuleset is one ruleset of the migration lab and where it runs.
type migRuleset struct {
	name   string
	family lab.Family
	router bool // the router's ruleset, else the server's
	faults []migFault
}

// migFault is an edit of a ruleset's file given to ctmatch only, and a
// probe whose outcome it must change.
type migFault struct {
	name     string
	old, new string // the edit: old must occur once
	probe    string // a label of lab.MigrationProbes whose outcome changes
}

var migRulesets = []migRuleset{
	{name: "host", family: lab.IPv4, faults: []migFault{{
		name:  "dropped rule",
		old:   "-A INPUT -p udp -m udp --dport 53 -j ACCEPT\n",
		new:   "",
		probe: "client udp :45010 → 10.2.0.2:53",
	}}},
	{name: "docker", family: lab.IPv4, router: true, faults: []migFault{{
		name:  "masquerade dropped",
		old:   "-A POSTROUTING -s 10.2.0.0/24 ! -o r1 -j MASQUERADE\n",
		new:   "",
		probe: "server udp :45031 → 10.1.0.2:53",
	}}},
	{name: "soho", family: lab.IPv4, router: true, faults: []migFault{{
		name:  "wrong DNAT port",
		old:   "--to-destination 10.1.0.2:22",
		new:   "--to-destination 10.1.0.2:23",
		probe: "server tcp syn :45029 → 10.2.0.1:2222",
	}}},
	{name: "ufw", family: lab.IPv4, faults: []migFault{{
		name:  "swapped verdict",
		old:   "-A ufw-user-input -p tcp -m tcp --dport 22 -j ACCEPT",
		new:   "-A ufw-user-input -p tcp -m tcp --dport 22 -j DROP",
		probe: "client tcp syn :45000 → 10.2.0.2:22",
	}}},
	{name: "host6", family: lab.IPv6, faults: []migFault{{
		name:  "other reject code",
		old:   "-j REJECT --reject-with icmp6-adm-prohibited",
		new:   "-j REJECT --reject-with icmp6-port-unreachable",
		probe: "client udp :45011 → [fd00:2::2]:137",
	}}},
	{name: "conntrack", family: lab.IPv4, router: true, faults: []migFault{{
		name:  "negation lost",
		old:   "-m conntrack ! --ctstatus ASSURED",
		new:   "-m conntrack --ctstatus ASSURED",
		probe: "client tcp syn :45001 → 10.2.0.2:80",
	}}},
}

func (r migRuleset) ns(l *lab.Lab) *netns.NS {
	if r.router {
		return l.Router
	}
	return l.Server
}

// loadXt loads text with iptables-legacy-restore (ip6tables-…).
func loadXt(l *lab.Lab, r migRuleset, text string) error {
	tool := "iptables-legacy-restore"
	if r.family == lab.IPv6 {
		tool = "ip6tables-legacy-restore"
	}
	_, err := l.Run(r.ns(l), text, tool)
	return err
}

// loadCtmatch loads text with ctmatch apply -f.
func loadCtmatch(t *testing.T, bin string) func(l *lab.Lab, r migRuleset, text string) error {
	return func(l *lab.Lab, r migRuleset, text string) error {
		args := []string{"apply", "-f", "-"}
		if r.family == lab.IPv6 {
			args = []string{"apply", "--file6", "-"}
		}
		res := runCLI(t, bin, r.ns(l), text, args...)
		if res.code != 0 {
			return fmt.Errorf("ctmatch apply: exit %d: %s%s", res.code, res.stdout, res.stderr)
		}
		return nil
	}
}

// checkLoaded checks that the ruleset went where its side puts it, and
// only there: with iptables-legacy-restore, into the legacy tables (and
// no nft table but the lab's own); with ctmatch, into nft tables (and no
// legacy rule).
func checkLoaded(t *testing.T, l *lab.Lab, r migRuleset) {
	t.Helper()
	save := "iptables-legacy-save"
	if r.family == lab.IPv6 {
		save = "ip6tables-legacy-save"
	}
	legacy, err := l.Run(r.ns(l), "", save)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := l.Run(r.ns(l), "", "nft", "list", "tables")
	if err != nil {
		t.Fatal(err)
	}
	hasLegacy := strings.Contains(legacy, "\n-A ")
	hasNft := strings.Contains(tables, "table ip filter") || strings.Contains(tables, "table ip6 filter")
	if hasLegacy == hasNft {
		t.Fatalf("%s: rules in the legacy tables: %v, nft filter table: %v; want one of them\n%s\n%s", r.name, hasLegacy, hasNft, legacy, tables)
	}
}

// migOutcomes makes a lab, loads text into it with load and sends the
// probes. The lab is made and loaded in the test's goroutine; the run
// (one window of lab.IOTimeout) goes on in the background.
func migOutcomes(t *testing.T, r migRuleset, text string, load func(*lab.Lab, migRuleset, string) error) func() []lab.Effect {
	t.Helper()
	l := lab.New(t)
	if err := load(l, r, text); err != nil {
		t.Fatalf("%s: %v", r.name, err)
	}
	checkLoaded(t, l, r)
	var out []lab.Effect
	var err error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		out, err = l.MigrationRun(r.family, lab.MigrationProbes(r.family))
	}()
	return func() []lab.Effect {
		t.Helper()
		wg.Wait()
		if err != nil {
			t.Fatalf("%s: %v", r.name, err)
		}
		return out
	}
}

// migSummary is a ruleset's row of docs/semantics.md's table of outcomes:
// how many probes the destination answered, got a TCP reset or an ICMP
// error, or nothing, and how many arrived somewhere with an address or port
// other than the ones they were sent with (NAT).
func migSummary(r migRuleset, effects []lab.Effect) string {
	probes := lab.MigrationProbes(r.family)
	a := r.family.Addrs()
	self := map[lab.End]netip.Addr{lab.AtClient: a.Client, lab.AtClient2: a.Client2, lab.AtServer: a.Server}
	var answered, reset, icmp, nothing, nat int
	for i, e := range effects {
		switch {
		case e.Reply == "nothing":
			nothing++
		case strings.HasPrefix(e.Reply, "tcp rst"):
			reset++
		case strings.HasPrefix(e.Reply, "icmp") && !strings.Contains(e.Reply, "echo-reply"):
			icmp++
		default:
			answered++
		}
		p := probes[i]
		src := netip.AddrPortFrom(self[p.From], uint16(lab.MigrationSrcBase+i)).String()
		dst := netip.AddrPortFrom(p.To, p.Port).String()
		if p.Kind == lab.MigEcho || p.Kind == lab.MigError {
			src, dst = self[p.From].String(), p.To.String()
		}
		for _, arrival := range strings.Split(e.Seen, ", ") {
			if arrival != "nothing" && !strings.HasPrefix(arrival, "app ") && !strings.HasSuffix(arrival, " "+src+" > "+dst) {
				nat++
				break
			}
		}
	}
	return fmt.Sprintf("| `%s.rules` | %s | %s | %d | %d | %d | %d | %d | %d |", r.name, r.family,
		map[bool]string{true: "router", false: "server"}[r.router], len(effects), answered, reset, icmp, nothing, nat)
}

// TestMigrationLabDocs checks the static numbers of docs/semantics.md's
// "The migration lab": the probes and the rulesets.
func TestMigrationLabDocs(t *testing.T) {
	doc, err := os.ReadFile(semanticsDoc)
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("%d rulesets, %d probes each", len(migRulesets), len(lab.MigrationProbes(lab.IPv4)))
	if !strings.Contains(string(doc), want) {
		t.Errorf("docs/semantics.md lacks %q", want)
	}
	for _, r := range migRulesets {
		for _, f := range r.faults {
			if line := fmt.Sprintf("| `%s.rules` | %s |", r.name, f.name); !strings.Contains(string(doc), line) {
				t.Errorf("docs/semantics.md lacks the fault row %q", line)
			}
		}
	}
}

func TestMigrationLab(t *testing.T) {
	start := time.Now()
	bin := ctmatchCLI(t)
	t.Cleanup(func() { t.Logf("migration lab: %v", time.Since(start).Round(100*time.Millisecond)) })
	for _, r := range migRulesets {
		t.Run(r.name, func(t *testing.T) {
			t.Parallel()
			b, err := os.ReadFile(filepath.Join("testdata", "migration", r.name+".rules"))
			if err != nil {
				t.Fatal(err)
			}
			text := string(b)
			xtRun := migOutcomes(t, r, text, loadXt)
			ctRun := migOutcomes(t, r, text, loadCtmatch(t, bin))
			faultRuns := make([]func() []lab.Effect, len(r.faults))
			for i, f := range r.faults {
				if strings.Count(text, f.old) != 1 {
					t.Fatalf("fault %q: %q occurs %d times in %s.rules, want once", f.name, f.old, strings.Count(text, f.old), r.name)
				}
				faultRuns[i] = migOutcomes(t, r, strings.Replace(text, f.old, f.new, 1), loadCtmatch(t, bin))
			}
			xt, ct := xtRun(), ctRun()
			var table strings.Builder
			for _, e := range xt {
				fmt.Fprintf(&table, "\t%s\n", e)
			}
			t.Logf("%s (%s), %d probes, under iptables-legacy-restore:\n%s", r.name, r.family, len(xt), table.String())
			line := migSummary(r, xt)
			t.Log(line)
			if doc, err := os.ReadFile(semanticsDoc); err != nil || !strings.Contains(string(doc), line+"\n") {
				t.Errorf("docs/semantics.md (\"The migration lab\") lacks the line\n%s", line)
			}
			for _, d := range lab.CompareEffects(xt, ct, "iptables-legacy", "ctmatch") {
				t.Errorf("%s: %s", r.name, d)
			}
			for i, f := range r.faults {
				diffs := lab.CompareEffects(xt, faultRuns[i](), "iptables-legacy", "ctmatch with "+f.name)
				caught := false
				for _, d := range diffs {
					t.Logf("fault %q: %s", f.name, d)
					caught = caught || strings.HasPrefix(d, f.probe+":")
				}
				if !caught {
					t.Errorf("fault %q in %s.rules: probe %q shows no difference (%d differences)", f.name, r.name, f.probe, len(diffs))
				}
			}
		})
	}
}
