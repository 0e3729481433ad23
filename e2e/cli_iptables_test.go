package e2e

import (
	"strings"
	"testing"

	"github.com/ctmatch/ctmatch/internal/ktest"
	"github.com/ctmatch/ctmatch/internal/netns"
)

// iptablesView is what iptables shows of the ruleset: iptables -S (its
// output, or its error) and iptables-save without its comment lines.
func iptablesView(t *testing.T, ns *netns.NS) (string, string) {
	t.Helper()
	s, serr, err := ktest.Exec(ns, "", "iptables", "-S")
	if err != nil {
		s = "error: " + serr
	}
	save := ktest.Run(t, ns, "", "iptables-save")
	var kept []string
	for _, l := range strings.Split(save, "\n") {
		if !strings.HasPrefix(l, "# Generated") && !strings.HasPrefix(l, "# Completed") {
			kept = append(kept, l)
		}
	}
	return s, strings.Join(kept, "\n")
}

// A table iptables-nft made — with an xt match (iptables -m conntrack), or
// with native rules only (iptables -j ACCEPT) — is refused, with a message
// that says why and how to go on, and iptables goes on working as before;
// with --force the rule is written, and iptables -S and -L then fail on the
// table and iptables-save leaves it out for a comment (exit 0), which is
// what the refusal says and protects from.
// A table named filter that ctmatch made is not refused.
func TestCLIIptablesTables(t *testing.T) {
	tools := []string{"nft", "iptables", "iptables-save"}
	for _, tc := range []struct {
		name  string
		setup [][]string
		chain string
		why   string
	}{
		{"xt match", [][]string{{"-A", "INPUT", "-m", "conntrack", "--ctstate", "NEW", "-j", "ACCEPT"}}, "INPUT", "(it has iptables' built-in chain INPUT)"},
		{"native rules only", [][]string{{"-A", "INPUT", "-j", "ACCEPT"}}, "INPUT", "(it has iptables' built-in chain INPUT)"},
		// iptables -N makes no built-in chain: only the xt match tells.
		{"xt match in a chain of its own", [][]string{{"-N", "MYCHAIN"}, {"-A", "MYCHAIN", "-m", "conntrack", "--ctstate", "NEW", "-j", "ACCEPT"}}, "MYCHAIN",
			"in chain MYCHAIN uses an xt match (iptables-nft's compatibility expression))"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ns := ktest.Namespace(t, tools...)
			bin := ctmatchCLI(t)
			for _, args := range tc.setup {
				ktest.Run(t, ns, "", "iptables", args...)
			}
			show0, save0 := iptablesView(t, ns)
			gen, listing := rulesetState(t, ns)

			r := runCLI(t, bin, ns, "", "add", "rule", "ip", "filter", tc.chain, "--", "-m", "conntrack", "--ctstate", "ESTABLISHED", "-j", "ACCEPT")
			head := "ctmatch: add rule ip filter " + tc.chain + " (-m conntrack --ctstate ESTABLISHED -j ACCEPT): table ip filter looks like iptables-nft's own ("
			tail := tc.why + "; after one native rule in it, iptables -S and -L fail and iptables-save leaves the table out (a comment in its place, exit status 0). Write into another table (ctmatch add rule ip fw input --create …), or use --force to write into it anyway\n"
			if r.code != 1 || !strings.HasPrefix(r.stderr, head) || !strings.HasSuffix(r.stderr, tail) {
				t.Errorf("exit %d\n got %q\nwant %q…%q", r.code, r.stderr, head, tail)
			}
			// --create changes nothing about it: the table exists.
			if r := runCLI(t, bin, ns, "", "insert", "rule", "ip", "filter", tc.chain, "--create", "--", "-m", "state", "--state", "NEW"); r.code != 1 || !strings.Contains(r.stderr, "looks like iptables-nft's own") {
				t.Errorf("with --create: exit %d: %s", r.code, r.stderr)
			}
			unchangedSince(t, ns, "the refusals", gen, listing)
			if show, save := iptablesView(t, ns); show != show0 || save != save0 {
				t.Errorf("iptables sees another ruleset after the refusals:\n%s\n%s\nbefore:\n%s\n%s", show, save, show0, save0)
			}
			if strings.HasPrefix(show0, "error") || !strings.Contains(save0, "-A "+tc.chain) {
				t.Fatalf("iptables did not work before: %s\n%s", show0, save0)
			}
			ktest.Run(t, ns, "", "iptables", "-A", tc.chain, "-j", "DROP")
			if show, _ := iptablesView(t, ns); !strings.Contains(show, "-A "+tc.chain+" -j DROP") {
				t.Errorf("iptables -A did not work after the refusal: %s", show)
			}

			// With --force the rule goes in, and iptables-nft is lost.
			out := mustCLI(t, bin, ns, "", "add", "rule", "ip", "filter", tc.chain, "--force", "--echo", "--", "-m", "conntrack", "--ctstate", "ESTABLISHED", "-j", "ACCEPT")
			if !strings.HasPrefix(out, "add rule ip filter "+tc.chain+" ct state established counter accept # handle ") {
				t.Errorf("--force --echo printed %q", out)
			}
			// What the refusal says: iptables -S and -L fail, iptables-save
			// leaves the table out, with a comment in its place, and exits 0.
			show, save := iptablesView(t, ns)
			_, lerr, err := ktest.Exec(ns, "", "iptables", "-L", "-n")
			saved, _, serr := ktest.Exec(ns, "", "iptables-save")
			if !strings.HasPrefix(show, "error") || err == nil || serr != nil || strings.Contains(save, "-A "+tc.chain) || !strings.Contains(saved, "# Table `filter' is incompatible") {
				t.Errorf("after a native rule, iptables -S gave %q, -L %v %q, iptables-save %v:\n%s\nthe refusal's reason is not true (any more)", show, err, lerr, serr, saved)
			}
		})
	}

	t.Run("ctmatch's table filter", func(t *testing.T) {
		ns := ktest.Namespace(t, tools...)
		bin := ctmatchCLI(t)
		out := mustCLI(t, bin, ns, "", "add", "rule", "ip", "filter", "INPUT", "--create", "--echo", "--", "-m", "conntrack", "--ctstate", "NEW", "-j", "ACCEPT")
		if !strings.HasPrefix(out, "add table ip filter\nadd chain ip filter INPUT { type filter hook input priority 0; policy accept; }\n") {
			t.Errorf("--create --echo printed %q", out)
		}
		mustCLI(t, bin, ns, "", "add", "rule", "ip", "filter", "INPUT", "--", "-m", "conntrack", "--ctstate", "INVALID", "-j", "DROP")
		out = mustCLI(t, bin, ns, "", "list", "table", "ip", "filter", "-o", "iptables")
		want := "# table ip filter\n# chain INPUT (type filter hook input priority 0; policy accept)\n" +
			"-A INPUT -m conntrack --ctstate NEW -j ACCEPT\n-A INPUT -m conntrack --ctstate INVALID -j DROP\n"
		if out != want {
			t.Errorf("list:\n%s\nwant:\n%s", out, want)
		}
	})
}
