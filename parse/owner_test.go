package parse_test

import (
	"net/netip"
	"testing"

	"github.com/ctmatch/ctmatch/parse"
)

// users is a resolver with a user and group database.
type users struct{}

func (users) Service(string) (uint16, bool)                   { return 0, false }
func (users) Host(string, parse.Family) ([]netip.Addr, error) { return nil, parse.ErrNoHostLookup }
func (users) User(name string) (uint32, bool) {
	return map[string]uint32{"alice": 1000, "7": 12}[name], name == "alice" || name == "7"
}
func (users) Group(name string) (uint32, bool) {
	return map[string]uint32{"vpn": 15000}[name], name == "vpn"
}

// A resolver with users gives names their ids, and a name first (as
// getpwnam comes first in iptables): the user "7" is 12. An unknown name is
// invalid then, and unsupported without such a resolver.
func TestOwnerNames(t *testing.T) {
	for _, tc := range []struct {
		words string
		res   parse.Resolver
		want  string
		bad   bool // an error of kind kind
		kind  parse.ErrorKind
	}{
		{"-A OUTPUT -m owner --uid-owner alice --gid-owner vpn", users{}, "-A OUTPUT -m owner --uid-owner 1000 --gid-owner 15000", false, 0},
		{"-A OUTPUT -m owner --uid-owner 7", users{}, "-A OUTPUT -m owner --uid-owner 12", false, 0},
		{"-A OUTPUT -m owner --uid-owner 7", nil, "-A OUTPUT -m owner --uid-owner 7", false, 0},
		{"-A OUTPUT -m owner --uid-owner bob", users{}, "", true, parse.Invalid},
		{"-A OUTPUT -m owner --gid-owner vpn", nil, "", true, parse.Unsupported},
	} {
		r, err := parse.ParseText(tc.words, parse.Options{Resolver: tc.res})
		if tc.bad {
			e, ok := err.(*parse.Error)
			if !ok || e.Kind != tc.kind {
				t.Errorf("%s: %v, want an error of kind %d", tc.words, err, tc.kind)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.words, err)
			continue
		}
		if got := r.String(); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.words, got, tc.want)
		}
	}
}
