package firewall

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"hash/fnv"

	"github.com/ctmatch/ctmatch/kernel"
)

// current brings the transaction to the ruleset's generation now, when
// that differs from the one the batch read at: it reads again what the
// batch read (its tables, their chains, the rules of the chains it placed
// rules in by their groups, and whether a table looks like iptables-nft's)
// and, when none of it changed, has the kernel check the transaction against
// the new generation (a change after that is refused by the kernel itself).
// So a change to other tables or chains while a long input was being read
// does not fail the batch; a change to what it is based on does, before
// anything is sent. The rules of a chain the batch only adds to at the end
// or inserts into at the top are not what it is based on (they go there
// whatever the chain holds, with group ids no other group has, see newID):
// they are not read, here either.
func (b *Batch) current(ctx context.Context) error {
	gen, err := b.c.c.Generation(ctx)
	if err != nil {
		return b.commitError(err, "")
	}
	if gen == b.gen {
		return nil
	}
	tables, err := b.c.c.Tables(ctx)
	if err != nil {
		return b.commitError(err, "")
	}
	for key, pt := range b.plan.planned {
		if err := b.unchanged(ctx, key, pt, tables); err != nil {
			return err
		}
	}
	b.tx.Rebase(gen)
	b.gen = gen
	return nil
}

// unchanged reads again what the batch read of table key (planned as pt):
// the table among tables, its chains and whether it looks like
// iptables-nft's, the rules of its chains the batch placed rules in by their
// groups; and returns the concurrent change it finds, or nil.
func (b *Batch) unchanged(ctx context.Context, key tableKey, pt *plannedTable, tables []kernel.Table) error {
	var now *kernel.Table
	for i := range tables {
		if tables[i].Family == key.family && tables[i].Name == key.name {
			now = &tables[i]
		}
	}
	name := "table " + object(key.family, key.name)
	if (now != nil) != pt.exists || now != nil && (now.Handle != pt.t.Handle || !bytes.Equal(now.UserData, pt.t.UserData)) {
		return b.changed(name)
	}
	if !pt.checked {
		return nil
	}
	chains, err := b.c.c.Chains(ctx, key.family, key.name)
	if err != nil {
		return b.commitError(err, "")
	}
	if !b.o.Force {
		if why, err := iptablesOwned(ctx, b.c.c, pt.t, chains); err != nil {
			return b.commitError(err, "")
		} else if why != "" {
			return b.changed(name + " (" + why + ")")
		}
	}
	if chainPrint(chains) != pt.chainFP {
		return b.changed("the chains of " + name)
	}
	for _, pc := range pt.chains {
		if !pc.read {
			continue
		}
		rules, err := b.c.c.Rules(ctx, key.family, key.name, pc.name)
		if err != nil {
			return b.commitError(err, "")
		}
		if rulePrint(rules) != pc.ruleFP {
			return b.changed("chain " + object(key.family, key.name, pc.name))
		}
	}
	return nil
}

// changed is the error for a concurrent change to what, which the batch
// read.
func (b *Batch) changed(what string) error {
	e := b.commitError(kernel.ErrConcurrentChange, fmt.Sprintf(
		"concurrent change: %s changed after generation %d, which the transaction is based on; nothing was changed", what, b.gen)).(*Error)
	e.Hint = retryHint
	return e
}

// retryHint is the advice after a concurrent change.
const retryHint = "read the ruleset again and retry"

// commitError is an error of the batch as a whole, named after its first
// change.
func (b *Batch) commitError(err error, reason string) error {
	e := b.added[0].error(-1, err)
	e.Reason = reason
	return e
}

// chainPrint and rulePrint are fingerprints of what the kernel listed: of
// the chains, their names, handles and hooks; of the rules, their handles and
// userdata (not their expressions, whose counters change with traffic).
func chainPrint(chains []kernel.Chain) uint64 {
	h := fnv.New64a()
	for _, c := range chains {
		fmt.Fprintf(h, "%s %d", c.Name, c.Handle)
		if c.Base != nil {
			fmt.Fprintf(h, " %+v", *c.Base)
		}
		h.Write([]byte{0})
	}
	return h.Sum64()
}

func rulePrint(rules []kernel.Rule) uint64 {
	h := fnv.New64a()
	for _, r := range rules {
		h.Write(binary.BigEndian.AppendUint64(nil, r.Handle))
		h.Write(binary.BigEndian.AppendUint32(nil, uint32(len(r.UserData))))
		h.Write(r.UserData)
	}
	return h.Sum64()
}
