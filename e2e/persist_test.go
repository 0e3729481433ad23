package e2e

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/ctmatch/ctmatch"
	"github.com/ctmatch/ctmatch/compile"
	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/internal/kerneltest"
	"github.com/ctmatch/ctmatch/internal/ktest"
	"github.com/ctmatch/ctmatch/internal/netns"
	"github.com/ctmatch/ctmatch/internal/nftforms"
	"github.com/ctmatch/ctmatch/kernel"
	"github.com/ctmatch/ctmatch/parse"
)

// Persistence: ctmatch list -o nft (and -o json) of a whole ruleset, loaded
// with nft -f (nft -j -f) after a flush, leaves the kernel holding the same
// ruleset: the same tables, the same chains (base chains with their type,
// hook, priority and policy), and in each chain the same rules, byte for
// byte (handles and userdata aside: nft cannot write ctmatch's group
// record; a rule's comment is compared), or with nft 1.1.2 and later, whose
// bytes for some of the same rules differ, in the forms nftforms.Lines makes
// of both (internal/nftforms). Every golden rule is in it, in tables of the
// three families, but, with nft 1.0.6, the ct port matches without a
// protocol test, which it cannot parse.

// persistRuleset loads every golden rule with ctmatch apply into tables of
// the three families made by nft: base chains of several kinds and
// policies, and regular chains; the ct port matches without a protocol
// test only when nft is 1.0.7 or later.
func persistRuleset(t *testing.T, bin string, ns *netns.NS) int {
	return persistRules(t, bin, ns, nftAtLeast(t, 1, 0, 7))
}

// persistRules is persistRuleset, with the ct port matches without a
// protocol test too when ports is set.
func persistRules(t *testing.T, bin string, ns *netns.NS, ports bool) int {
	t.Helper()
	var setup strings.Builder
	for _, fam := range []string{"ip", "ip6", "inet"} {
		fmt.Fprintf(&setup, "add table %s t\n", fam)
		fmt.Fprintf(&setup, "add chain %s t in { type filter hook input priority 10; policy drop; }\n", fam)
		fmt.Fprintf(&setup, "add chain %s t out { type filter hook output priority -5; policy accept; }\n", fam)
		fmt.Fprintf(&setup, "add chain %s t post { type nat hook postrouting priority 100; policy accept; }\n", fam)
		fmt.Fprintf(&setup, "add chain %s t ours\nadd chain %s t new_conns\nadd chain %s t other\n", fam, fam, fam)
	}
	ktest.Run(t, ns, setup.String(), "nft", "-f", "-")
	var lines strings.Builder
	n := 0
	for _, table := range []expr.Family{expr.FamilyIP, expr.FamilyIP6, expr.FamilyInet} {
		for i, c := range goldenCases(t) {
			if (table == expr.FamilyIP && c.family == parse.IPv6) || (table == expr.FamilyIP6 && c.family == parse.IPv4) {
				continue
			}
			r, err := parse.ParseText(c.words, parse.Options{Family: c.family})
			if err != nil {
				t.Fatal(err)
			}
			if r.Target != nil && r.Target.Name == "NETMAP" {
				continue // its chain says its direction: cli_netmap_test.go
			}
			rules, err := compile.Rule(r, compile.Options{Table: table, Family: c.family, Counter: true})
			if err != nil {
				t.Fatal(err)
			}
			parses := true
			for _, nr := range rules {
				parses = parses && nr.ParsesInNft106()
			}
			if !parses && !ports {
				continue
			}
			chain := []string{"ours", "in", "out"}[i%3]
			words := ctmatch.Words(r)
			if hookBound(rules) {
				chain = "ours"
			}
			if r.Table != nil {
				// A target of the nat, mangle or raw table keeps its -t
				// and stands in the regular chain, which no base chain
				// of another hook reaches.
				chain = "ours"
				words = "-t " + r.TableName() + " " + words
			}
			fl := ""
			if c.family == parse.IPv6 {
				fl = " -6"
			}
			fmt.Fprintf(&lines, "add rule %s t %s%s -- %s\n", table, chain, fl, words)
			n += len(rules)
		}
	}
	mustCLI(t, bin, ns, lines.String(), "apply", "-f", "-")
	return n
}

// hookBound reports whether the rules test what the kernel reads in some
// hooks only: meta secpath (nft_meta_get_validate: prerouting, input and
// forward), rt ipsec (nft_rt_validate: forward, output and postrouting) or
// a fib lookup limited to an interface (nft_fib_validate: iif in
// prerouting, input and forward, oif in forward, output and postrouting).
// Such rules stand in the regular chain, which no base chain reaches.
func hookBound(rules []expr.Rule) bool {
	for _, r := range rules {
		for _, m := range r.Matches {
			if _, ok := m.(expr.IPsec); ok {
				return true
			}
			if f, ok := m.(expr.FibType); ok && f.Iface != expr.FibNoIface {
				return true
			}
		}
	}
	return false
}

// rulesetDump is what the kernel holds: nft's listing of tables and chains
// (rules left out), and every chain's rules as raw expressions with their
// comment.
func rulesetDump(t *testing.T, ns *netns.NS) (chains string, rules []string) {
	t.Helper()
	return rulesetDumpAs(t, ns, false)
}

// rulesetDumpAs is rulesetDump, with each rule's expressions as their debug
// lines in nftforms.Lines, and its sets without their size, when forms is set:
// what ctmatch loads and what nft 1.1.2 and later load from its text are
// the same there.
func rulesetDumpAs(t *testing.T, ns *netns.NS, forms bool) (chains string, rules []string) {
	t.Helper()
	for _, l := range strings.Split(ktest.Run(t, ns, "", "nft", "list", "ruleset"), "\n") {
		if t := strings.TrimSpace(l); strings.HasPrefix(t, "table ") || strings.HasPrefix(t, "chain ") || strings.HasPrefix(t, "type ") || t == "}" {
			chains += l + "\n"
		}
	}
	conn := kerneltest.Dial(t, ns)
	for _, fam := range []expr.Family{expr.FamilyIP, expr.FamilyIP6, expr.FamilyInet} {
		for _, ch := range []string{"in", "out", "post", "ours", "new_conns", "other"} {
			for _, r := range dumpChain(t, ns, fam, "t", ch) {
				// The comment, with or without ctmatch's group record.
				comment, _, _ := expr.ParseUserData(r.Userdata)
				// The anonymous sets' names are the kernel's numbering in
				// the order they came: the rule is compared without them,
				// and with what each of its sets holds.
				if !forms {
					rules = append(rules, fmt.Sprintf("%s t %s: % x comment %q%s", fam, ch, unnamed(t, r.Exprs), comment, lookedUp(t, conn, fam, "t", r.Exprs, false)))
					continue
				}
				lines, err := expr.DebugLines(unnamed(t, r.Exprs))
				if err != nil {
					t.Fatal(err)
				}
				rules = append(rules, fmt.Sprintf("%s t %s: %s comment %q%s", fam, ch, strings.Join(nftforms.Lines(lines), " "), comment, lookedUp(t, conn, fam, "t", r.Exprs, true)))
			}
		}
	}
	return chains, rules
}

// lookedUp describes the sets a rule's lookups name, in order, as the
// kernel lists them without their names and handles: flags, key, size
// (unless noSize), userdata and sorted elements.
func lookedUp(t *testing.T, c *kernel.Conn, f expr.Family, table string, exprs []byte, noSize bool) string {
	t.Helper()
	refs, err := expr.LookupRefs(exprs)
	if err != nil {
		t.Fatal(err)
	}
	if len(refs) == 0 {
		return ""
	}
	ctx := context.Background()
	sets, err := c.Sets(ctx, f, table)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, ref := range refs {
		i := slices.IndexFunc(sets, func(s kernel.Set) bool { return s.Name == ref.Name })
		if i < 0 {
			t.Fatalf("no set %s in %v %s", ref.Name, f, table)
		}
		s := sets[i]
		es, err := c.SetElements(ctx, f, table, s.Name)
		if err != nil {
			t.Fatal(err)
		}
		slices.SortFunc(es, func(x, y kernel.SetElem) int { return bytes.Compare(x.Key, y.Key) })
		s.Name, s.Handle = "", 0
		if noSize {
			s.Size = 0
		}
		fmt.Fprintf(&b, " set %+v elements %+v", s, es)
	}
	return b.String()
}

func TestListReloads(t *testing.T) {
	bin := ctmatchCLI(t)
	for _, form := range []struct {
		output string
		nft    []string
	}{
		{"nft", []string{"nft", "-f", "-"}},
		{"json", []string{"nft", "-j", "-f", "-"}},
	} {
		t.Run(form.output, func(t *testing.T) {
			ns := ktest.Namespace(t, "nft")
			n := persistRuleset(t, bin, ns)
			forms := nftVersion(t).NewForms()
			wantChains, wantRules := rulesetDumpAs(t, ns, forms)
			if len(wantRules) != n || n < 300 {
				t.Fatalf("%d rules in the kernel, %d loaded", len(wantRules), n)
			}
			listing := mustCLI(t, bin, ns, "", "list", "-o", form.output)
			ktest.Run(t, ns, "", "nft", "flush", "ruleset")
			if out, errOut, err := ktest.Exec(ns, listing, form.nft[0], form.nft[1:]...); err != nil {
				t.Fatalf("%s of list -o %s: %v\n%s%s\n%s", strings.Join(form.nft, " "), form.output, err, out, errOut, listing)
			}
			gotChains, gotRules := rulesetDumpAs(t, ns, forms)
			if gotChains != wantChains {
				t.Errorf("tables and chains after the reload:\n%s\nbefore:\n%s", gotChains, wantChains)
			}
			if len(gotRules) != len(wantRules) {
				t.Fatalf("%d rules after the reload, %d before", len(gotRules), len(wantRules))
			}
			for i := range wantRules {
				if gotRules[i] != wantRules[i] {
					t.Errorf("rule %d differs after the reload:\n got %s\nwant %s", i+1, gotRules[i], wantRules[i])
				}
			}
			how := "byte for byte"
			if forms {
				how = "in nft 1.1.2's forms"
			}
			t.Logf("list -o %s: %d rules in %d tables reloaded the same with nft %s, %s", form.output, n, strings.Count(wantChains, "table "), nftVersionText(t), how)
		})
	}
}

// TestNftListDoesNotReload is the control: nft list ruleset of the same
// ruleset, loaded back the same way, changes rules: a ct expiration range
// comes back in whole seconds (28000ms-28999ms as 28s-28s, which is
// 28000ms-28000ms), and in inet tables meta nfproto before ct original
// protocol is gone (nft 1.0.6 lists "meta nfproto ipv4 ct original
// protocol 6" as "ct protocol tcp", and nft then cannot read the rule
// back when an IPv4 ct address follows); so the comparison above can
// fail.
func TestNftListDoesNotReload(t *testing.T) {
	bin := ctmatchCLI(t)
	ns := ktest.Namespace(t, "nft")
	persistRuleset(t, bin, ns)
	forms := nftVersion(t).NewForms()
	_, before := rulesetDumpAs(t, ns, forms)
	listing := ktest.Run(t, ns, "", "nft", "list", "ruleset")
	for _, want := range []string{"28s-28s", "ct protocol tcp"} {
		if !strings.Contains(listing, want) {
			t.Errorf("nft list ruleset has no %q", want)
		}
	}
	ktest.Run(t, ns, "", "nft", "flush", "ruleset")
	if _, errOut, err := ktest.Exec(ns, listing, "nft", "-f", "-"); err != nil {
		// nft cannot even read its own listing back: say where.
		lines := strings.Split(listing, "\n")
		for _, m := range regexp.MustCompile(`/dev/stdin:(\d+):`).FindAllStringSubmatch(errOut, -1) {
			if n, _ := strconv.Atoi(m[1]); n >= 1 && n <= len(lines) {
				t.Logf("nft -f refuses line %d of nft list ruleset: %s", n, strings.TrimSpace(lines[n-1]))
			}
		}
		if !strings.Contains(errOut, "Error") {
			t.Errorf("nft -f of nft list ruleset: %v: %s", err, errOut)
		}
		return
	}
	_, after := rulesetDumpAs(t, ns, forms)
	if len(after) != len(before) {
		t.Fatalf("%d rules after the reload, %d before", len(after), len(before))
	}
	differ := 0
	for i := range before {
		if after[i] != before[i] {
			differ++
		}
	}
	if differ == 0 {
		t.Fatal("nft list ruleset reloaded every rule the same: the reload test cannot tell")
	}
	t.Logf("nft list ruleset: %d of %d rules reload otherwise", differ, len(before))
}

// TestApplyOwnListing: ctmatch apply -f of list -o json, after a flush,
// loads everything back, the ct port matches without a protocol test (which
// nft 1.0.6 cannot parse) and the rules of both families of an inet merge
// included: the same rule bytes and comments, and the same groups (list -o
// iptables prints the same lines).
func TestApplyOwnListing(t *testing.T) {
	bin := ctmatchCLI(t)
	ns := ktest.Namespace(t, "nft")
	n := persistRules(t, bin, ns, true)
	dir := t.TempDir()
	v4, v6 := dir+"/rules.v4", dir+"/rules.v6"
	writeTestFile(t, v4, mergeV4)
	writeTestFile(t, v6, mergeV6)
	mustCLI(t, bin, ns, "", "apply", "-f", v4, "--file6", v6, "--family", "inet")
	_, before := rulesetDump(t, ns)
	groups := mustCLI(t, bin, ns, "", "list", "-o", "iptables")
	if !strings.Contains(groups, "# ipv4 and ipv6") || !strings.Contains(groups, "--ctorigdstport 22") {
		t.Fatalf("the ruleset has no rule of both families or no port match without a protocol:\n%s", groups)
	}
	listing := mustCLI(t, bin, ns, "", "list", "-o", "json")
	ktest.Run(t, ns, "", "nft", "flush", "ruleset")
	mustCLI(t, bin, ns, listing, "apply", "-f", "-")
	_, after := rulesetDump(t, ns)
	if len(after) != len(before) || len(before) < n {
		t.Fatalf("%d rules after apply of the listing, %d before (%d golden)", len(after), len(before), n)
	}
	for i := range before {
		if after[i] != before[i] {
			t.Errorf("rule %d differs after apply of the listing:\n got %s\nwant %s", i+1, after[i], before[i])
		}
	}
	if got := mustCLI(t, bin, ns, "", "list", "-o", "iptables"); got != groups {
		t.Errorf("list -o iptables after apply of the listing:\n%s\nbefore:\n%s", got, groups)
	}
	t.Logf("apply of list -o json: %d rules, with their groups", len(before))
}

// apply --replace of ctmatch's own JSON listing over the tables it lists
// replaces them in one transaction, as a restore at boot over a ruleset
// loaded before does; without --replace it is refused and changes nothing.
func TestApplyOwnListingReplace(t *testing.T) {
	bin := ctmatchCLI(t)
	ns := ktest.Namespace(t, "nft")
	conn := kerneltest.Dial(t, ns)
	dir := t.TempDir()
	v4 := dir + "/rules.v4"
	writeTestFile(t, v4, mergeV4)
	mustCLI(t, bin, ns, "", "apply", "-f", v4)
	listing := mustCLI(t, bin, ns, "", "list", "-o", "json")
	groups := mustCLI(t, bin, ns, "", "list", "-o", "iptables")
	_, before := rulesetDump(t, ns)
	g := generation(t, conn)
	if r := runCLI(t, bin, ns, listing, "apply", "-f", "-"); r.code != 1 || !strings.Contains(r.stderr, "--replace") {
		t.Errorf("apply of the listing over its own tables: exit %d, want 1 naming --replace\n%s", r.code, r.stderr)
	}
	if got := generation(t, conn); got != g {
		t.Fatalf("a refused apply moved the generation from %d to %d", g, got)
	}
	mustCLI(t, bin, ns, listing, "apply", "--replace", "-f", "-")
	if got := generation(t, conn); got != g+1 {
		t.Errorf("apply --replace of the listing: the generation moved from %d to %d, want one transaction", g, got)
	}
	_, after := rulesetDump(t, ns)
	if len(after) != len(before) {
		t.Fatalf("%d rules after apply --replace of the listing, %d before", len(after), len(before))
	}
	for i := range before {
		if after[i] != before[i] {
			t.Errorf("rule %d differs after apply --replace of the listing:\n got %s\nwant %s", i+1, after[i], before[i])
		}
	}
	if got := mustCLI(t, bin, ns, "", "list", "-o", "iptables"); got != groups {
		t.Errorf("list -o iptables after apply --replace of the listing:\n%s\nbefore:\n%s", got, groups)
	}
}

// nft list ruleset prints ctmatch's ICMP type and code inequality (one
// 2-byte comparison: not this type and code both) as two inequalities,
// which nft 1.0.6 merges back into one comparison, and nft 1.1.0 and later
// (nftables commit "do not merge payloads on negation") load as two: type
// and code both other, a narrower rule, which ctmatch does not read as any
// iptables rule. ctmatch's own listing keeps the one comparison.
func TestNftListSplitsICMPInequality(t *testing.T) {
	bin := ctmatchCLI(t)
	ns := ktest.Namespace(t, "nft")
	const words = "-p icmp -m icmp ! --icmp-type 3/3"
	mustCLI(t, bin, ns, "", "add", "rule", "ip", "t", "c", "--create", "--", "-p", "icmp", "-m", "icmp", "!", "--icmp-type", "3/3")
	listing := ktest.Run(t, ns, "", "nft", "list", "ruleset")
	if !strings.Contains(listing, "icmp type != destination-unreachable icmp code != ") {
		t.Fatalf("nft list ruleset:\n%s\nwant the two inequalities", listing)
	}
	ours := mustCLI(t, bin, ns, "", "list", "-o", "nft")
	for _, reload := range []struct{ name, text string }{{"nft list ruleset", listing}, {"ctmatch list -o nft", ours}} {
		ktest.Run(t, ns, "", "nft", "flush", "ruleset")
		ktest.Run(t, ns, reload.text, "nft", "-f", "-")
		got := mustCLI(t, bin, ns, "", "list", "-o", "iptables")
		same := strings.Contains(got, "-A c "+words+"\n")
		want := reload.name == "ctmatch list -o nft" || !nftAtLeast(t, 1, 1, 0)
		if same != want {
			t.Errorf("nft %s, after a reload of %s, list -o iptables:\n%s\nthe rule %q back: %v, want %v", nftVersionText(t), reload.name, got, words, same, want)
		}
	}
}

// TestListNftRefusesWhatItLeavesOut: a rule ctmatch does not understand
// (here one nft added, a port match without a fragment test) is listed by
// -o nft as comment lines and then a line nft refuses, so that nft -f of the
// listing loads nothing, rather than everything but that rule; -o json does
// the same with its ctmatch-not-decompiled object.
func TestListNftRefusesWhatItLeavesOut(t *testing.T) {
	bin := ctmatchCLI(t)
	ns := ktest.Namespace(t, "nft")
	ktest.Run(t, ns, "add table inet t\nadd chain inet t input { type filter hook input priority 0; policy drop; }\nadd rule inet t input tcp dport 22 accept\n", "nft", "-f", "-")
	ktest.Run(t, ns, "", bin, "--netns", ns.Path(), "add", "rule", "inet", "t", "input", "--", "-m", "conntrack", "--ctstate", "ESTABLISHED", "-j", "ACCEPT")
	for _, form := range []struct{ output, nftFlag, refusal string }{
		{"nft", "-f", "ctmatch-not-decompiled"},
		{"json", "-jf", `"ctmatch-not-decompiled"`},
	} {
		listing := ktest.Run(t, ns, "", bin, "--netns", ns.Path(), "list", "-o", form.output)
		if !strings.Contains(listing, form.refusal) {
			t.Fatalf("list -o %s has no %s:\n%s", form.output, form.refusal, listing)
		}
		other := ktest.Namespace(t, "nft")
		if _, _, err := ktest.Exec(other, listing, "nft", form.nftFlag, "-"); err == nil {
			t.Errorf("nft %s of list -o %s loaded a listing that leaves a rule out", form.nftFlag, form.output)
		}
		if got := ktest.Run(t, other, "", "nft", "list", "ruleset"); got != "" {
			t.Errorf("nft %s of list -o %s loaded part of it:\n%s", form.nftFlag, form.output, got)
		}
	}
}

// A dormant table (flags dormant: its base chains are not on their hooks)
// is listed with its flag: nft -f of list -o nft makes it dormant again,
// where a listing without the flag would make a standby firewall with
// policy drop active; list -o json says it too, and ctmatch apply, which
// makes tables without flags, refuses that listing (exit 1) and creates
// nothing.
func TestListKeepsDormantTable(t *testing.T) {
	bin := ctmatchCLI(t)
	ns := ktest.Namespace(t, "nft")
	ktest.Run(t, ns, "table ip standby {\n\tflags dormant\n\tchain input {\n\t\ttype filter hook input priority 0; policy drop;\n\t}\n}\n", "nft", "-f", "-")
	listing := ktest.Run(t, ns, "", bin, "--netns", ns.Path(), "list", "-o", "nft")
	other := ktest.Namespace(t, "nft")
	ktest.Run(t, other, listing, "nft", "-f", "-")
	if got := ktest.Run(t, other, "", "nft", "list", "table", "ip", "standby"); !strings.Contains(got, "flags dormant") {
		t.Errorf("nft -f of list -o nft made the table active:\n%s\nfrom the listing\n%s", got, listing)
	}
	js := ktest.Run(t, ns, "", bin, "--netns", ns.Path(), "list", "-o", "json")
	if !strings.Contains(js, `"flags":["dormant"]`) {
		t.Fatalf("list -o json does not say the table is dormant:\n%s", js)
	}
	third := ktest.Namespace(t, "nft")
	if r := runCLI(t, bin, third, js, "apply", "-f", "-"); r.code != 1 || !strings.Contains(r.stderr, "has flags") {
		t.Errorf("apply -f of the JSON listing: exit %d, want 1 and the reason:\n%s", r.code, r.stderr)
	}
	if got := ktest.Run(t, third, "", "nft", "list", "ruleset"); got != "" {
		t.Errorf("apply -f of the refused listing created:\n%s", got)
	}
}

// A listing holds the ip, ip6 and inet tables with their chains and rules;
// list -o nft and -o json say on standard error what they leave out of the
// ruleset (named sets and maps, stateful objects, tables of other
// families, the comments of tables and chains), which a restore after nft
// flush ruleset would lose unnoticed;
// a listing of a chain, and -o iptables, say nothing.
func TestListSaysWhatItLeavesOut(t *testing.T) {
	bin := ctmatchCLI(t)
	ns := ktest.Namespace(t, "nft")
	ktest.Run(t, ns, "table inet fw {\n\tcomment \"the host\"\n\tset blocklist {\n\t\ttype ipv4_addr\n\t}\n\tcounter cnt {\n\t}\n\tquota q {\n\t\tover 10 mbytes\n\t}\n"+
		"\tchain c {\n\t\ttype filter hook input priority 0;\n\t\tcomment \"input\"\n\t\ttcp dport { 22, 80 } accept\n\t}\n}\n"+
		"table bridge br {\n\tchain c {\n\t\ttype filter hook input priority 0;\n\t}\n}\n", "nft", "-f", "-")
	for _, args := range [][]string{{"list", "-o", "nft"}, {"list", "-o", "json"}, {"list", "table", "inet", "fw", "-o", "nft"}} {
		r := runCLI(t, bin, ns, "", args...)
		want := []string{"set inet fw blocklist", "counter inet fw cnt", "quota inet fw q", "the comment of table inet fw", "the comment of chain inet fw c", "table bridge br"}
		if len(args) > 3 {
			want = want[:5]
		}
		for _, w := range want {
			if r.code != 0 || !strings.Contains(r.stderr, w) {
				t.Errorf("%v: exit %d, stderr %q; want it to name %s", args, r.code, r.stderr, w)
			}
		}
		if len(args) > 3 && strings.Contains(r.stderr, "bridge") {
			t.Errorf("%v names a table it was not asked for: %s", args, r.stderr)
		}
		if strings.Contains(r.stdout, "blocklist") {
			t.Errorf("%v lists the set it says it leaves out:\n%s", args, r.stdout)
		}
	}
	for _, args := range [][]string{{"list", "chain", "inet", "fw", "c", "-o", "nft"}, {"list", "-o", "iptables"}} {
		if r := runCLI(t, bin, ns, "", args...); r.code != 0 || r.stderr != "" {
			t.Errorf("%v: exit %d, stderr %q; want nothing said", args, r.code, r.stderr)
		}
	}
}

// A rule whose comment holds bytes that are not UTF-8 (latin-1) is listed
// by list -o nft with its bytes, and by list -o json as a rule it cannot
// carry (a ctmatch-not-decompiled object, which nft and apply refuse), not
// with U+FFFD in their place, which a reload would load.
func TestListJSONBytesNotUTF8(t *testing.T) {
	bin := ctmatchCLI(t)
	ns := ktest.Namespace(t, "nft")
	ktest.Run(t, ns, "", bin, "--netns", ns.Path(), "add", "rule", "--create", "ip", "t", "INPUT", "--", "-m", "comment", "--comment", "caf\xe9", "-j", "ACCEPT")
	if out := ktest.Run(t, ns, "", bin, "--netns", ns.Path(), "list", "-o", "nft"); !strings.Contains(out, "comment \"caf\xe9\"") {
		t.Errorf("list -o nft lost the comment's bytes:\n%q", out)
	}
	js := ktest.Run(t, ns, "", bin, "--netns", ns.Path(), "list", "-o", "json")
	if !strings.Contains(js, `"ctmatch-not-decompiled"`) || !strings.Contains(js, "not UTF-8") || strings.Contains(js, "\ufffd") || strings.Contains(js, `\ufffd`) {
		t.Errorf("list -o json does not refuse the comment it cannot carry:\n%s", js)
	}
}
