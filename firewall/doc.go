// Package firewall is ctmatch's kernel client, part of its public API: it
// writes rules translated by the module root (ctmatch.Translate) into
// nf_tables chains, deletes them and lists them back as iptables rules,
// over ctmatch's own netlink connection (package kernel).
//
//	c, err := firewall.Dial(ctx, firewall.DialOptions{})
//	…
//	r, err := ctmatch.Translate("-m conntrack --ctstate NEW -j ACCEPT", ctmatch.Options{Table: expr.FamilyInet})
//	…
//	_, err = c.Apply(ctx, []firewall.Change{{Family: expr.FamilyInet, Table: "fw", Chain: "input", Rule: r}}, firewall.ApplyOptions{})
//
// Every write is one transaction, checked by the kernel against the
// generation of the ruleset read to plan it. The pieces of one iptables rule
// are kept together as a group (expr.Group, in each rule's userdata).
//
// Errors state facts: an *Error for what the client refuses before sending
// anything (test its kind with errors.Is and the Err… values), a
// *kernel.Error for what the kernel refuses, inside an *Error that carries
// the change's position (Change.Pos) when the kernel named one change. What
// a person could do about it is in the error's Hint, which the ctmatch
// command prints on a line of its own.
package firewall
