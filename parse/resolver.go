package parse

import (
	"errors"
	"net/netip"
)

// Resolver looks up the names a rule may contain in place of numbers.
type Resolver interface {
	// Service returns the port of a service name such as "ssh".
	Service(name string) (port uint16, ok bool)
	// Host returns the addresses of a host name, of the given family. A
	// resolver that does not look up hosts returns ErrNoHostLookup.
	Host(name string, family Family) ([]netip.Addr, error)
}

// ErrNoHostLookup is what a Resolver returns for host names it will not look
// up.
var ErrNoHostLookup = errors.New("host names are not looked up")

// Builtin is the resolver used when none is given: the IANA service names
// built into ctmatch, and no host names.
var Builtin Resolver = builtin{}

type builtin struct{}

func (builtin) Service(name string) (uint16, bool) {
	p, ok := serviceNames.lookup(name)
	return p, ok
}

func (builtin) Host(string, Family) ([]netip.Addr, error) { return nil, ErrNoHostLookup }
