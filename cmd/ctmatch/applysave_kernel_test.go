package main

import (
	"os"
	"strings"
	"testing"

	"github.com/ctmatch/ctmatch/internal/ktest"
)

// TestApplySaveFileKernel applies each ruleset of saveRulesets with ctmatch
// apply -f in one namespace and loads it with iptables-restore in another:
// nft must list the same ruleset in both (ctmatch's records in the tables'
// and rules' userdata are not part of nft's listing).
func TestApplySaveFileKernel(t *testing.T) {
	for _, rs := range saveRulesets {
		t.Run(rs.name, func(t *testing.T) {
			restore, flag := "iptables-restore", "-f"
			if rs.v6 {
				restore, flag = "ip6tables-restore", "--file6"
			}
			ipt := ktest.Namespace(t, restore, "nft")
			ktest.Run(t, ipt, rs.text, restore)
			want := strings.ReplaceAll(ktest.Run(t, ipt, "", "nft", "list", "ruleset"), "counter packets 0 bytes 0 ", "")
			ctm := ktest.Namespace(t, "nft")
			if r := runCLI(t, []string{"apply", "--netns", ctm.Path(), "--no-counter", flag, "-"}, rs.text); r.code != 0 {
				t.Fatalf("apply: exit %d\n%s%s", r.code, r.stdout, r.stderr)
			}
			if got := ktest.Run(t, ctm, "", "nft", "list", "ruleset"); got != want {
				t.Errorf("the kernel holds another ruleset after ctmatch apply than after %s\n--- %s:\n%s\n--- ctmatch:\n%s", restore, restore, want, got)
			}
		})
	}
}

// apply -f of an iptables-save file sends nothing with --check, nothing
// when a line is bad, nothing when a table of that name exists (exit 1),
// and creates both families' tables in one transaction with -f and --file6.
func TestApplySaveFileAllOrNothing(t *testing.T) {
	ns := ktest.Namespace(t, "nft")
	list := func() string { return ktest.Run(t, ns, "", "nft", "list", "ruleset") }
	v4 := "*filter\n:INPUT DROP [0:0]\n-A INPUT -m conntrack --ctstate ESTABLISHED -j ACCEPT\nCOMMIT\n*nat\n:POSTROUTING ACCEPT [0:0]\nCOMMIT\n"
	for _, tc := range []struct {
		name  string
		args  []string
		stdin string
		code  int
	}{
		{"check", []string{"apply", "--check", "-f", "-"}, v4, 0},
		{"bad line", []string{"apply", "-f", "-"}, v4 + "*raw\n-A PREROUTING -j nowhere\nCOMMIT\n", 2},
		{"unsupported line", []string{"apply", "-f", "-"}, v4 + "*raw\n-A PREROUTING -m recent --rcheck\nCOMMIT\n", 1},
		// The reader places a refused rule for the -I positions after
		// it; the rules kept do not hold it.
		{"unsupported line then more", []string{"apply", "--check", "-f", "-"}, v4 + "*raw\n-A PREROUTING -m recent --rcheck\n-A PREROUTING -j ACCEPT\n-I PREROUTING 2 -j DROP\n-A PREROUTING -j ACCEPT\nCOMMIT\n", 1},
		{"unsupported line then more, ipv6", []string{"apply", "--file6", "-"}, "*filter\n-A INPUT -m hashlimit --hashlimit-upto 1/sec --hashlimit-name x -j ACCEPT\n-A INPUT -j DROP\nCOMMIT\n", 1},
		{"unsupported line then more, inet", []string{"apply", "--family", "inet", "-f", "-"}, "*filter\n-A INPUT -m hashlimit --hashlimit-upto 1/sec --hashlimit-name x -j ACCEPT\n-A INPUT -j DROP\nCOMMIT\n", 1},
	} {
		r := runCLI(t, append(tc.args[:1], append([]string{"--netns", ns.Path()}, tc.args[1:]...)...), tc.stdin)
		if r.code != tc.code || list() != "" {
			t.Errorf("%s: exit %d (want %d), and the kernel holds:\n%s\n%s", tc.name, r.code, tc.code, list(), r.stderr)
		}
	}
	dir := t.TempDir()
	writeFile(t, dir+"/v4", v4)
	writeFile(t, dir+"/v6", "*filter\n:INPUT DROP [0:0]\n-A INPUT -m conntrack --ctstate ESTABLISHED -j ACCEPT\nCOMMIT\n")
	if r := runCLI(t, []string{"apply", "--netns", ns.Path(), "-f", dir + "/v4", "--file6", dir + "/v6"}, ""); r.code != 0 {
		t.Fatalf("apply -f v4 --file6 v6: exit %d\n%s", r.code, r.stderr)
	}
	got := list()
	for _, want := range []string{"table ip filter", "table ip nat", "table ip6 filter", "policy drop"} {
		if !strings.Contains(got, want) {
			t.Errorf("after apply -f v4 --file6 v6, no %q in:\n%s", want, got)
		}
	}
	// Again: ip filter exists.
	r := runCLI(t, []string{"apply", "--netns", ns.Path(), "-f", dir + "/v4"}, "")
	if r.code != 1 || !strings.Contains(r.stderr, "table ip filter exists") || list() != got {
		t.Errorf("apply of tables that exist: exit %d (want 1)\n%s", r.code, r.stderr)
	}
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// apply --family inet writes an inet table in the place of the ip and ip6
// tables the files name: those tables stand in its way as a table of its
// own name would. iptables-nft's are refused without --takeover (and with
// chains the files do not define, without --force), checked with --check,
// and deleted in the transaction that makes the inet table; ctmatch's own
// per-family tables are deleted with --replace.
func TestApplyInetTakesThePlaceOfIPTables(t *testing.T) {
	ns := ktest.Namespace(t, "nft", "iptables-restore", "ip6tables-restore")
	tables := func() string {
		var out []string
		for _, l := range strings.Split(ktest.Run(t, ns, "", "nft", "list", "tables"), "\n") {
			if l != "" {
				out = append(out, l)
			}
		}
		return strings.Join(out, ", ")
	}
	v4 := "*filter\n:INPUT ACCEPT [0:0]\n:in-ssh - [0:0]\n-A INPUT -s 10.0.0.1/32 -j in-ssh\n-A in-ssh -j ACCEPT\nCOMMIT\n"
	v6 := "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -s 2001:db8::1/128 -j ACCEPT\nCOMMIT\n"
	dir := t.TempDir()
	writeFile(t, dir+"/v4", v4)
	writeFile(t, dir+"/v6", v6)
	inet := func(flags ...string) result {
		args := append([]string{"apply", "--netns", ns.Path(), "--family", "inet", "-f", dir + "/v4", "--file6", dir + "/v6"}, flags...)
		return runCLI(t, args, "")
	}
	ktest.Run(t, ns, v4, "iptables-restore")
	ktest.Run(t, ns, v6, "ip6tables-restore")
	const iptablesNft = "table ip filter, table ip6 filter"
	if got := tables(); got != iptablesNft {
		t.Fatalf("after iptables-restore: %s", got)
	}
	for _, tc := range []struct {
		flags []string
		code  int
		says  string
	}{
		{nil, 1, "table ip filter exists and is iptables-nft's"},
		{[]string{"--replace"}, 1, "use --takeover"},
		{[]string{"--takeover", "--check"}, 0, ""},
	} {
		if r := inet(tc.flags...); r.code != tc.code || !strings.Contains(r.stderr, tc.says) || tables() != iptablesNft {
			t.Errorf("%v: exit %d (want %d), tables %s\n%s", tc.flags, r.code, tc.code, tables(), r.stderr)
		}
	}
	// A chain another program put into ip6 filter.
	ktest.Run(t, ns, "", "nft", "add", "chain", "ip6", "filter", "DOCKER-USER")
	if r := inet("--takeover"); r.code != 1 || !strings.Contains(r.stderr, "DOCKER-USER") || tables() != iptablesNft {
		t.Errorf("--takeover of a table with a chain the files do not define: exit %d, tables %s\n%s", r.code, tables(), r.stderr)
	}
	if r := inet("--takeover", "--force"); r.code != 0 || tables() != "table inet filter" {
		t.Fatalf("--takeover --force: exit %d, tables %s\n%s", r.code, tables(), r.stderr)
	}
	// ctmatch's own per-family tables: in the way of the inet table, and
	// deleted with --replace.
	ktest.Run(t, ns, "", "nft", "flush", "ruleset")
	if r := runCLI(t, []string{"apply", "--netns", ns.Path(), "-f", dir + "/v4", "--file6", dir + "/v6"}, ""); r.code != 0 {
		t.Fatalf("apply -f v4 --file6 v6: exit %d\n%s", r.code, r.stderr)
	}
	if r := inet(); r.code != 1 || !strings.Contains(r.stderr, "--replace") || tables() != iptablesNft {
		t.Errorf("inet over ctmatch's ip tables: exit %d, tables %s\n%s", r.code, tables(), r.stderr)
	}
	if r := inet("--replace"); r.code != 0 || tables() != "table inet filter" {
		t.Errorf("--replace: exit %d, tables %s\n%s", r.code, tables(), r.stderr)
	}
	// A table of another program named like them (nft's: a base chain
	// iptables does not make) is left as it is.
	ktest.Run(t, ns, "add table ip6 filter\nadd chain ip6 filter input { type filter hook input priority 10; }\n", "nft", "-f", "-")
	if r := inet("--replace"); r.code != 0 || tables() != "table inet filter, table ip6 filter" {
		t.Errorf("--replace next to another program's ip6 filter: exit %d, tables %s\n%s", r.code, tables(), r.stderr)
	}
	// Back to ip and ip6 tables: the inet table ctmatch made of them is in
	// their way (it would go on filtering beside them), and deleted with
	// --replace in the same transaction.
	ktest.Run(t, ns, "", "nft", "flush", "ruleset")
	if r := inet(); r.code != 0 || tables() != "table inet filter" {
		t.Fatalf("--family inet: exit %d, tables %s\n%s", r.code, tables(), r.stderr)
	}
	back := func(flags ...string) result {
		return runCLI(t, append([]string{"apply", "--netns", ns.Path(), "-f", dir + "/v4", "--file6", dir + "/v6"}, flags...), "")
	}
	if r := back(); r.code != 1 || !strings.Contains(r.stderr, "table inet filter exists") || !strings.Contains(r.stderr, "--replace") || tables() != "table inet filter" {
		t.Errorf("ip and ip6 tables over ctmatch's inet table: exit %d, tables %s\n%s", r.code, tables(), r.stderr)
	}
	if r := back("--replace"); r.code != 0 || tables() != iptablesNft {
		t.Errorf("--replace of ctmatch's inet table by ip and ip6 tables: exit %d, tables %s\n%s", r.code, tables(), r.stderr)
	}
}

// A raw table's user chains may be named INPUT and FORWARD (raw has no such
// built-in chains): the file applies, and its JSON listing, whose records
// carry the rules' words without -A or -t, applies back after a flush.
func TestApplyListingUserChainsNamedLikeBuiltins(t *testing.T) {
	ns := ktest.Namespace(t, "nft")
	file := "*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:INPUT - [0:0]\n:FORWARD - [0:0]\n-A PREROUTING -j INPUT\n-A OUTPUT -g FORWARD\nCOMMIT\n"
	if r := runCLI(t, []string{"apply", "--netns", ns.Path(), "-f", "-"}, file); r.code != 0 {
		t.Fatalf("apply: exit %d\n%s", r.code, r.stderr)
	}
	before := ktest.Run(t, ns, "", "nft", "list", "ruleset")
	l := runCLI(t, []string{"list", "--netns", ns.Path(), "-o", "json"}, "")
	if l.code != 0 {
		t.Fatalf("list: exit %d\n%s", l.code, l.stderr)
	}
	ktest.Run(t, ns, "", "nft", "flush", "ruleset")
	if r := runCLI(t, []string{"apply", "--netns", ns.Path(), "-f", "-"}, l.stdout); r.code != 0 {
		t.Fatalf("apply of the listing: exit %d\n%s", r.code, r.stderr)
	}
	if after := ktest.Run(t, ns, "", "nft", "list", "ruleset"); after != before {
		t.Errorf("after the listing's apply:\n%s\nbefore:\n%s", after, before)
	}
}

// apply --replace deletes the chains of ctmatch's table that the file does
// not define (another program's, say) and says so, once each; a replace
// that deletes none says nothing.
func TestApplyReplaceSaysDeletedChains(t *testing.T) {
	ns := ktest.Namespace(t, "nft")
	dir := t.TempDir()
	writeFile(t, dir+"/a", "*filter\n:INPUT ACCEPT [0:0]\n:x - [0:0]\n-A INPUT -j x\nCOMMIT\n")
	writeFile(t, dir+"/b", "*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n")
	apply := func(file string) result {
		return runCLI(t, []string{"apply", "--netns", ns.Path(), "--replace", "-f", file}, "")
	}
	if r := apply(dir + "/a"); r.code != 0 || r.stderr != "" {
		t.Fatalf("apply a: exit %d\n%s", r.code, r.stderr)
	}
	if r := apply(dir + "/b"); r.code != 0 || r.stderr != "ctmatch: warning: chain ip filter x, which the file does not define, was deleted (--replace)\n" {
		t.Errorf("replace of a by b: exit %d, stderr %q; want the warning naming x", r.code, r.stderr)
	}
	if r := apply(dir + "/b"); r.code != 0 || r.stderr != "" {
		t.Errorf("replace of b by b: exit %d, stderr %q; want nothing said", r.code, r.stderr)
	}
}
