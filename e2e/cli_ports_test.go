package e2e

import (
	"strings"
	"testing"

	"github.com/ctmatch/ctmatch/internal/ktest"
)

// Rules with protocol and port matches that nft wrote itself (no ctmatch
// group record, and nft's own spellings: th, a merged sport and dport, a
// reordered pair) are read back from the kernel's dump and listed as the
// iptables words that compile to exactly them, and a port match without
// the fragment test is not; ctmatch's own add rule of those words lists the
// same.
func TestCLIListPortsFromNft(t *testing.T) {
	ns := ktest.Namespace(t, "nft")
	bin := ctmatchCLI(t)
	ktest.Run(t, ns, `add table ip t
add chain ip t c
add rule ip t c ip frag-off & 0x1fff == 0 tcp dport 22 ct state new counter accept
add rule ip t c ip frag-off & 8191 == 0 meta l4proto 17 th sport != 1-1023 counter drop
add rule ip t c ip frag-off & 0x1fff == 0 tcp dport 4 tcp sport 1 counter
add rule ip t c meta l4proto != tcp counter
add rule ip t c ip frag-off & 0x1fff == 0 tcp dport 0-65535 counter
add rule ip t c tcp dport 22 counter
`, "nft", "-f", "-")
	want := []string{
		"-A c -p tcp -m tcp --dport 22 -m conntrack --ctstate NEW -j ACCEPT",
		"-A c -p udp -m udp ! --sport 1:1023 -j DROP",
		"-A c -p tcp -m tcp --sport 1 --dport 4",
		"-A c ! -p tcp",
		"-A c -p tcp -m tcp",
	}
	out := mustCLI(t, bin, ns, "", "list", "chain", "ip", "t", "c", "-o", "iptables")
	var got []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "-A ") {
			got = append(got, l)
		}
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("list -o iptables of nft's rules:\n%s\nwant:\n%s", out, strings.Join(want, "\n"))
	}
	// "tcp dport 22" alone also reads the first bytes of a fragment other
	// than the first as a port, which -p tcp --dport 22 never matches: it is
	// not listed as those words.
	if !strings.Contains(out, "# not decompiled: handle 7") {
		t.Errorf("list -o iptables of nft's rules:\n%s\nwant handle 7 (tcp dport 22 without the fragment test) not decompiled", out)
	}

	ktest.Run(t, ns, "add chain ip t d\n", "nft", "-f", "-")
	for _, w := range want {
		mustCLI(t, bin, ns, "", "add", "rule", "ip", "t", "d", "--", strings.TrimPrefix(w, "-A c "))
	}
	out = mustCLI(t, bin, ns, "", "list", "chain", "ip", "t", "d", "-o", "iptables")
	if !strings.Contains(out, strings.ReplaceAll(strings.Join(want, "\n"), "-A c ", "-A d ")) {
		t.Errorf("list -o iptables after add rule:\n%s", out)
	}
}
