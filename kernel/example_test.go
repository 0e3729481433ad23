package kernel_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/kernel"
)

// Load a table, a base chain and a rule in one transaction, in the network
// namespace /run/netns/fw. (No output: it is compiled, never run against
// the host; rules_kernel_test.go runs the same in a namespace.)
func Example() {
	ctx := context.Background()
	c, err := kernel.Dial(ctx, kernel.Options{NetNS: "/run/netns/fw"})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	exprs, err := expr.Rule{
		Matches: []expr.Match{expr.Ct{Key: expr.CtState, Op: expr.OpAny, Mask: uint32(expr.StateEstablished | expr.StateRelated)}},
		Counter: true,
		Verdict: expr.Verdict{Kind: expr.VerdictAccept},
	}.Lower(expr.FamilyInet)
	if err != nil {
		log.Fatal(err)
	}

	tx, err := c.Begin(ctx) // reads the generation: a concurrent change makes Commit fail
	if err != nil {
		log.Fatal(err)
	}
	tx.AddTable(expr.FamilyInet, "ctmatch", nil)
	tx.AddChain(expr.FamilyInet, "ctmatch", "input", &kernel.BaseChain{Type: "filter", Hook: kernel.HookInput}, nil)
	tx.AddRule(expr.FamilyInet, "ctmatch", "input", kernel.RuleSpec{
		Exprs:  exprs,
		Source: "-m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT",
	})
	res, err := tx.Commit(ctx)
	switch {
	case errors.Is(err, kernel.ErrConcurrentChange):
		log.Fatal("the ruleset changed meanwhile: read it again and retry")
	case err != nil:
		log.Fatal(err) // e.g. add rule inet ctmatch input (…): operation not permitted (needs CAP_NET_ADMIN)
	}
	fmt.Println("rule handle", res.Handles[0])

	rules, err := c.Rules(ctx, expr.FamilyInet, "ctmatch", "input")
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range rules {
		ir, err := expr.Raise(expr.FamilyInet, r.Exprs)
		fmt.Println(r.Handle, ir, r.Counter, err)
	}
}
