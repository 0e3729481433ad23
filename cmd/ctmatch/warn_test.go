package main

import (
	"strings"
	"testing"

	"github.com/ctmatch/ctmatch/firewall"
)

// Warnings print as text, with the hint on a line of its own, or as JSON
// objects of kind "warning"; neither changes the exit code.
func TestReporterWarn(t *testing.T) {
	ws := []firewall.Warning{{Object: "ip filter", Reason: "table ip filter is named like an iptables table", Hint: "write into another table"}}
	for _, tc := range []struct {
		json bool
		want string
	}{
		{false, "ctmatch: warning: table ip filter is named like an iptables table\n  write into another table\n"},
		{true, `{"word":"","message":"table ip filter is named like an iptables table","kind":"warning","object":"ip filter","hint":"write into another table"}` + "\n"},
	} {
		var b strings.Builder
		rep := &reporter{w: &b, json: tc.json}
		rep.warn(ws)
		if b.String() != tc.want || rep.err() != nil {
			t.Errorf("json %v: printed %q (exit error %v), want %q", tc.json, b.String(), rep.err(), tc.want)
		}
	}
}
