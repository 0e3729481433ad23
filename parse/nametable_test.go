package parse

import (
	"strings"
	"testing"
)

// The name tables are looked up by binary search: each must be sorted,
// without a name twice, and find every name it holds.
func TestNameTablesSorted(t *testing.T) {
	checkNameTable(t, "protocolNames", protocolNames)
	checkNameTable(t, "serviceNames", serviceNames)
	for _, c := range []struct {
		name string
		want uint8
	}{{"tcp", 6}, {"TCP", 6}, {"udp", 17}, {"ipv6-icmp", 58}, {"AX.25", 93}, {"all", 0}} {
		got, ok := protocolNames.lookup(c.name)
		if c.name == "all" {
			// libxtables' own name, which the parser takes apart.
			if ok {
				t.Errorf("protocolNames.lookup(%q) = %d, want none", c.name, got)
			}
			continue
		}
		if !ok || got != c.want {
			t.Errorf("protocolNames.lookup(%q) = %d, %v, want %d", c.name, got, ok, c.want)
		}
	}
	if got, ok := serviceNames.lookup("ssh"); !ok || got != 22 {
		t.Errorf("serviceNames.lookup(ssh) = %d, %v, want 22", got, ok)
	}
	if _, ok := serviceNames.lookup("no-such-service"); ok {
		t.Error("serviceNames.lookup(no-such-service) found it")
	}
}

func checkNameTable[T comparable](t *testing.T, what string, tab nameTable[T]) {
	t.Helper()
	for i, e := range tab {
		if i > 0 && strings.Compare(tab[i-1].name, e.name) >= 0 {
			t.Errorf("%s: %q after %q: not sorted, or twice", what, e.name, tab[i-1].name)
		}
		if v, ok := tab.lookup(e.name); !ok || v != e.val {
			t.Errorf("%s.lookup(%q) = %v, %v, want %v", what, e.name, v, ok, e.val)
		}
	}
}
