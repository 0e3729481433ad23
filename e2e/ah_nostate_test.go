package e2e

import (
	"net"
	"strings"
	"testing"

	"github.com/ctmatch/ctmatch/internal/ktest"
)

// ip6tables' -p ah never matches, and reads no conntrack state: ctmatch's
// rule for it must not turn conntrack (and IPv6 reassembly) on in its
// namespace. After a UDP datagram through lo, conntrack -C is 0 with the
// rule loaded; a rule that reads ct state (--ctstate NEW) makes it 1, so
// the test can fail.
func TestAHNeverMatchTracksNothing(t *testing.T) {
	bin := ctmatchCLI(t)
	count := func(words ...string) string {
		ns := ktest.Namespace(t, "conntrack")
		mustCLI(t, bin, ns, "", append([]string{"add", "rule", "ip6", "t", "INPUT", "--create", "-6", "--"}, words...)...)
		err := ns.Do(func() error {
			c, err := net.Dial("udp6", "[::1]:9")
			if err != nil {
				return err
			}
			defer c.Close()
			_, err = c.Write([]byte("probe"))
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(ktest.Run(t, ns, "", "conntrack", "-C"))
	}
	if got := count("-p", "ah", "-j", "DROP"); got != "0" {
		t.Errorf("-p ah -j DROP: conntrack -C = %s after a datagram, want 0 (the rule turned conntrack on)", got)
	}
	if got := count("-m", "conntrack", "--ctstate", "NEW", "-j", "ACCEPT"); got == "0" {
		t.Errorf("--ctstate NEW: conntrack -C = 0 after a datagram; the test cannot see conntrack turned on")
	}
}
