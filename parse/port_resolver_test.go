package parse

import (
	"net/netip"
	"testing"
)

// countingResolver counts the service names it is asked for.
type countingResolver struct{ asked []string }

func (r *countingResolver) Service(name string) (uint16, bool) {
	r.asked = append(r.asked, name)
	return Builtin.Service(name)
}

func (r *countingResolver) Host(string, Family) ([]netip.Addr, error) { return nil, ErrNoHostLookup }

// A port written as a number is read as one without asking the resolver (the
// CLI's resolver reads /etc/services on its first question), as
// xtables_parse_port tries a number first; a name still reaches it.
func TestPortNumberAsksNoResolver(t *testing.T) {
	r := &countingResolver{}
	for _, words := range [][]string{
		{"-p", "tcp", "--dport", "22"},
		{"-p", "udp", "--sport", "0x16:1000"},
		{"-p", "tcp", "--dport", "022"},
	} {
		if _, err := ParseArgs(words, Options{Resolver: r}); err != nil {
			t.Fatalf("%q: %v", words, err)
		}
	}
	if len(r.asked) != 0 {
		t.Errorf("numeric ports asked the resolver for %q", r.asked)
	}
	if _, err := ParseArgs([]string{"-p", "tcp", "--dport", "ssh"}, Options{Resolver: r}); err != nil {
		t.Fatal(err)
	}
	if len(r.asked) != 1 || r.asked[0] != "ssh" {
		t.Errorf("a service name asked the resolver for %q, want [ssh]", r.asked)
	}
}
