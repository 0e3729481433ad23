package e2e

import (
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/ctmatch/ctmatch/internal/ktest"
)

// translate -o json of iptables-save files (one family, both, and merged
// into inet tables): nft -j -f loads the document, and the kernel then
// holds what nft -f of translate's nft script makes it hold (tables,
// chains, hooks, priorities, policies and rules, as nft lists them).
func TestTranslateJSONLoads(t *testing.T) {
	bin := ctmatchCLI(t)
	dir := t.TempDir()
	v4, v6 := filepath.Join(dir, "rules.v4"), filepath.Join(dir, "rules.v6")
	writeTestFile(t, v4, mergeV4+"*nat\n:PREROUTING ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -m conntrack --ctstate DNAT -j ACCEPT\nCOMMIT\n*raw\n:PREROUTING ACCEPT [0:0]\n-I PREROUTING 1 -m conntrack --ctstate INVALID -j DROP\n-I PREROUTING 1 -m conntrack --ctstate NEW,DNAT --ctexpire 28:29 -j ACCEPT\n-I PREROUTING 2 -m conntrack --ctstate UNTRACKED -j ACCEPT\nCOMMIT\n")
	writeTestFile(t, v6, mergeV6)
	for _, args := range [][]string{
		{"-f", v4},
		{"--file6", v6},
		{"-f", v4, "--file6", v6},
		{"-f", v4, "--file6", v6, "--family", "inet"},
	} {
		text, err := exec.Command(bin, append([]string{"translate"}, args...)...).Output()
		if err != nil {
			t.Fatalf("translate %v: %v", args, err)
		}
		js, err := exec.Command(bin, append([]string{"translate", "-o", "json"}, args...)...).Output()
		if err != nil {
			t.Fatalf("translate -o json %v: %v", args, err)
		}
		a := ktest.Namespace(t, "nft")
		ktest.Run(t, a, string(text), "nft", "-f", "-")
		b := ktest.Namespace(t, "nft")
		ktest.Run(t, b, string(js), "nft", "-j", "-f", "-")
		want := ktest.Run(t, a, "", "nft", "--debug=netlink", "list", "ruleset")
		got := ktest.Run(t, b, "", "nft", "--debug=netlink", "list", "ruleset")
		if got != want {
			t.Errorf("translate %v: the kernel holds another ruleset after nft -j -f of the JSON than after nft -f of the script:\n--- script:\n%s\n--- JSON:\n%s", args, want, got)
		}
	}
}
