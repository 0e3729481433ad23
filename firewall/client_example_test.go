package firewall_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"

	"github.com/ctmatch/ctmatch"
	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/firewall"
)

// Write two iptables rules into chain input of table inet fw, in the
// network namespace /run/netns/fw, creating what is missing, in one
// transaction; then list the chain as iptables rules. (No output: it is
// compiled, never run against the host; TestKernelApplyAtomic and the
// e2e/cli_*_test.go tests run the same in a namespace.)
func ExampleClient_Apply() {
	ctx := context.Background()
	c, err := firewall.Dial(ctx, firewall.DialOptions{NetNS: "/run/netns/fw"})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	var changes []firewall.Change
	for _, words := range []string{
		"-m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT",
		"-m conntrack --ctstate NEW,DNAT --ctorigdstport 22 -j ACCEPT", // two nft rules, one group
	} {
		r, err := ctmatch.Translate(words, ctmatch.Options{Table: expr.FamilyInet})
		if err != nil {
			log.Fatal(err)
		}
		changes = append(changes, firewall.Change{Family: expr.FamilyInet, Table: "fw", Chain: "input", Rule: r})
	}
	// Retry: when another process changes the ruleset between Apply's read
	// and its commit, Apply reads, plans and sends again, up to 3 times.
	res, err := c.Apply(ctx, changes, firewall.ApplyOptions{Create: true, Retry: 3})
	switch {
	case errors.Is(err, firewall.ErrConcurrentChange):
		log.Fatal("the ruleset kept changing: nothing was applied")
	case errors.Is(err, firewall.ErrIptablesTable):
		log.Fatal(err) // iptables-nft's table: use another one, or Force
	case err != nil:
		log.Fatal(err) // e.g. add rule inet fw input (…): get generation: operation not permitted (needs CAP_NET_ADMIN)
	}
	for _, w := range res.Warnings() {
		log.Printf("warning: %s (%s)", w.Reason, w.Hint) // e.g. a created table ip filter, which iptables-nft reads
	}
	for _, ch := range res.Changes {
		fmt.Println("group", ch.Group.ID, "handles", ch.Handles)
	}

	l, err := c.List(ctx, firewall.Scope{Family: expr.FamilyInet, Table: "fw", Chain: "input"})
	if err != nil {
		log.Fatal(err)
	}
	l.Write(os.Stdout, firewall.ListIptables, firewall.ListText{Handles: true})
	// # table inet fw
	// # chain input (type filter hook input priority 0; policy accept)
	// -A input -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT # handle 2 packets 0 bytes 0
	// -A input -m conntrack --ctstate NEW,DNAT --ctorigdstport 22 -j ACCEPT # handles 3,4 packets 0 bytes 0

	// Deleting any handle of a group deletes the group.
	if _, err := c.Delete(ctx, expr.FamilyInet, "fw", "input", 4, firewall.DeleteOptions{}); err != nil {
		log.Fatal(err)
	}
}

// Write a great many rules, read one at a time, in one transaction: each
// is translated, lowered (Prepare) and added to the batch as it comes, so
// that only the batch itself grows. (No output: it is compiled, never run
// against the host; TestKernelApplyPlacement and the apply tests in e2e
// run batches in a namespace.)
func ExampleClient_Batch() {
	ctx := context.Background()
	c, err := firewall.Dial(ctx, firewall.DialOptions{NetNS: "/run/netns/fw"})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	b := c.Batch(firewall.ApplyOptions{Create: true, NoHandles: true})
	for port := 1; port <= 50000; port++ {
		words := fmt.Sprintf("-m conntrack --ctstate NEW --ctproto tcp --ctorigdstport %d -j ACCEPT", port%65536)
		r, err := ctmatch.Translate(words, ctmatch.Options{Table: expr.FamilyInet})
		if err != nil {
			log.Fatal(err)
		}
		p, err := firewall.Prepare(r)
		if err != nil {
			log.Fatal(err)
		}
		// Nothing is sent yet: an error here (no such table without
		// Create, iptables-nft's table) leaves the kernel as it was.
		if err := b.Add(ctx, firewall.Change{Family: expr.FamilyInet, Table: "fw", Chain: "input", Prepared: p}); err != nil {
			log.Fatal(err)
		}
	}
	res, err := b.Commit(ctx) // one transaction: all 50,000 rules, or none
	if err != nil {
		log.Fatal(err) // a kernel error names the change: add rule inet fw input (-m conntrack … 700 -j ACCEPT): …
	}
	fmt.Println(len(res.Changes), "rules in generation", res.Generation)
}
