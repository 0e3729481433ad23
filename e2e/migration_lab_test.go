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

// migRuleset is one ruleset of the migration lab and where it runs: an
// iptables-save file (v4), an ip6tables-save file (v6), or both, loaded
// together (by ctmatch in one transaction) and probed in both families.
type migRuleset struct {
	name   string
	v4, v6 string // the files' names in testdata/migration, without .rules
	router bool   // the router's ruleset, else the server's
	faults []migFault
	pools  bool // the lab has the NAT pools (lab.AddNATAddresses)
}

// migFault is an edit of a ruleset's file given to ctmatch only, and a
// probe whose outcome it must change.
type migFault struct {
	name     string
	old, new string // the edit: old must occur once in the ruleset's files
	probe    string // a label of lab.MigrationProbes whose outcome changes
}

var migRulesets = []migRuleset{
	{name: "host", v4: "host", faults: []migFault{{
		name:  "dropped rule",
		old:   "-A INPUT -p udp -m udp --dport 53 -j ACCEPT\n",
		new:   "",
		probe: "client udp :45010 → 10.2.0.2:53",
	}}},
	{name: "docker", v4: "docker", router: true, faults: []migFault{{
		name:  "masquerade dropped",
		old:   "-A POSTROUTING -s 10.2.0.0/24 ! -o r1 -j MASQUERADE\n",
		new:   "",
		probe: "server udp :45031 → 10.1.0.2:53",
	}}},
	{name: "soho", v4: "soho", router: true, faults: []migFault{{
		name:  "wrong DNAT port",
		old:   "--to-destination 10.1.0.2:22",
		new:   "--to-destination 10.1.0.2:23",
		probe: "server tcp syn :45029 → 10.2.0.1:2222",
	}}},
	{name: "ufw", v4: "ufw", faults: []migFault{{
		name:  "swapped verdict",
		old:   "-A ufw-user-input -p tcp -m tcp --dport 22 -j ACCEPT",
		new:   "-A ufw-user-input -p tcp -m tcp --dport 22 -j DROP",
		probe: "client tcp syn :45000 → 10.2.0.2:22",
	}}},
	{name: "host6", v6: "host6", faults: []migFault{{
		name:  "other reject code",
		old:   "-j REJECT --reject-with icmp6-adm-prohibited",
		new:   "-j REJECT --reject-with icmp6-port-unreachable",
		probe: "client udp :45011 → [fd00:2::2]:137",
	}}},
	{name: "conntrack", v4: "conntrack", router: true, faults: []migFault{{
		name:  "negation lost",
		old:   "-m conntrack ! --ctstatus ASSURED",
		new:   "-m conntrack --ctstatus ASSURED",
		probe: "client tcp syn :45001 → 10.2.0.2:80",
	}}},
	// The host's two files together: ctmatch creates the ip and the ip6
	// tables in one transaction.
	{name: "host+host6", v4: "host", v6: "host6"},
	{name: "natpool", v4: "natpool", router: true, pools: true, faults: []migFault{{
		name:  "persistent dropped",
		old:   "--to-source 10.2.0.20-10.2.0.23 --persistent",
		new:   "--to-source 10.2.0.20-10.2.0.23",
		probe: "client tcp syn :45000 → 10.2.0.2:22",
	}}},
	{name: "natpool6", v6: "natpool6", router: true, pools: true, faults: []migFault{{
		name:  "persistent dropped",
		old:   "--to-source fd00:2::20-fd00:2::23 --persistent",
		new:   "--to-source fd00:2::20-fd00:2::23",
		probe: "client tcp syn :45000 → [fd00:2::2]:22",
	}}},
}

func (r migRuleset) ns(l *lab.Lab) *netns.NS {
	if r.router {
		return l.Router
	}
	return l.Server
}

func (r migRuleset) families() []lab.Family {
	var fs []lab.Family
	if r.v4 != "" {
		fs = append(fs, lab.IPv4)
	}
	if r.v6 != "" {
		fs = append(fs, lab.IPv6)
	}
	return fs
}

// files returns the rulesets' texts by family.
func (r migRuleset) files(t *testing.T) map[lab.Family]string {
	t.Helper()
	texts := map[lab.Family]string{}
	for f, name := range map[lab.Family]string{lab.IPv4: r.v4, lab.IPv6: r.v6} {
		if name == "" {
			continue
		}
		b, err := os.ReadFile(filepath.Join("testdata", "migration", name+".rules"))
		if err != nil {
			t.Fatal(err)
		}
		texts[f] = string(b)
	}
	return texts
}

// loadXt loads each text with iptables-legacy-restore (ip6tables-…).
func loadXt(t *testing.T, l *lab.Lab, r migRuleset, texts map[lab.Family]string) error {
	for f, text := range texts {
		tool := "iptables-legacy-restore"
		if f == lab.IPv6 {
			tool = "ip6tables-legacy-restore"
		}
		if _, err := l.Run(r.ns(l), text, tool); err != nil {
			return err
		}
	}
	return nil
}

// loadCtmatch loads the texts with one ctmatch apply -f FILE --file6 FILE.
func loadCtmatch(bin string) func(t *testing.T, l *lab.Lab, r migRuleset, texts map[lab.Family]string) error {
	return func(t *testing.T, l *lab.Lab, r migRuleset, texts map[lab.Family]string) error {
		dir := t.TempDir()
		args := []string{"apply"}
		for f, flag := range map[lab.Family]string{lab.IPv4: "-f", lab.IPv6: "--file6"} {
			if text, ok := texts[f]; ok {
				path := filepath.Join(dir, f.String()+".rules")
				if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
					return err
				}
				args = append(args, flag, path)
			}
		}
		res := runCLI(t, bin, r.ns(l), "", args...)
		if res.code != 0 {
			return fmt.Errorf("ctmatch %s: exit %d: %s%s", strings.Join(args, " "), res.code, res.stdout, res.stderr)
		}
		return nil
	}
}

// checkLoaded checks that the ruleset went where its side puts it, and
// only there: with iptables-legacy-restore, into the legacy tables (and
// no nft filter table); with ctmatch, into nft tables (and no legacy
// rule).
func checkLoaded(t *testing.T, l *lab.Lab, r migRuleset) {
	t.Helper()
	for _, f := range r.families() {
		save, table := "iptables-legacy-save", "table ip filter"
		if f == lab.IPv6 {
			save, table = "ip6tables-legacy-save", "table ip6 filter"
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
		hasNft := strings.Contains(tables, table+"\n")
		if hasLegacy == hasNft {
			t.Fatalf("%s (%s): rules in the legacy tables: %v, nft filter table: %v; want one of them\n%s\n%s", r.name, f, hasLegacy, hasNft, legacy, tables)
		}
	}
}

// migOutcomes makes a lab, loads the texts into it with load and sends the
// probes of each family, one family after the other. The lab is made and
// loaded in the test's goroutine; the runs (one window of lab.IOTimeout
// each) go on in the background.
func migOutcomes(t *testing.T, r migRuleset, texts map[lab.Family]string,
	load func(*testing.T, *lab.Lab, migRuleset, map[lab.Family]string) error) func() map[lab.Family][]lab.Effect {
	t.Helper()
	l := lab.New(t)
	if r.pools {
		if err := l.AddNATAddresses(); err != nil {
			t.Fatal(err)
		}
	}
	if err := load(t, l, r, texts); err != nil {
		t.Fatalf("%s: %v", r.name, err)
	}
	checkLoaded(t, l, r)
	out := map[lab.Family][]lab.Effect{}
	var err error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for _, f := range r.families() {
			var e []lab.Effect
			if e, err = l.MigrationRun(f, lab.MigrationProbes(f)); err != nil {
				return
			}
			out[f] = e
		}
	}()
	return func() map[lab.Family][]lab.Effect {
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
func migSummary(r migRuleset, fam lab.Family, effects []lab.Effect) string {
	probes := lab.MigrationProbes(fam)
	a := fam.Addrs()
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
	var names []string
	for _, n := range []string{r.v4, r.v6} {
		if n != "" {
			names = append(names, "`"+n+".rules`")
		}
	}
	return fmt.Sprintf("| %s | %s | %s | %d | %d | %d | %d | %d | %d |", strings.Join(names, " + "), fam,
		map[bool]string{true: "router", false: "server"}[r.router], len(effects), answered, reset, icmp, nothing, nat)
}

// TestMigrationLabDocs checks the static numbers of docs/semantics.md's
// "The migration lab": the probes and the rulesets.
func TestMigrationLabDocs(t *testing.T) {
	doc, err := os.ReadFile(semanticsDoc)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		fmt.Sprintf("%d rulesets (", len(migRulesets)),
		fmt.Sprintf("%d probes each", len(lab.MigrationProbes(lab.IPv4))),
	} {
		if !strings.Contains(string(doc), want) {
			t.Errorf("docs/semantics.md lacks %q", want)
		}
	}
	for _, r := range migRulesets {
		for _, f := range r.faults {
			if line := fmt.Sprintf("| `%s.rules` | %s |", r.v4+r.v6, f.name); !strings.Contains(string(doc), line) {
				t.Errorf("docs/semantics.md lacks the fault row %q", line)
			}
		}
	}
}

func TestMigrationLab(t *testing.T) {
	start := time.Now()
	bin := ctmatchCLI(t)
	t.Cleanup(func() { t.Logf("migration lab: %v", time.Since(start).Round(100*time.Millisecond)) })
	doc, err := os.ReadFile(semanticsDoc)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range migRulesets {
		t.Run(r.name, func(t *testing.T) {
			t.Parallel()
			texts := r.files(t)
			xtRun := migOutcomes(t, r, texts, loadXt)
			ctRun := migOutcomes(t, r, texts, loadCtmatch(bin))
			faultRuns := make([]func() map[lab.Family][]lab.Effect, len(r.faults))
			for i, flt := range r.faults {
				edited, n := map[lab.Family]string{}, 0
				for f, text := range texts {
					n += strings.Count(text, flt.old)
					edited[f] = strings.Replace(text, flt.old, flt.new, 1)
				}
				if n != 1 {
					t.Fatalf("fault %q: %q occurs %d times in %s's files, want once", flt.name, flt.old, n, r.name)
				}
				faultRuns[i] = migOutcomes(t, r, edited, loadCtmatch(bin))
			}
			var xt map[lab.Family][]lab.Effect
			diffs := secondRun(t, r.name, func() []string {
				var diffs []string
				// xt is the test's, for the faults below: assigned,
				// not declared here.
				var ct map[lab.Family][]lab.Effect
				xt, ct = xtRun(), ctRun()
				for _, f := range r.families() {
					if line := migSummary(r, f, xt[f]); !strings.Contains(string(doc), line+"\n") {
						diffs = append(diffs, fmt.Sprintf("docs/semantics.md (\"The migration lab\") lacks the line\n%s", line))
					}
					for _, d := range lab.CompareEffects(xt[f], ct[f], "iptables-legacy", "ctmatch") {
						diffs = append(diffs, fmt.Sprintf("%s (%s): %s", r.name, f, d))
					}
				}
				return diffs
			})
			for _, f := range r.families() {
				if len(xt[f]) == 0 {
					t.Fatalf("%s (%s): no probe's effect under iptables-legacy to compare with", r.name, f)
				}
				var table strings.Builder
				for _, e := range xt[f] {
					fmt.Fprintf(&table, "\t%s\n", e)
				}
				t.Logf("%s (%s), %d probes, under iptables-legacy-restore:\n%s", r.name, f, len(xt[f]), table.String())
				t.Log(migSummary(r, f, xt[f]))
			}
			for _, d := range diffs {
				t.Error(d)
			}
			for i, flt := range r.faults {
				faulty := faultRuns[i]()
				caught := false
				for _, f := range r.families() {
					for _, d := range lab.CompareEffects(xt[f], faulty[f], "iptables-legacy", "ctmatch with "+flt.name) {
						t.Logf("fault %q: %s", flt.name, d)
						caught = caught || strings.HasPrefix(d, flt.probe+":")
					}
				}
				if !caught {
					t.Errorf("fault %q in %s's files: probe %q shows no difference", flt.name, r.name, flt.probe)
				}
			}
		})
	}
}
