package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/ctmatch/ctmatch/internal/ktest"
)

// --check does everything but change anything: add rule (with --create),
// insert rule, apply and delete rule each pass or fail as they would, and
// the ruleset and its generation stay as they were.
func TestCLICheck(t *testing.T) {
	ns := ktest.Namespace(t, "nft")
	bin := ctmatchCLI(t)
	gen, listing := rulesetState(t, ns)

	// Into an empty ruleset, with --create.
	out := mustCLI(t, bin, ns, "", "add", "rule", "inet", "fw", "input", "--create", "--check", "--echo", "--", "-m", "conntrack", "--ctstate", "NEW,DNAT", "-j", "ACCEPT")
	want := "add table inet fw\nadd chain inet fw input { type filter hook input priority 0; policy accept; }\n" +
		"add rule inet fw input meta nfproto ipv4 ct state new counter accept\n" +
		"add rule inet fw input meta nfproto ipv4 ct state ! new ct status dnat counter accept\n"
	if out != want {
		t.Errorf("--check --echo printed:\n%s\nwant (no handles):\n%s", out, want)
	}
	unchangedSince(t, ns, "add rule --create --check", gen, listing)

	// Into an existing chain.
	mustCLI(t, bin, ns, "", "add", "rule", "inet", "fw", "input", "--create", "--", "-m", "conntrack", "--ctstate", "NEW,DNAT", "-j", "ACCEPT")
	ktest.Run(t, ns, "add chain inet fw out { type filter hook output priority 0; }\n", "nft", "-f", "-")
	gen, listing = rulesetState(t, ns)
	handle := strings.Fields(listing[strings.Index(listing, "ct state new"):])
	for i, f := range handle {
		if f == "handle" {
			handle = handle[i+1 : i+2]
			break
		}
	}
	for _, args := range [][]string{
		{"insert", "rule", "inet", "fw", "input", "--check", "--index", "2", "--", "-m", "conntrack", "--ctstate", "INVALID", "-j", "DROP"},
		{"add", "rule", "inet", "fw", "input", "--check", "-6", "--", "-m", "conntrack", "--ctorigsrc", "2001:db8::/32"},
		{"delete", "rule", "inet", "fw", "input", "handle", handle[0], "--check"},
		{"apply", "--check", "-f", "-"},
	} {
		r := runCLI(t, bin, ns, "add rule inet fw input -- -m state --state NEW\ninsert rule inet fw input --index 1 -- -m conntrack --ctdir REPLY\n", args...)
		if r.code != 0 || r.stdout != "" || r.stderr != "" {
			t.Errorf("ctmatch %s: exit %d\n%s%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
		}
		unchangedSince(t, ns, strings.Join(args, " "), gen, listing)
	}

	// What only the kernel refuses, a check reports as a commit would.
	for _, args := range [][]string{
		{"add", "rule", "inet", "fw", "input", "--check", "--", "-m", "conntrack", "--ctstate", "NEW", "-j", "out"},
		{"add", "rule", "inet", "fw", "input", "--", "-m", "conntrack", "--ctstate", "NEW", "-j", "out"},
	} {
		r := runCLI(t, bin, ns, "", args...)
		if want := "ctmatch: add rule inet fw input (-m conntrack --ctstate NEW -j out): expression 7 (immediate): chain out is a base chain, and the kernel takes no jump or goto to a base chain: operation not supported\n"; r.code != 1 || r.stderr != want {
			t.Errorf("ctmatch %s: exit %d\n got %q\nwant %q", strings.Join(args, " "), r.code, r.stderr, want)
		}
		unchangedSince(t, ns, strings.Join(args, " "), gen, listing)
	}
	// And what ctmatch refuses itself, a check refuses too.
	r := runCLI(t, bin, ns, "", "insert", "rule", "inet", "fw", "input", "--check", "--index", "3", "--", "-m", "conntrack", "--ctstate", "NEW")
	if want := "ctmatch: insert rule inet fw input (-m conntrack --ctstate NEW): index 3 is too big: chain inet fw input holds 1 rule (group of nft rules), so insert takes an index from 1 to 2\n"; r.code != 1 || r.stderr != want {
		t.Errorf("insert --check --index 3: exit %d\n got %q\nwant %q", r.code, r.stderr, want)
	}
}

// --netns takes a named namespace, as ip netns add makes it; the rules go
// there and nowhere else.
func TestCLINamedNetns(t *testing.T) {
	scratch := ktest.Namespace(t, "ip", "nft")
	bin := ctmatchCLI(t)
	name := fmt.Sprintf("ctmatch-test-%d", os.Getpid())
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v\n%s", name, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v\n%s", name, err, out)
		}
	})
	path := "/run/netns/" + name
	run := func(args ...string) (string, string, int) {
		cmd := exec.Command(bin, args...)
		var o, e strings.Builder
		cmd.Stdout, cmd.Stderr = &o, &e
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return o.String(), e.String(), code
	}
	if out, errOut, code := run("add", "rule", "inet", "fw", "input", "--netns", path, "--create", "--echo", "--", "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "ACCEPT"); code != 0 || !strings.Contains(out, "add rule inet fw input meta nfproto ipv4 ct state established,related counter accept # handle") {
		t.Fatalf("add rule --netns %s: exit %d\n%s%s", path, code, out, errOut)
	}
	out, errOut, code := run("list", "--netns", path, "-o", "iptables")
	if want := "# table inet fw\n# chain input (type filter hook input priority 0; policy accept)\n-A input -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n"; code != 0 || out != want {
		t.Errorf("list --netns %s: exit %d\n%s%s\nwant:\n%s", path, code, out, errOut, want)
	}
	nsOut, err := exec.Command("ip", "netns", "exec", name, "nft", "list", "ruleset").CombinedOutput()
	if err != nil || !strings.Contains(string(nsOut), "ct state established,related counter packets 0 bytes 0 accept") {
		t.Errorf("nft in %s: %v\n%s", name, err, nsOut)
	}
	// Not in another namespace.
	if out := ktest.Run(t, scratch, "", "nft", "list", "ruleset"); out != "" {
		t.Errorf("the rule is in another namespace too:\n%s", out)
	}
	_, errOut, code = run("list", "--netns", "/run/netns/ctmatch-no-such-namespace")
	if want := "ctmatch: dial network namespace /run/netns/ctmatch-no-such-namespace: stat /run/netns/ctmatch-no-such-namespace: no such file or directory\n"; code != 1 || errOut != want {
		t.Errorf("a missing namespace: exit %d\n got %q\nwant %q", code, errOut, want)
	}
}

// Without CAP_NET_ADMIN (setpriv drops it from the bounding set, so the
// exec does not give it back) every command fails with a message that
// names the capability, exits 1, and changes nothing.
func TestCLIPrivilege(t *testing.T) {
	ns := ktest.Namespace(t, "setpriv", "nft")
	bin := ctmatchCLI(t)
	mustCLI(t, bin, ns, "", "add", "rule", "inet", "fw", "input", "--create", "--", "-m", "conntrack", "--ctstate", "NEW")
	gen, listing := rulesetState(t, ns)
	drop := []string{"setpriv", "--inh-caps=-all", "--bounding-set=-net_admin", "--"}
	for _, tc := range []struct {
		args  []string
		stdin string
		want  string
	}{
		{[]string{"add", "rule", "inet", "fw", "input", "--", "-m", "conntrack", "--ctstate", "INVALID", "-j", "DROP"}, "",
			"ctmatch: add rule inet fw input (-m conntrack --ctstate INVALID -j DROP): get generation: operation not permitted (needs CAP_NET_ADMIN)\n"},
		{[]string{"insert", "rule", "inet", "fw", "input", "--check", "--", "-m", "conntrack", "--ctstate", "INVALID", "-j", "DROP"}, "",
			"ctmatch: insert rule inet fw input (-m conntrack --ctstate INVALID -j DROP): get generation: operation not permitted (needs CAP_NET_ADMIN)\n"},
		{[]string{"delete", "rule", "inet", "fw", "input", "handle", "2"}, "",
			"ctmatch: delete rule inet fw input: get generation: operation not permitted (needs CAP_NET_ADMIN)\n"},
		{[]string{"list"}, "",
			"ctmatch: list: get generation: operation not permitted (needs CAP_NET_ADMIN)\n"},
		{[]string{"apply", "-f", "-"}, "add rule inet fw input -- -m state --state NEW\n",
			"ctmatch: add rule inet fw input (<stdin>:1: -m state --state NEW): get generation: operation not permitted (needs CAP_NET_ADMIN)\n"},
	} {
		r := runWrapped(t, bin, ns, tc.stdin, drop, tc.args...)
		if r.code != 1 || r.stderr != tc.want || r.stdout != "" {
			t.Errorf("ctmatch %s without CAP_NET_ADMIN: exit %d\nstdout %q\n got %q\nwant %q", strings.Join(tc.args, " "), r.code, r.stdout, r.stderr, tc.want)
		}
	}
	// Without CAP_SYS_ADMIN, --netns cannot enter the namespace.
	r := runWrapped(t, bin, ns, "", []string{"setpriv", "--inh-caps=-all", "--bounding-set=-net_admin,-sys_admin", "--"}, "list")
	if want := "ctmatch: dial nf_tables netlink socket in /proc/self/fd/3: setns: operation not permitted (entering another network namespace needs CAP_SYS_ADMIN)\n"; r.code != 1 || r.stderr != want {
		t.Errorf("list without CAP_SYS_ADMIN: exit %d\n got %q\nwant %q", r.code, r.stderr, want)
	}
	// The child really had no CAP_NET_ADMIN: nft says so too.
	cmd := exec.Command("setpriv", "--inh-caps=-all", "--bounding-set=-net_admin", "--", "nsenter", "--net=/proc/self/fd/3", "--", "nft", "list", "ruleset")
	cmd.ExtraFiles = []*os.File{ns.File()}
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "Operation not permitted") {
		t.Errorf("nft without CAP_NET_ADMIN: %v\n%s", err, out)
	}
	unchangedSince(t, ns, "the commands without CAP_NET_ADMIN", gen, listing)
}
