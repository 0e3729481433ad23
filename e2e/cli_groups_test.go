package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/internal/kerneltest"
	"github.com/ctmatch/ctmatch/internal/ktest"
	"github.com/ctmatch/ctmatch/internal/netns"
)

// sendUDP sends n datagrams of size bytes to 127.0.0.1:port from inside
// ns, to a socket listening there (so that no ICMP error is sent back).
func sendUDP(t *testing.T, ns *netns.NS, port, n, size int) {
	t.Helper()
	if err := ns.Do(func() error {
		l, err := net.ListenPacket("udp4", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			return err
		}
		defer l.Close()
		c, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			return err
		}
		defer c.Close()
		for i := 0; i < n; i++ {
			if _, err := c.WriteTo(make([]byte, size), l.LocalAddr()); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// The pieces of one iptables rule are one group: list -o iptables shows it
// on one line with its handles and the sum of its pieces' counters;
// insert --index counts groups; deleting any handle of a group deletes the
// whole group, and a rule alone goes alone.
func TestCLIGroups(t *testing.T) {
	ns := ktest.Namespace(t, "nft")
	bin := ctmatchCLI(t)
	// Datagrams to port 9999 are not tracked, the others are.
	ktest.Run(t, ns, "table inet raw {\n chain out { type filter hook output priority -300; udp dport 9999 notrack; }\n}\n", "nft", "-f", "-")

	// ! --ctstate SNAT is two rules: ct state invalid,untracked, and
	// ct status ! snat (a conntrack without SNAT).
	out := mustCLI(t, bin, ns, "", "add", "rule", "inet", "fw", "output", "--create", "--echo", "--", "-m", "conntrack", "!", "--ctstate", "SNAT")
	var handles []uint64
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var h uint64
		if i := strings.LastIndex(l, "# handle "); i >= 0 {
			fmt.Sscan(l[i+len("# handle "):], &h)
			handles = append(handles, h)
		}
	}
	if len(handles) != 2 || !strings.HasPrefix(out, "add table inet fw\nadd chain inet fw output { type filter hook output priority 0; policy accept; }\n") {
		t.Fatalf("--echo printed:\n%s", out)
	}
	sendUDP(t, ns, 9999, 3, 100) // untracked: the first rule
	sendUDP(t, ns, 9998, 5, 200) // tracked: the second rule

	c := kerneltest.Dial(t, ns)
	rules, err := c.Rules(context.Background(), expr.FamilyInet, "fw", "output")
	if err != nil {
		t.Fatal(err)
	}
	if len(rules) != 2 || rules[0].Counter == nil || rules[1].Counter == nil || rules[0].Counter.Packets != 3 || rules[1].Counter.Packets != 5 {
		t.Fatalf("rules %+v: want 3 packets on the first and 5 on the second", rules)
	}
	sum := rules[0].Counter.Bytes + rules[1].Counter.Bytes
	out = mustCLI(t, bin, ns, "", "list", "chain", "inet", "fw", "output", "-o", "iptables", "-a")
	want := fmt.Sprintf("-A output -m conntrack ! --ctstate SNAT # handles %d,%d packets 8 bytes %d", handles[0], handles[1], sum)
	if !strings.Contains(out, want+"\n") {
		t.Errorf("list -o iptables -a:\n%s\nwant the line %q", out, want)
	}

	// A second and a third group; then an insert at --index 2.
	mustCLI(t, bin, ns, "", "add", "rule", "inet", "fw", "output", "--", "-m", "conntrack", "--ctstate", "INVALID", "-j", "DROP")
	mustCLI(t, bin, ns, "", "add", "rule", "inet", "fw", "output", "--", "-m", "conntrack", "--ctstate", "NEW,DNAT", "-j", "ACCEPT")
	mustCLI(t, bin, ns, "", "insert", "rule", "inet", "fw", "output", "--index", "2", "--", "-m", "conntrack", "--ctstate", "ESTABLISHED", "-j", "ACCEPT")
	out = mustCLI(t, bin, ns, "", "list", "chain", "inet", "fw", "output", "-o", "iptables")
	wantList := `# table inet fw
# chain output (type filter hook output priority 0; policy accept)
-A output -m conntrack ! --ctstate SNAT
-A output -m conntrack --ctstate ESTABLISHED -j ACCEPT
-A output -m conntrack --ctstate INVALID -j DROP
-A output -m conntrack --ctstate NEW,DNAT -j ACCEPT
`
	if out != wantList {
		t.Errorf("after insert --index 2:\n%s\nwant:\n%s", out, wantList)
	}
	// In nft rules: the inserted rule comes right after the second piece
	// of the first group.
	rules, err = c.Rules(context.Background(), expr.FamilyInet, "fw", "output")
	if err != nil {
		t.Fatal(err)
	}
	if len(rules) != 6 || rules[1].Handle != handles[1] || rules[2].Position != handles[1] {
		t.Errorf("nft rules %+v: want the inserted rule third, after handle %d", rules, handles[1])
	}

	// Deleting the second piece of the last group deletes both; deleting
	// the rule of a group of one deletes it alone.
	newDNAT := []uint64{rules[4].Handle, rules[5].Handle}
	out = mustCLI(t, bin, ns, "", "delete", "rule", "inet", "fw", "output", "handle", fmt.Sprint(newDNAT[1]), "--echo")
	if want := fmt.Sprintf("delete rule inet fw output handle %d\ndelete rule inet fw output handle %d\n", newDNAT[0], newDNAT[1]); out != want {
		t.Errorf("delete --echo printed %q, want %q", out, want)
	}
	mustCLI(t, bin, ns, "", "delete", "rule", "inet", "fw", "output", "handle", fmt.Sprint(rules[3].Handle))
	mustCLI(t, bin, ns, "", "delete", "rule", "inet", "fw", "output", "handle", fmt.Sprint(handles[0]))
	out = mustCLI(t, bin, ns, "", "list", "chain", "inet", "fw", "output", "-o", "iptables")
	if want := "# table inet fw\n# chain output (type filter hook output priority 0; policy accept)\n-A output -m conntrack --ctstate ESTABLISHED -j ACCEPT\n"; out != want {
		t.Errorf("after the deletes:\n%s\nwant:\n%s", out, want)
	}
	r := runCLI(t, bin, ns, "", "delete", "rule", "inet", "fw", "output", "handle", fmt.Sprint(handles[1]))
	if r.code != 1 || !strings.Contains(r.stderr, fmt.Sprintf("no rule with handle %d in chain inet fw output", handles[1])) {
		t.Errorf("deleting a deleted handle: exit %d: %s", r.code, r.stderr)
	}
}

// Rules without ctmatch's group record are groups of one, whatever their
// shape: two rules written by hand with nft, each with its own comment,
// that one iptables rule (--ctstate NEW,DNAT) would compile to, list as two
// lines with their own counters, each with its comment as -m comment, and
// deleting one leaves the other.
func TestCLIRulesWithoutRecords(t *testing.T) {
	ns := ktest.Namespace(t, "nft")
	bin := ctmatchCLI(t)
	ktest.Run(t, ns, `table ip fw {
 chain output {
  type filter hook output priority 0; policy accept;
  ct state new counter comment "new flows"
  ct state ! new ct status dnat counter comment "dnat"
 }
}
`, "nft", "-f", "-")
	sendUDP(t, ns, 9998, 5, 100) // new (no reply): the first rule only

	c := kerneltest.Dial(t, ns)
	rules, err := c.Rules(context.Background(), expr.FamilyIP, "fw", "output")
	if err != nil {
		t.Fatal(err)
	}
	if len(rules) != 2 || rules[0].Counter == nil || rules[0].Counter.Packets != 5 || rules[1].Counter == nil || rules[1].Counter.Packets != 0 {
		t.Fatalf("rules %+v: want 5 packets on the first and none on the second", rules)
	}
	out := mustCLI(t, bin, ns, "", "list", "chain", "ip", "fw", "output", "-o", "iptables", "-a")
	want := fmt.Sprintf(`# table ip fw
# chain output (type filter hook output priority 0; policy accept)
-A output -m conntrack --ctstate NEW -m comment --comment "new flows" # handle %d packets 5 bytes %d
-A output -m conntrack ! --ctstate NEW -m conntrack --ctstate DNAT -m comment --comment dnat # handle %d packets 0 bytes 0
`, rules[0].Handle, rules[0].Counter.Bytes, rules[1].Handle)
	if out != want {
		t.Errorf("list -o iptables -a:\n%s\nwant:\n%s", out, want)
	}
	out = mustCLI(t, bin, ns, "", "delete", "rule", "ip", "fw", "output", "handle", fmt.Sprint(rules[1].Handle), "--echo")
	if want := fmt.Sprintf("delete rule ip fw output handle %d\n", rules[1].Handle); out != want {
		t.Errorf("delete --echo printed %q, want %q", out, want)
	}
	left := ktest.Run(t, ns, "", "nft", "-a", "list", "chain", "ip", "fw", "output")
	if !strings.Contains(left, fmt.Sprintf(`comment "new flows" # handle %d`, rules[0].Handle)) || strings.Contains(left, "dnat") {
		t.Errorf("after deleting handle %d:\n%s", rules[1].Handle, left)
	}
}

// With -f, the rules of a file keep the file's order wherever they go: at
// the top (insert), before a group (insert --index), after a group (add
// --handle), at the end (add).
func TestCLIFileOrder(t *testing.T) {
	ns := ktest.Namespace(t, "nft")
	bin := ctmatchCLI(t)
	file := t.TempDir() + "/rules.txt"
	if err := os.WriteFile(file, []byte("# three rules\n-m conntrack --ctstate NEW,DNAT -j ACCEPT\n\n-m conntrack --ctdir REPLY\n-m state --state INVALID -j DROP\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	three := []string{
		"-A c -m conntrack --ctstate NEW,DNAT -j ACCEPT",
		"-A c -m conntrack --ctdir REPLY",
		"-A c -m state --state INVALID -j DROP",
	}
	mark := func(n int) string { return fmt.Sprintf("-A c -m conntrack --ctexpire %d", n) }
	// Two groups to place the file around.
	mustCLI(t, bin, ns, "", "add", "rule", "ip", "fw", "c", "--create", "--", "-m", "conntrack", "--ctexpire", "1")
	mustCLI(t, bin, ns, "", "add", "rule", "ip", "fw", "c", "--", "-m", "conntrack", "--ctexpire", "2")
	listGroups := func() []string {
		out := mustCLI(t, bin, ns, "", "list", "chain", "ip", "fw", "c", "-o", "iptables", "-a")
		var got []string
		for _, l := range strings.Split(out, "\n") {
			if strings.HasPrefix(l, "-A ") {
				got = append(got, l)
			}
		}
		return got
	}
	handleOf := func(line string) string {
		f := strings.Fields(line[strings.Index(line, "# handle"):])
		return strings.Split(f[2], ",")[0]
	}
	for _, step := range []struct {
		args []string
		want func(before []string) []string
	}{
		{[]string{"insert", "rule", "ip", "fw", "c", "-f", file}, func(b []string) []string { return append(append([]string{}, three...), b...) }},
		{[]string{"insert", "rule", "ip", "fw", "c", "--index", "5", "-f", file}, func(b []string) []string {
			return append(append(append([]string{}, b[:4]...), three...), b[4:]...)
		}},
		{[]string{"add", "rule", "ip", "fw", "c", "--handle", "", "-f", file}, func(b []string) []string {
			return append(append(append([]string{}, b[:1]...), three...), b[1:]...)
		}},
		{[]string{"add", "rule", "ip", "fw", "c", "-f", file}, func(b []string) []string { return append(append([]string{}, b...), three...) }},
	} {
		before := listGroups()
		args := step.args
		if args[5] == "--handle" {
			args[6] = handleOf(before[0])
		}
		mustCLI(t, bin, ns, "", args...)
		var got, want []string
		for _, l := range listGroups() {
			got = append(got, l[:strings.Index(l, " #")])
		}
		for _, l := range step.want(before) {
			if i := strings.Index(l, " #"); i >= 0 {
				l = l[:i]
			}
			want = append(want, l)
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("ctmatch %s:\n%s\nwant:\n%s", strings.Join(args, " "), strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
	if got := listGroups(); len(got) != 14 || !strings.HasPrefix(got[13], three[2]) || !strings.Contains(strings.Join(got, "\n"), mark(2)) {
		t.Errorf("final chain:\n%s", strings.Join(got, "\n"))
	}
}
