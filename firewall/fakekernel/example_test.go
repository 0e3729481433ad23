package fakekernel_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/ctmatch/ctmatch"
	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/firewall"
	"github.com/ctmatch/ctmatch/firewall/fakekernel"
	"golang.org/x/sys/unix"
)

// allowEstablished is code under test: it writes one rule into table inet
// fw, creating what is missing, through the Client it is given.
func allowEstablished(ctx context.Context, c *firewall.Client) error {
	r, err := ctmatch.Translate("-m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT", ctmatch.Options{Table: expr.FamilyInet})
	if err != nil {
		return err
	}
	_, err = c.Apply(ctx, []firewall.Change{{Family: expr.FamilyInet, Table: "fw", Chain: "input", Rule: r}}, firewall.ApplyOptions{Create: true})
	return err
}

// Test code built on a firewall.Client without a kernel: give it a Client
// on an in-memory ruleset, then look at what it left there and at what it
// asked for; and see how it takes a refusal by the kernel.
func Example() {
	ctx := context.Background()
	k := fakekernel.New()
	c := firewall.NewClient(k, nil)

	if err := allowEstablished(ctx, c); err != nil {
		log.Fatal(err)
	}
	ch, _ := k.Chain(expr.FamilyInet, "fw", "input")
	fmt.Printf("chain %s: hook %v, policy %v, %d rule(s)\n", ch.Name, ch.Base.Hook, ch.Base.Policy, len(k.ChainRules(expr.FamilyInet, "fw", "input")))
	fmt.Printf("%+v\n", k.Stats())

	// The kernel refuses the next transaction's first change (the rule: the
	// table and the chain exist now), with an error as the kernel's.
	k.FailChange(0, unix.ENOMEM)
	err := allowEstablished(ctx, c)
	fmt.Println(err)
	fmt.Println(errors.Is(err, unix.ENOMEM), len(k.ChainRules(expr.FamilyInet, "fw", "input")))
	// Output:
	// chain input: hook input, policy accept, 1 rule(s)
	// {Commits:1 Checks:0 RuleListings:0}
	// add rule inet fw input (-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT): cannot allocate memory
	// true 1
}
