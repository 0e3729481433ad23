package firewall_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"

	"github.com/ctmatch/ctmatch"
	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/firewall"
	"github.com/ctmatch/ctmatch/kernel"
)

// A firewall manager keeps table inet fw as it wants it: Sync creates it,
// Apply adds a rule by hand, List shows it, Sync puts the table back as
// desired (one transaction, the diff shown) and then sends nothing, and
// the table is deleted. (No output: it is compiled, never run against the
// host; TestKernelManager runs manage in a namespace and checks what it
// prints.)
func Example_manager() {
	if err := manage(context.Background(), "/run/netns/fw", os.Stdout); err != nil {
		log.Fatal(err)
	}
}

// manage is the manager of Example_manager, in the network namespace netns
// (a path; "" for the caller's own), printing to out. docs/api.md shows it.
func manage(ctx context.Context, netns string, out io.Writer) error {
	c, err := firewall.Dial(ctx, firewall.DialOptions{NetNS: netns})
	if err != nil {
		return err
	}
	defer c.Close()

	const fam = expr.FamilyInet
	rule := func(words, comment string) (firewall.DesiredRule, error) {
		r, err := ctmatch.Translate(words, ctmatch.Options{Table: fam})
		return firewall.DesiredRule{Rule: r, Comment: comment}, err
	}
	// desired is the table the manager wants: a base chain of its own
	// (priority 10, policy drop) jumping to a regular chain with one rule
	// per open port.
	desired := func(ports ...string) (firewall.DesiredTable, error) {
		est, err := rule("-m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT", "replies")
		if err != nil {
			return firewall.DesiredTable{}, err
		}
		// A rule with a list of ports: its nft rule looks up an
		// anonymous set, sent with it in the same transaction.
		dns, err := rule("-p udp -m multiport --dports 53,123 -j ACCEPT", "dns and ntp")
		if err != nil {
			return firewall.DesiredTable{}, err
		}
		jump, err := rule("-m conntrack --ctstate NEW -j services", "")
		if err != nil {
			return firewall.DesiredTable{}, err
		}
		d := firewall.DesiredTable{Family: fam, Name: "fw", Chains: []firewall.DesiredChain{
			{Name: "input", Base: &kernel.BaseChain{Type: "filter", Hook: kernel.HookInput, Priority: 10, Policy: kernel.PolicyDrop},
				Rules: []firewall.DesiredRule{est, dns, jump}},
			{Name: "services"},
		}}
		// A named ct helper object, created with the table (a rule
		// would assign it to connections with ct helper set "ftp-std").
		d.Objects = []firewall.DesiredObject{{Name: "ftp-std", CtHelper: &kernel.CtHelper{Helper: "ftp", L4Proto: 6 /* tcp */}}}
		for _, port := range ports {
			r, err := rule("-m conntrack --ctstate NEW --ctproto tcp --ctorigdstport "+port+" -j ACCEPT", "port "+port)
			if err != nil {
				return firewall.DesiredTable{}, err
			}
			d.Chains[1].Rules = append(d.Chains[1].Rules, r)
		}
		return d, nil
	}
	sync := func(ports ...string) error {
		d, err := desired(ports...)
		if err != nil {
			return err
		}
		res, err := c.Sync(ctx, d, firewall.SyncOptions{})
		if err != nil {
			return err // e.g. firewall.ErrNotOwned, kernel.ErrConcurrentChange
		}
		if !res.Sent {
			fmt.Fprintln(out, "# nothing to change: nothing sent")
			return nil
		}
		fmt.Fprint(out, res.Diff)
		return nil
	}

	fmt.Fprintln(out, "# sync: ports 22 and 80")
	if err := sync("22", "80"); err != nil {
		return err
	}
	// Someone adds a rule by hand, with a comment.
	r, err := ctmatch.Translate("-m conntrack --ctstate NEW --ctproto tcp --ctorigdstport 8080 -j ACCEPT", ctmatch.Options{Table: fam})
	if err != nil {
		return err
	}
	if _, err := c.Apply(ctx, []firewall.Change{{Family: fam, Table: "fw", Chain: "services", Rule: r, Comment: "by hand"}}, firewall.ApplyOptions{}); err != nil {
		return err
	}
	fmt.Fprintln(out, "# list")
	l, err := c.List(ctx, firewall.Scope{Family: fam, Table: "fw"})
	if err != nil {
		return err
	}
	if err := l.Write(out, firewall.ListIptables, firewall.ListText{}); err != nil {
		return err
	}
	objs, err := c.Objects(ctx, fam, "fw")
	if err != nil {
		return err
	}
	for _, o := range objs {
		fmt.Fprintf(out, "# ct helper %s: %q, used by %d rules\n", o.Name, o.CtHelper.Helper, o.Use)
	}
	fmt.Fprintln(out, "# sync: ports 22 and 443")
	if err := sync("22", "443"); err != nil {
		return err
	}
	fmt.Fprintln(out, "# sync: the same again")
	if err := sync("22", "443"); err != nil {
		return err
	}
	fmt.Fprintln(out, "# delete")
	_, err = c.ChangeTables(ctx, []firewall.TableChange{{Op: firewall.DeleteTable, Family: fam, Table: "fw"}}, firewall.TableOptions{})
	return err
}
