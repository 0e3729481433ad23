package e2e

import (
	"net"
	"regexp"
	"strconv"
	"testing"

	"github.com/ctmatch/ctmatch/internal/ktest"
	"github.com/ctmatch/ctmatch/internal/netns"
)

// dialUDP sends one datagram of payload from inside ns to port on its
// loopback address (::1 with ipv6, 127.0.0.1 otherwise), as the effect
// tests' probes do: nothing listens, the datagram makes the conntrack entry
// and the rules' effects that the tests then read.
func dialUDP(t *testing.T, ns *netns.NS, ipv6 bool, port int, payload string) {
	t.Helper()
	network, addr := "udp4", "127.0.0.1"
	if ipv6 {
		network, addr = "udp6", "::1"
	}
	if err := ns.Do(func() error {
		conn, err := net.Dial(network, net.JoinHostPort(addr, strconv.Itoa(port)))
		if err != nil {
			return err
		}
		defer conn.Close()
		_, err = conn.Write([]byte(payload))
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

// conntrackUDP returns what conntrack -L lists in ns of the UDP
// connections to port of the family (-f ipv6 with ipv6).
func conntrackUDP(t *testing.T, ns *netns.NS, ipv6 bool, port int) string {
	t.Helper()
	args := []string{"-L", "-p", "udp", "--dport", strconv.Itoa(port)}
	if ipv6 {
		args = append(args, "-f", "ipv6")
	}
	return ktest.Run(t, ns, "", "conntrack", args...)
}

var conntrackMarkField = regexp.MustCompile(`mark=(\d+)`)

// conntrackMark returns the mark of the UDP connection to port in ns
// (conntrackUDP), and false when conntrack -L lists none.
func conntrackMark(t *testing.T, ns *netns.NS, ipv6 bool, port int) (uint32, bool) {
	t.Helper()
	m := conntrackMarkField.FindStringSubmatch(conntrackUDP(t, ns, ipv6, port))
	if m == nil {
		return 0, false
	}
	n, _ := strconv.ParseUint(m[1], 10, 32)
	return uint32(n), true
}
