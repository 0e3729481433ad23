// Package fakekernel is an in-memory nf_tables ruleset behind the interface
// a firewall.Client talks to the kernel through (firewall.Kernel), for unit
// tests of code built on the Client: no socket, no privilege, no network
// namespace. It is part of ctmatch's public API.
//
//	k := fakekernel.New()
//	c := firewall.NewClient(k, nil)
//	… // the code under test, given c
//	rules := k.ChainRules(expr.FamilyInet, "fw", "input")
//
// A Kernel holds tables, chains (base chains with their type, hook,
// priority, policy and device) and rules (handle, userdata and the
// expressions' netlink bytes, as the kernel lists them), and a generation
// that every commit moves. A transaction applies its changes in order, all
// or none, as the kernel does: it refuses a table or chain that exists
// (EEXIST), a missing one or a missing rule (ENOENT), and a transaction begun
// at a generation the ruleset has left (kernel.ErrConcurrentChange); it
// deletes a chain with its rules, as the kernel deletes one for kernel.Tx. Its refusals are *kernel.Error values that
// name the change, as the kernel's are. Anonymous sets (kernel.Tx's AddSet
// and AddElements, as a rule with a lookup sends them) are kept, named with
// the lowest free __setN, bound to the rule whose lookup names them (that
// lookup is then listed with the set's name and without its transaction
// id, as the kernel lists it) and deleted with the rule; Sets and
// SetElements list them. Named sets and objects are not kept.
//
// Tests set the starting ruleset up with AddTable, AddChain and AddRule
// (and take parts away with RemoveTable and RemoveChain), read it back as
// values (Tables, Table, Chain, ChainRules), count what the client
// asked for (Stats: commits, checks, rule listings), and inject faults: a
// refusal of one change with an errno (FailChange), and a change made by
// another process between a client's read and its commit (OnCommit, Touch).
//
// The fake checks what the client depends on, not the kernel's every rule:
// it neither validates expressions nor follows jumps (the kernel refuses,
// EBUSY, to delete a chain a jump names; the fake deletes it). What the kernel does
// with a rule is tested against the kernel (see firewall's kernel tests).
package fakekernel
