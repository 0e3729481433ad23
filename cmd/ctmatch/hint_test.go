package main

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/ctmatch/ctmatch/firewall"
	"github.com/ctmatch/ctmatch/kernel"
	"github.com/ctmatch/ctmatch/parse"
)

// The libraries state the facts; the command prints their advice on a line
// of its own after the error, and in JSON as "hint".
func TestErrorHintOnItsOwnLine(t *testing.T) {
	defer func(d func(context.Context, firewall.DialOptions) (*firewall.Client, error)) { dialClient = d }(dialClient)
	dialClient = func(context.Context, firewall.DialOptions) (*firewall.Client, error) {
		return nil, &kernel.Error{Op: "list tables", Index: -1, Reason: "the ruleset kept changing while it was being read", Hint: "try again"}
	}
	r := runCLI(t, []string{"list"}, "")
	want := "ctmatch: list tables: the ruleset kept changing while it was being read\n  try again\n"
	if r.code != exitUnsupported || r.stderr != want {
		t.Errorf("exit %d, stderr %q; want exit 1, %q", r.code, r.stderr, want)
	}

	err := &firewall.Error{Op: "add rule", Object: "inet fw input", Pos: parse.Position{File: "rules.txt", Line: 3}, Words: "-j ACCEPT", Index: 2,
		Err: firewall.ErrNoTable, Reason: "no such table inet fw", Hint: "create it with --create, or with nft add table inet fw"}
	for _, tc := range []struct {
		json bool
		want string
	}{
		{false, "ctmatch: add rule inet fw input (rules.txt:3: -j ACCEPT): no such table inet fw\n  create it with --create, or with nft add table inet fw\n"},
		{true, `{"file":"rules.txt","line":3,"word":"","message":"add rule inet fw input (rules.txt:3: -j ACCEPT): no such table inet fw","kind":"error","hint":"create it with --create, or with nft add table inet fw"}` + "\n"},
	} {
		var b strings.Builder
		rep := &reporter{w: &b, json: tc.json}
		got := kernelFailure(rep, err)
		if !tc.json {
			// Printed by run, as every system error is.
			var ee *exitError
			if !errors.As(got, &ee) || ee.printed {
				t.Fatalf("kernelFailure returned %v", got)
			}
			var out strings.Builder
			printExit(&out, ee)
			b.WriteString(out.String())
		}
		if b.String() != tc.want {
			t.Errorf("json %v: printed\n%q\nwant\n%q", tc.json, b.String(), tc.want)
		}
	}
}
