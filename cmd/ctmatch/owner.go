package main

import (
	"os/user"
	"strconv"
)

// User looks a user name up in the system's user database, as iptables'
// owner match does with getpwnam: the owner match's --uid-owner NAME.
func (r *systemResolver) User(name string) (uint32, bool) {
	u, err := user.Lookup(name)
	if err != nil {
		return 0, false
	}
	return parseID(u.Uid)
}

// Group looks a group name up in the system's group database (getgrnam):
// --gid-owner NAME.
func (r *systemResolver) Group(name string) (uint32, bool) {
	g, err := user.LookupGroup(name)
	if err != nil {
		return 0, false
	}
	return parseID(g.Gid)
}

// parseID reads a numeric user or group id as os/user gives it.
func parseID(s string) (uint32, bool) {
	n, err := strconv.ParseUint(s, 10, 32)
	return uint32(n), err == nil && n < 1<<32-1
}
