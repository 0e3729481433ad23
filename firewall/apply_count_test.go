package firewall

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/ctmatch/ctmatch"
	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/kernel"
	"github.com/ctmatch/ctmatch/parse"
)

// An error about a whole Apply counts the other changes in iptables rules,
// what the caller wrote, not in the transaction's messages (a table, a
// chain, each nft rule of a rule): 3 rules of 2 nft rules each, after a
// table and a chain, are "3 more rules", not "7 more changes".
func TestExplainCountsRules(t *testing.T) {
	input := &plannedChain{family: expr.FamilyInet, table: "fw", name: "input"}
	b := &Batch{added: []added{{chain: input}, {chain: input}, {chain: input}}}
	b.msgs = []message{{change: -1, piece: 0}, {change: -2, piece: 0}}
	for i := range 3 {
		b.msgs = append(b.msgs, message{change: int32(i), piece: 0}, message{change: int32(i), piece: 1})
	}
	err := b.explain(&kernel.Error{Op: "add table", Object: "inet fw", Index: -1, More: 7, Reason: "concurrent change"})
	if want := "add table inet fw (and 3 more rules in the transaction): concurrent change"; err.Error() != want {
		t.Errorf("got %s\nwant %s", err, want)
	}
	b.added[0].pos, b.added[0].words = parse.Position{File: "rules", Line: 1}, "-j ACCEPT"
	err = b.explain(&kernel.Error{Op: "add rule", Object: "inet fw input", Index: 2, Failed: []int{2, 3, 4, 5, 6, 7}, Others: 5, Reason: "refused"})
	if want := "add rule inet fw input (rules:1: -j ACCEPT): refused (2 more rules failed too)"; err.Error() != want {
		t.Errorf("got %s\nwant %s", err, want)
	}
	var e *Error
	if !errors.As(err, &e) || e.Pos != (parse.Position{File: "rules", Line: 1}) || e.Index != 0 {
		t.Errorf("%#v: want an *Error about change 0, at rules:1", err)
	}
}

// The same against the kernel: every nft rule of 3 rules of 2 nft rules
// each refused (a test hook gives each an expression the kernel refuses)
// is 2 more rules that failed, not 5 more changes.
func TestKernelApplyErrorCountsRules(t *testing.T) {
	_, c := kernelClient(t)
	var changes []Change
	for i := 1; i <= 3; i++ {
		r, err := ctmatch.Translate("-m conntrack --ctstate NEW,DNAT -j ACCEPT", ctmatch.Options{Table: expr.FamilyInet})
		if err != nil {
			t.Fatal(err)
		}
		changes = append(changes, Change{Family: expr.FamilyInet, Table: "fw", Chain: "input", Rule: r, Pos: parse.Position{File: "rules", Line: i}})
	}
	testRuleHook = func(change, piece int, exprs []byte) []byte { return ctKey255() }
	defer func() { testRuleHook = nil }()
	_, err := c.Apply(context.Background(), changes, ApplyOptions{Create: true})
	if err == nil || !strings.Contains(err.Error(), "(rules:1: ") || !strings.Contains(err.Error(), "(2 more rules failed too)") {
		t.Errorf("Apply: %v\nwant it to name rules:1 and 2 more rules failed too", err)
	}
}
