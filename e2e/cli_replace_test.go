package e2e

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/internal/kerneltest"
	"github.com/ctmatch/ctmatch/internal/ktest"
	"github.com/ctmatch/ctmatch/internal/netns"
	"github.com/ctmatch/ctmatch/kernel"
)

// The tests of apply -f --replace and --takeover: whole rulesets written
// over tables that exist, in one transaction.

// bigSave returns an iptables-save file of table filter with n rules:
// chains c0, c1, … of perChain rules each (the last one fewer), each
// reached from INPUT, whose policy is DROP when variant is odd. The rules
// of variant v differ from those of every other variant (their ports), and
// variant 1 has one chain less than variant 0, so that a replacement
// deletes a chain, changes a policy and rewrites every rule.
func bigSave(n, perChain, variant int) string {
	var b strings.Builder
	b.Grow(n * 64)
	policy := "ACCEPT"
	if variant%2 == 1 {
		policy = "DROP"
	}
	chains := (n + perChain - 1) / perChain
	if variant%2 == 1 && chains > 1 {
		// One chain less: its rules go to the others.
		chains--
		perChain = (n + chains - 1) / chains
	}
	fmt.Fprintf(&b, "*filter\n:INPUT %s [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n", policy)
	for c := range chains {
		fmt.Fprintf(&b, ":c%d - [0:0]\n", c)
	}
	for c := range chains {
		fmt.Fprintf(&b, "-A INPUT -s 10.%d.0.0/16 -j c%d\n", c%256, c)
	}
	for i := range n {
		c := i / perChain
		fmt.Fprintf(&b, "-A c%d -s 10.%d.%d.%d/32 -p tcp -m tcp --dport %d -j ACCEPT\n",
			c, c%256, (i/256)%256, i%256, 1+(i*7+variant*13)%65535)
	}
	b.WriteString("COMMIT\n")
	return b.String()
}

// tableDigest reads table ip filter through the kernel and returns, per
// chain, its kind, its number of rules and a digest of their expressions
// and the iptables words of their group records (not their group ids,
// which are random per apply), sorted by chain name: what makes two
// applies of one file equal. (A replacement that makes a chain again puts
// it last in the kernel's list of chains, where the order means nothing.)
func tableDigest(t *testing.T, c *kernel.Conn, fam expr.Family, table string) string {
	t.Helper()
	ctx := context.Background()
	chains, err := c.Chains(ctx, fam, table)
	if err != nil {
		t.Fatalf("list the chains of %v %s: %v", fam, table, err)
	}
	var lines []string
	for _, ch := range chains {
		rules, err := c.Rules(ctx, fam, table, ch.Name)
		if err != nil {
			t.Fatalf("list the rules of %v %s %s: %v", fam, table, ch.Name, err)
		}
		h := sha256.New()
		for _, r := range rules {
			comment, g, err := expr.ParseUserData(r.UserData)
			if err != nil {
				t.Fatalf("rule handle %d of %s: %v", r.Handle, ch.Name, err)
			}
			fmt.Fprintf(h, "%s|%s|%d/%d|%x\n", g.Words, comment, g.Index, g.Count, r.Exprs)
		}
		base := "regular"
		if ch.Base != nil {
			base = fmt.Sprintf("%s %v %d %v", ch.Base.TypeName(), ch.Base.Hook, ch.Base.Priority, ch.Base.Policy)
		}
		lines = append(lines, fmt.Sprintf("%s (%s): %d rules %x\n", ch.Name, base, len(rules), h.Sum(nil)[:8]))
	}
	slices.Sort(lines) // (the order of chains means nothing to the kernel)
	return strings.Join(lines, "")
}

func generation(t *testing.T, c *kernel.Conn) uint32 {
	t.Helper()
	g, err := c.Generation(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func writeTemp(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// apply --replace of a table of 50,000 rules replaces it whole in one
// transaction (the generation moves by one): a chain gone, INPUT's policy
// changed, every rule rewritten, and the table then holds what apply -f of
// the same file makes in a namespace of its own; without --replace the
// table is refused (exit 1) and with --check nothing changes.
func TestApplyReplace50k(t *testing.T) {
	const n = 50000
	bin := ctmatchCLI(t)
	ns := ktest.Namespace(t, "nft")
	conn := kerneltest.Dial(t, ns)
	a := writeTemp(t, "a.v4", bigSave(n, 1000, 0))
	b := writeTemp(t, "b.v4", bigSave(n, 1000, 1))
	mustCLI(t, bin, ns, "", "apply", "--no-counter", "-f", a)
	before := tableDigest(t, conn, expr.FamilyIP, "filter")
	if got := strings.Count(before, "\n"); got != 3+50 {
		t.Fatalf("after apply -f a: %d chains, want 53:\n%s", got, before)
	}

	g := generation(t, conn)
	r := runCLI(t, bin, ns, "", "apply", "--no-counter", "-f", b)
	if r.code != 1 || !strings.Contains(r.stderr, "table ip filter exists") || !strings.Contains(r.stderr, "--replace") {
		t.Errorf("apply without --replace: exit %d, want 1 naming the table and --replace\n%s", r.code, r.stderr)
	}
	mustCLI(t, bin, ns, "", "apply", "--no-counter", "--replace", "--check", "-f", b)
	if generation(t, conn) != g || tableDigest(t, conn, expr.FamilyIP, "filter") != before {
		t.Fatalf("apply without --replace, or with --check, changed the ruleset")
	}

	t0 := time.Now()
	mustCLI(t, bin, ns, "", "apply", "--no-counter", "--replace", "-f", b)
	t.Logf("apply --replace of %d rules: %v", n, time.Since(t0).Round(time.Millisecond))
	if got := generation(t, conn); got != g+1 {
		t.Errorf("apply --replace: the generation moved from %d to %d, want one transaction", g, got)
	}
	got := tableDigest(t, conn, expr.FamilyIP, "filter")

	fresh := ktest.Namespace(t, "nft")
	mustCLI(t, bin, fresh, "", "apply", "--no-counter", "-f", b)
	want := tableDigest(t, kerneltest.Dial(t, fresh), expr.FamilyIP, "filter")
	if got != want {
		t.Errorf("after apply --replace, the table differs from apply -f of the same file:\n--- replace:\n%s\n--- apply -f:\n%s", got, want)
	}
	if !strings.Contains(got, "INPUT (filter input 0 drop)") || strings.Contains(got, "c49 ") {
		t.Errorf("after apply --replace: INPUT's policy is not drop, or chain c49 is left:\n%s", got)
	}
}

// iptablesRuleset is a host's firewall as iptables-nft holds it: filter
// with a DROP policy, a user chain and conntrack rules, and nat.
const iptablesRuleset = `*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:services - [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -m conntrack --ctstate INVALID -j DROP
-A INPUT -p tcp -m conntrack --ctstate NEW -j services
-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED,DNAT -j ACCEPT
-A services -p tcp -m tcp --dport 22 -j ACCEPT
-A services -s 192.168.1.0/24 -p tcp -m tcp --dport 80 -j ACCEPT
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -i eth0 -p tcp -m tcp --dport 8080 -j ACCEPT
-A POSTROUTING -o eth0 -m conntrack --ctstate DNAT -j RETURN
COMMIT
`

// apply --takeover of iptables-nft's tables: refused, with the tables
// intact (iptables -S the same), when another program added a chain the
// file does not define, when the kernel refuses the batch, and when a
// table of that name is not iptables-nft's; with --check nothing changes;
// then the cut-over itself in one transaction, after which nothing of
// iptables-nft's is left (every table carries ctmatch's record, no rule
// uses an xt expression), the rules are those apply -f makes in a
// namespace of its own, and a table of another program is untouched.
func TestApplyTakeover(t *testing.T) {
	bin := ctmatchCLI(t)
	ns := ktest.Namespace(t, "iptables-restore", "iptables", "iptables-save", "nft")
	conn := kerneltest.Dial(t, ns)
	ktest.Run(t, ns, iptablesRuleset, "iptables-restore")
	ktest.Run(t, ns, "", "iptables", "-N", "DOCKER-USER") // another program's chain
	ktest.Run(t, ns, "table inet other {\n chain input { type filter hook input priority 10; }\n}\n", "nft", "-f", "-")
	other := ktest.Run(t, ns, "", "nft", "list", "table", "inet", "other")
	saved := func() string {
		return ktest.Run(t, ns, "", "iptables", "-S") + ktest.Run(t, ns, "", "iptables", "-t", "nat", "-S")
	}
	iptS := saved()
	if !strings.Contains(iptS, "-A services -p tcp -m tcp --dport 22 -j ACCEPT") || !strings.Contains(iptS, "-N DOCKER-USER") {
		t.Fatalf("iptables -S before:\n%s", iptS)
	}
	file := writeTemp(t, "rules.v4", iptablesRuleset)
	intact := func(what string) {
		t.Helper()
		if got := saved(); got != iptS {
			t.Errorf("%s: iptables -S changed:\n--- before:\n%s\n--- after:\n%s", what, iptS, got)
		}
	}

	// DOCKER-USER is not in the file.
	r := runCLI(t, bin, ns, "", "apply", "--takeover", "-f", file)
	if r.code != 1 || !strings.Contains(r.stderr, "DOCKER-USER") {
		t.Errorf("--takeover of a table with another program's chain: exit %d, want 1 naming DOCKER-USER\n%s", r.code, r.stderr)
	}
	intact("--takeover refused for DOCKER-USER")
	// Without --takeover.
	withChain := strings.Replace(iptablesRuleset, ":services - [0:0]\n", ":services - [0:0]\n:DOCKER-USER - [0:0]\n", 1)
	file = writeTemp(t, "rules.v4", withChain)
	if r := runCLI(t, bin, ns, "", "apply", "-f", file); r.code != 1 || !strings.Contains(r.stderr, "iptables-nft's") || !strings.Contains(r.stderr, "--takeover") {
		t.Errorf("apply without --takeover: exit %d, want 1 naming iptables-nft and --takeover\n%s", r.code, r.stderr)
	}
	intact("apply without --takeover")
	// A ruleset the kernel would refuse (a loop of jumps, which nf_tables
	// finds only when it commits): the whole-file check refuses it at the
	// jump before anything is sent (exit 2), and nothing changes.
	loop := strings.Replace(withChain, "COMMIT\n*nat", "-A DOCKER-USER -j services\n-A services -j DOCKER-USER\nCOMMIT\n*nat", 1)
	if r := runCLI(t, bin, ns, "", "apply", "--takeover", "-f", writeTemp(t, "loop.v4", loop)); r.code != 2 || !strings.Contains(r.stderr, "loop") {
		t.Errorf("--takeover of a ruleset with a loop of jumps: exit %d, want 2 naming the loop\n%s", r.code, r.stderr)
	}
	intact("a refused ruleset")
	g := generation(t, conn)
	mustCLI(t, bin, ns, "", "apply", "--takeover", "--check", "-f", file)
	intact("--check")
	if generation(t, conn) != g {
		t.Errorf("--check committed")
	}

	// The cut-over.
	mustCLI(t, bin, ns, "", "apply", "--takeover", "-f", file)
	if got := generation(t, conn); got != g+1 {
		t.Errorf("--takeover: the generation moved from %d to %d, want one transaction", g, got)
	}
	tables, err := conn.Tables(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, tb := range tables {
		if tb.Name == "other" {
			continue
		}
		if !expr.OwnedTable(tb.UserData) {
			t.Errorf("table %v %s does not carry ctmatch's record after --takeover", tb.Family, tb.Name)
		}
		chains, err := conn.Chains(context.Background(), tb.Family, tb.Name)
		if err != nil {
			t.Fatal(err)
		}
		for _, ch := range chains {
			rules, err := conn.Rules(context.Background(), tb.Family, tb.Name, ch.Name)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rules {
				names, _ := expr.ExprNames(r.Exprs)
				for _, n := range names {
					if n == "match" || n == "target" {
						t.Errorf("%v %s %s handle %d: an xt %s after --takeover", tb.Family, tb.Name, ch.Name, r.Handle, n)
					}
				}
			}
		}
	}
	// iptables reads nothing of its own any more: the table is ctmatch's
	// (iptables-nft 1.8.9 calls it incompatible).
	if out, errOut, err := ktest.Exec(ns, "", "iptables", "-S"); err == nil || strings.Contains(out, "-A services") || !strings.Contains(errOut, "incompatible") {
		t.Errorf("iptables -S after --takeover: %v\n%s%s", err, out, errOut)
	}
	fresh := ktest.Namespace(t, "nft")
	mustCLI(t, bin, fresh, "", "apply", "-f", file)
	want := ktest.Run(t, fresh, "", "nft", "list", "ruleset")
	got := strings.Replace(ktest.Run(t, ns, "", "nft", "list", "ruleset"), other, "", 1)
	if strings.TrimSpace(got) != strings.TrimSpace(want) {
		t.Errorf("after --takeover the kernel holds another ruleset than apply -f makes:\n--- takeover:\n%s\n--- apply -f:\n%s", got, want)
	}
	if got := ktest.Run(t, ns, "", "nft", "list", "table", "inet", "other"); got != other {
		t.Errorf("table inet other changed:\n%s", got)
	}
	for _, gone := range []string{"DOCKER-USER"} {
		if !strings.Contains(got, gone) {
			t.Errorf("chain %s, which the file defines, is missing", gone)
		}
	}
	// Again: the tables are ctmatch's now; --takeover alone refuses them,
	// --replace replaces them.
	if r := runCLI(t, bin, ns, "", "apply", "--takeover", "-f", file); r.code != 1 || !strings.Contains(r.stderr, "--replace") {
		t.Errorf("--takeover of ctmatch's tables: exit %d, want 1 naming --replace\n%s", r.code, r.stderr)
	}
	mustCLI(t, bin, ns, "", "apply", "--replace", "-f", file)
}

// With --force, --takeover deletes the chains the file does not define
// with the table, and says so; a table of the same name that iptables-nft
// does not read as its own is never touched, --force or not.
func TestApplyTakeoverForce(t *testing.T) {
	bin := ctmatchCLI(t)
	ns := ktest.Namespace(t, "iptables-restore", "iptables", "nft")
	ktest.Run(t, ns, iptablesRuleset, "iptables-restore")
	ktest.Run(t, ns, "", "iptables", "-N", "DOCKER-USER")
	file := writeTemp(t, "rules.v4", iptablesRuleset)
	r := runCLI(t, bin, ns, "", "apply", "--takeover", "--force", "-f", file)
	if r.code != 0 || !strings.Contains(r.stderr, "warning: chain ip filter DOCKER-USER, which the file does not define, was deleted") {
		t.Fatalf("--takeover --force: exit %d, want 0 and a warning naming DOCKER-USER\n%s", r.code, r.stderr)
	}
	if got := ktest.Run(t, ns, "", "nft", "list", "table", "ip", "filter"); strings.Contains(got, "DOCKER-USER") {
		t.Errorf("DOCKER-USER is left:\n%s", got)
	}

	// A named set that nft put into iptables-nft's table, and a rule of
	// nft's in a chain the file defines that reads it: iptables-nft makes
	// no named set, so the set is another program's, and --takeover
	// refuses to delete it unless --force.
	sets := ktest.Namespace(t, "iptables-restore", "nft")
	ktest.Run(t, sets, iptablesRuleset, "iptables-restore")
	ktest.Run(t, sets, "add set ip filter blocklist { type ipv4_addr; elements = { 198.51.100.1 } }\nadd rule ip filter INPUT ip saddr @blocklist drop\n", "nft", "-f", "-")
	gen, listing := rulesetState(t, sets)
	r = runCLI(t, bin, sets, "", "apply", "--takeover", "-f", file)
	if r.code != 1 || !strings.Contains(r.stderr, "what iptables-nft does not make: set ip filter blocklist") {
		t.Errorf("--takeover of a table with a named set: exit %d, want 1 naming the set\n%s", r.code, r.stderr)
	}
	unchangedSince(t, sets, "--takeover of a table with a named set", gen, listing)
	r = runCLI(t, bin, sets, "", "apply", "--takeover", "--force", "-f", file)
	if r.code != 0 || !strings.Contains(r.stderr, "warning: set ip filter blocklist, which iptables-nft does not make, was deleted with its table (--force)") {
		t.Errorf("--takeover --force of a table with a named set: exit %d, want 0 and a warning\n%s", r.code, r.stderr)
	}
	if got := ktest.Run(t, sets, "", "nft", "list", "table", "ip", "filter"); strings.Contains(got, "blocklist") {
		t.Errorf("the set is left:\n%s", got)
	}

	ns2 := ktest.Namespace(t, "nft")
	ktest.Run(t, ns2, "table ip filter {\n chain input { type filter hook input priority 5; policy accept; }\n}\n", "nft", "-f", "-")
	gen, listing = rulesetState(t, ns2)
	r = runCLI(t, bin, ns2, "", "apply", "--takeover", "--force", "--replace", "-f", file)
	if r.code != 1 || !strings.Contains(r.stderr, "iptables-nft does not read it as its own") {
		t.Errorf("--takeover of nft's table: exit %d, want 1\n%s", r.code, r.stderr)
	}
	unchangedSince(t, ns2, "--takeover of nft's table", gen, listing)
}

// killRules is the size of the ruleset TestApplyReplaceKilled replaces:
// 200,000 rules (about 75 s for the test on two quiet cores: see
// docs/benchmarks.md), or CTMATCH_KILL_RULES (50,000 for a quicker run).
func killRules(t *testing.T) int {
	n := 200000
	if s := os.Getenv("CTMATCH_KILL_RULES"); s != "" {
		if _, err := fmt.Sscan(s, &n); err != nil || n < 1000 {
			t.Fatalf("CTMATCH_KILL_RULES=%q: want a number of rules, at least 1000", s)
		}
	}
	return n
}

// timedApply runs apply --replace of file to its end and returns how long
// it took, when the generation moved (the kernel's commit, seen by
// polling the generation every millisecond) and the system time of the
// process (most of it the kernel reading the batch, in its sendmsg).
func timedApply(t *testing.T, bin string, ns *netns.NS, conn *kernel.Conn, file string) (whole, commit, sys time.Duration) {
	t.Helper()
	g := generation(t, conn)
	cmd := cliCommand(bin, ns, "", nil, "apply", "--no-counter", "--replace", "-f", file)
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	for commit == 0 {
		select {
		case err = <-done:
			whole = time.Since(t0)
			if commit == 0 {
				commit = whole
			}
		case <-time.After(time.Millisecond):
			if generation(t, conn) != g {
				commit = time.Since(t0)
			}
		}
	}
	if whole == 0 {
		err = <-done
		whole = time.Since(t0)
	}
	if err != nil {
		t.Fatalf("apply --replace -f %s: %v", file, err)
	}
	return whole, commit, cmd.ProcessState.SystemTime()
}

// killMoment is when a run is killed: at a time after its start, after
// the process is seen in the kernel reading its batch (see inKernel), or
// after the kernel committed its transaction (seen by polling the
// generation).
type killMoment struct {
	at   time.Duration
	from string // "start", "kernel" or "commit"
}

func (m killMoment) String() string {
	return fmt.Sprintf("%s+%v", m.from, m.at.Round(time.Millisecond))
}

// killMoments spreads n moments (n ≥ 10) over a run of apply, as the run
// measured went: a third from its start until the kernel reads the batch
// (commit-sys), a third from when the kernel is seen reading the batch
// over half the time the measured run spent in the kernel (sys, most of
// it in that sendmsg), a third from the commit, as it is seen, until 1.2 times what
// the measured run took after it (the replies, the exit).
func killMoments(n int, whole, commit, sys time.Duration) []killMoment {
	send := max(commit-sys, 0)
	before, during := n/3, n/3
	after := n - before - during
	var out []killMoment
	for i := range before {
		out = append(out, killMoment{at: send * time.Duration(i) / time.Duration(before), from: "start"})
	}
	for i := range during {
		out = append(out, killMoment{at: sys / 2 * time.Duration(i) / time.Duration(during), from: "kernel"})
	}
	tail := max(whole-commit, time.Millisecond) * 6 / 5
	for i := range after {
		out = append(out, killMoment{at: tail * time.Duration(i) / time.Duration(after-1), from: "commit"})
	}
	return out
}

// cpuTimes returns the user and system time of process pid, in clock
// ticks (/proc/PID/stat's utime and stime), or ok false when it is gone.
func cpuTimes(pid int) (user, sys int64, ok bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, false
	}
	// The fields after the command's name, which is in parentheses.
	i := strings.LastIndexByte(string(b), ')')
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, 0, false
	}
	fmt.Sscan(f[11], &user) // utime, field 14
	fmt.Sscan(f[12], &sys)  // stime, field 15
	return user, sys, true
}

// inKernel returns a channel that is closed once process pid is seen in
// the kernel reading its batch: over 30 ms, its system time grows by 2
// ticks or more and its user time not at all (apply has then built its
// batch, and the kernel reads it in the sendmsg that sends it, which
// takes most of the system time of a run). It stops when stop is closed
// or the process is gone.
func inKernel(pid int, stop <-chan struct{}) <-chan struct{} {
	seen := make(chan struct{})
	go func() {
		u0, s0, ok := cpuTimes(pid)
		for ok {
			select {
			case <-stop:
				return
			case <-time.After(30 * time.Millisecond):
			}
			u1, s1, alive := cpuTimes(pid)
			if !alive {
				return
			}
			if s1-s0 >= 2 && u1 == u0 {
				close(seen)
				return
			}
			u0, s0 = u1, s1
		}
	}()
	return seen
}

// apply --replace of a table of 200,000 rules (CTMATCH_KILL_RULES=50000
// for a quicker run) killed with SIGKILL at 20 moments spread before,
// while and after the kernel reads its batch (as a whole run measured
// first shows them; see killMoments) leaves, each time, exactly the ruleset before or the
// one after: the generation unmoved (no transaction was committed, so
// nothing changed), or moved by one with the table exactly as a whole run
// leaves it. Each run replaces what the one before left with the other
// ruleset, so that no run has to put the old one back. The killed process
// is gone within a bound, and the ruleset does not move after it.
func TestApplyReplaceKilled(t *testing.T) {
	n := killRules(t)
	start := time.Now()
	bin := ctmatchCLI(t)
	ns := ktest.Namespace(t, "nft")
	conn := kerneltest.Dial(t, ns)
	files := [2]string{writeTemp(t, "a.v4", bigSave(n, 1000, 0)), writeTemp(t, "b.v4", bigSave(n, 1000, 1))}
	var digests [2]string
	mustCLI(t, bin, ns, "", "apply", "--no-counter", "-f", files[0])
	digests[0] = tableDigest(t, conn, expr.FamilyIP, "filter")
	whole, commit, sys := timedApply(t, bin, ns, conn, files[1])
	digests[1] = tableDigest(t, conn, expr.FamilyIP, "filter")
	if digests[0] == digests[1] {
		t.Fatal("the two rulesets are the same")
	}
	t.Logf("apply --replace of %d rules: %v, the commit seen at %v, %v in the kernel", n,
		whole.Round(time.Millisecond), commit.Round(time.Millisecond), sys.Round(time.Millisecond))
	const bound = 2 * time.Minute
	cur := 1 // the ruleset the table holds
	outcomes := map[string]int{}
	for i, at := range killMoments(20, whole, commit, sys) {
		g := generation(t, conn)
		if i == 0 {
			at.at = 0
		}
		cmd := cliCommand(bin, ns, "", nil, "apply", "--no-counter", "--replace", "-f", files[1-cur])
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		var err error
		exited := false
		switch at.from {
		case "kernel":
			stop := make(chan struct{})
			select {
			case err = <-done:
				exited = true
			case <-inKernel(cmd.Process.Pid, stop):
			}
			close(stop)
		case "commit":
			// (bounded: the run commits or ends)
			for !exited && generation(t, conn) == g {
				select {
				case err = <-done:
					exited = true
				case <-time.After(time.Millisecond):
				}
			}
		}
		if !exited {
			select {
			case err = <-done:
				exited = true
			case <-time.After(at.at):
			}
		}
		committed := true // the commit was seen before the kill
		if !exited {
			committed = generation(t, conn) != g
			cmd.Process.Kill()
			select {
			case err = <-done:
			case <-time.After(bound):
				t.Fatalf("moment %d: the killed apply is still there after %v", i, bound)
			}
		}
		state := "exit 0"
		if err != nil {
			state = err.Error()
		}
		outcome := "old"
		switch after := generation(t, conn); after {
		case g:
		case g + 1:
			if got := tableDigest(t, conn, expr.FamilyIP, "filter"); got != digests[1-cur] {
				t.Fatalf("moment %d (%v): one transaction, but the table is not the new ruleset:\n%s\nwant:\n%s", i, at, got, digests[1-cur])
			}
			outcome = "new"
			cur = 1 - cur
		default:
			t.Fatalf("moment %d (%v): the generation moved from %d to %d, want one transaction or none", i, at, g, after)
		}
		if err == nil && outcome != "new" {
			t.Fatalf("moment %d: apply exited 0 and the ruleset is the old one", i)
		}
		if committed && outcome != "new" {
			t.Fatalf("moment %d (%v): killed after the commit, and the ruleset is the old one", i, at)
		}
		// What the kill met: the run ended, the commit done, the process
		// seen in the kernel, or nothing of these.
		switch {
		case exited:
			state += ", the run had ended"
		case committed:
			state += ", after the commit"
		case at.from == "kernel":
			state += ", in the kernel before the commit"
			outcomes["killed in the kernel, "+outcome]++
		default:
			state += ", before the commit"
		}
		outcomes[outcome]++
		t.Logf("moment %2d at %6v: %s, %s", i, at, state, outcome)
	}
	// The last run's ruleset stays.
	if g := generation(t, conn); tableDigest(t, conn, expr.FamilyIP, "filter") != digests[cur] || generation(t, conn) != g {
		t.Errorf("the ruleset moved after the last apply was gone")
	}
	if outcomes["old"] == 0 {
		t.Errorf("outcomes %v: not even the kill at the start left the old ruleset", outcomes)
	}
	t.Logf("outcomes %v, in %v", outcomes, time.Since(start).Round(time.Millisecond))
}

// --takeover of both families at once: iptables-nft's ip and ip6 tables
// are deleted and ctmatch's made in their place in one transaction.
func TestApplyTakeoverBothFamilies(t *testing.T) {
	bin := ctmatchCLI(t)
	ns := ktest.Namespace(t, "iptables-restore", "ip6tables-restore", "nft")
	conn := kerneltest.Dial(t, ns)
	const v6 = "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -i lo -j ACCEPT\n-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n-A INPUT -p ipv6-icmp -j ACCEPT\nCOMMIT\n"
	ktest.Run(t, ns, iptablesRuleset, "iptables-restore")
	ktest.Run(t, ns, v6, "ip6tables-restore")
	g := generation(t, conn)
	mustCLI(t, bin, ns, "", "apply", "--takeover", "-f", writeTemp(t, "rules.v4", iptablesRuleset), "--file6", writeTemp(t, "rules.v6", v6))
	if got := generation(t, conn); got != g+1 {
		t.Errorf("--takeover -f --file6: the generation moved from %d to %d, want one transaction", g, got)
	}
	tables, err := conn.Tables(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tb := range tables {
		names = append(names, fmt.Sprintf("%v %s %v", tb.Family, tb.Name, expr.OwnedTable(tb.UserData)))
	}
	slices.Sort(names)
	if want := []string{"ip filter true", "ip nat true", "ip6 filter true"}; !slices.Equal(names, want) {
		t.Errorf("tables after --takeover -f --file6: %q, want %q", names, want)
	}
}

// apply -6 -f FILE reads an iptables-save file of ip6tables rules, as
// --file6 FILE does: it makes the ip6 table, no ip table.
func TestApply6File(t *testing.T) {
	bin := ctmatchCLI(t)
	ns := ktest.Namespace(t)
	conn := kerneltest.Dial(t, ns)
	const v6 = "*filter\n:INPUT DROP [0:0]\n-A INPUT -s 2001:db8::/32 -j ACCEPT\nCOMMIT\n"
	mustCLI(t, bin, ns, "", "apply", "-6", "-f", writeTemp(t, "rules.v6", v6))
	tables, err := conn.Tables(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tb := range tables {
		names = append(names, fmt.Sprintf("%v %s %v", tb.Family, tb.Name, expr.OwnedTable(tb.UserData)))
	}
	if want := []string{"ip6 filter true"}; !slices.Equal(names, want) {
		t.Errorf("tables after apply -6 -f: %q, want %q", names, want)
	}
	out := mustCLI(t, bin, ns, "", "list", "-o", "iptables")
	if !strings.Contains(out, "-A INPUT -s 2001:db8::/32 -j ACCEPT") {
		t.Errorf("list -o iptables after apply -6 -f:\n%s\nwant the rule", out)
	}
}

// An iptables-save file with no table (what iptables-save prints on a host
// without tables of that family, or only its comments) is an iptables-save
// file where the flags say so: --file6, --replace, -6. apply -f of the
// empty file with --file6 writes the ip6 tables; --replace of it alone
// changes nothing.
func TestApplyEmptySaveFile(t *testing.T) {
	bin := ctmatchCLI(t)
	ns := ktest.Namespace(t)
	conn := kerneltest.Dial(t, ns)
	empty := writeTemp(t, "rules.v4", "")
	comments := writeTemp(t, "comments.v4", "# Generated by iptables-save\n# Table `filter' is incompatible, use 'nft' tool.\n")
	v6 := writeTemp(t, "rules.v6", "*filter\n:INPUT DROP [0:0]\n-A INPUT -s 2001:db8::/32 -j ACCEPT\nCOMMIT\n")
	for _, args := range [][]string{
		{"apply", "--replace", "-f", empty, "--file6", v6},
		{"apply", "--replace", "-f", comments, "--file6", v6},
		{"apply", "--replace", "-f", comments},
		{"apply", "-6", "-f", empty},
	} {
		mustCLI(t, bin, ns, "", args...)
		tables, err := conn.Tables(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, tb := range tables {
			names = append(names, fmt.Sprintf("%v %s", tb.Family, tb.Name))
		}
		if want := []string{"ip6 filter"}; !slices.Equal(names, want) {
			t.Errorf("tables after %q: %q, want %q", args, names, want)
		}
	}
}

// The rules apply loads say their caveats once a run per kind, at the
// first rule's word, in an iptables-save file (exactly as translate -f of
// the same file says them) and in apply lines; the rules are loaded.
func TestApplyCaveats(t *testing.T) {
	bin := ctmatchCLI(t)
	ns := ktest.Namespace(t)
	const v6 = "*filter\n:INPUT DROP [0:0]\n-A INPUT -p tcp --dport 22 -j ACCEPT\n-A INPUT -p udp --dport 53 -j ACCEPT\nCOMMIT\n"
	const lines = "add rule ip6 fw in -- -p tcp --dport 22 -j ACCEPT\nadd rule ip6 fw in -- -p udp --dport 53 -j ACCEPT\n"
	file := writeTemp(t, "rules.v6", v6)
	var stderr strings.Builder
	tr := exec.Command(bin, "translate", "-6", "-f", file)
	tr.Stderr = &stderr
	if err := tr.Run(); err != nil || stderr.Len() == 0 {
		t.Fatalf("translate -6 -f: %v, stderr %q; want success and its caveat", err, stderr.String())
	}
	for _, c := range []struct {
		name, stdin string
		args        []string
		at          string // the first caveat's place
		same        string // the stderr it must equal, or ""
	}{
		{"save file", "", []string{"apply", "-6", "-f", file}, "rules.v6:3:10: warning: ip6tables' -p looks past an AH header", stderr.String()},
		{"apply lines", lines, []string{"apply", "--create", "-f", "-"}, "<stdin>:1:23: warning: ip6tables' -p looks past an AH header", ""},
	} {
		r := runCLI(t, bin, ns, c.stdin, c.args...)
		if r.code != 0 {
			t.Fatalf("%s: exit %d\n%s", c.name, r.code, r.stderr)
		}
		if !strings.Contains(r.stderr, c.at) || strings.Count(r.stderr, "warning: ip6tables' -p") != 1 {
			t.Errorf("%s: stderr\n%s\nwant one AH caveat, at %q", c.name, r.stderr, c.at)
		}
		if c.same != "" && r.stderr != c.same {
			t.Errorf("%s: apply's stderr\n%s\ntranslate -f's\n%s", c.name, r.stderr, c.same)
		}
	}
	out := mustCLI(t, bin, ns, "", "list", "-o", "iptables")
	if strings.Count(out, "--dport 22 -j ACCEPT") != 2 || strings.Count(out, "--dport 53 -j ACCEPT") != 2 {
		t.Errorf("list -o iptables after both applies:\n%s\nwant both rules twice", out)
	}
}
