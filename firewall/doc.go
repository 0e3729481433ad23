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
// ChangeTables creates, flushes and deletes tables and chains (base chains
// of any type, hook, priority and policy; empty regular chains), and Sync
// makes a whole table hold a desired state (DesiredTable), sending nothing
// when it already does; both change only tables that carry ctmatch's
// ownership record unless forced (ErrNotOwned). docs/api.md shows a
// firewall manager built on them.
//
// Every write is one transaction, checked by the kernel against the
// generation of the ruleset read to plan it. The pieces of one iptables rule
// are kept together as a group (expr.Group, in each rule's userdata).
//
// A Client is safe for concurrent use: it runs one operation at a time,
// each whole (Apply, Delete and List from their first read to their last
// step; a Batch during each of its calls), so the operations of one Client
// never conflict with each other. A change by another process between an
// Apply's read and its commit makes the kernel refuse the transaction
// (ErrConcurrentChange); ApplyOptions.Retry has Apply read, plan and
// send again, a bounded number of times.
//
// A Client talks to the kernel through the Kernel interface: Dial's is
// ctmatch's netlink connection; NewClient puts a Client on another, such as
// package fakekernel's in-memory ruleset, for unit tests of code built on
// the Client.
//
// Errors state facts: an *Error for what the client refuses before sending
// anything (test its kind with errors.Is and the Err… values: every
// operation wraps the same value for the same fact, ErrNoChain for a
// missing chain whether Apply, Delete or List met it), a
// *kernel.Error for what the kernel refuses, inside an *Error that carries
// the change's position (Change.Pos) when the kernel named one change. What
// a person could do about it is in the error's Hint, which the ctmatch
// command prints on a line of its own.
package firewall
