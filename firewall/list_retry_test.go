package firewall

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/internal/ktest"
	"github.com/ctmatch/ctmatch/kernel"
)

// vanishingConn is a fake kernel where tables and chains are deleted while
// List reads them: between the read of the tables and the read of a
// table's chains (or of a chain's rules), as another program deleting them
// would. The kernel then answers ENOENT.
type vanishingConn struct {
	*fakeConn
	tables      int // the reads of the tables
	chainsGone  int // how many more reads of chains find their table deleted
	rulesGone   int // how many more reads of rules find their chain deleted
	reappear    bool
	removedLast *removedTable
}

// removedTable is a table vanishingConn removed, to put back.
type removedTable struct {
	t      kernel.Table
	chains []*fakeChain
}

func (v *vanishingConn) Tables(ctx context.Context) ([]kernel.Table, error) {
	v.tables++
	if r := v.removedLast; v.reappear && r != nil {
		v.AddTable(r.t.Family, r.t.Name, r.t.UserData)
		for _, c := range r.chains {
			v.AddChain(r.t.Family, r.t.Name, c.c.Name, c.c.Base, c.c.UserData)
		}
	}
	return v.fakeConn.Tables(ctx)
}

func (v *vanishingConn) Chains(ctx context.Context, fam expr.Family, table string) ([]kernel.Chain, error) {
	if v.chainsGone > 0 {
		v.chainsGone--
		if t := v.table(fam, table); t != nil {
			v.removedLast = &removedTable{t.t, t.chains()}
			v.RemoveTable(fam, table)
		}
		return nil, &kernel.Error{Op: "list chains", Object: fam.String() + " " + table, Index: -1, Err: unix.ENOENT}
	}
	return v.fakeConn.Chains(ctx, fam, table)
}

func (v *vanishingConn) Rules(ctx context.Context, fam expr.Family, table, chain string) ([]kernel.Rule, error) {
	if v.rulesGone > 0 {
		v.rulesGone--
		v.RemoveChain(fam, table, chain)
		return nil, &kernel.Error{Op: "list rules", Object: fam.String() + " " + table + " " + chain, Index: -1, Err: unix.ENOENT}
	}
	return v.fakeConn.Rules(ctx, fam, table, chain)
}

// A listing that races the deletion of a table or a chain starts over and
// lists what is left, instead of failing; a ruleset that keeps changing
// under it makes it give up after listAttempts reads.
func TestListRetriesWhenTablesVanish(t *testing.T) {
	newConn := func() *vanishingConn {
		f := newFakeConn()
		f.addTable(expr.FamilyInet, "gone", nil).addChain("c", nil)
		kept := f.addTable(expr.FamilyInet, "kept", nil)
		kept.addChain("c1", nil)
		kept.addChain("c2", nil)
		return &vanishingConn{fakeConn: f}
	}
	names := func(l *Listing) (out []string) {
		if l == nil {
			return nil
		}
		for _, t := range l.Tables {
			for _, c := range t.Chains {
				out = append(out, t.Name+" "+c.Name)
			}
		}
		return out
	}

	v := newConn()
	v.chainsGone = 1
	l, err := newClient(v, nil).List(context.Background(), Scope{})
	if err != nil || len(names(l)) != 2 || names(l)[0] != "kept c1" || v.tables != 2 {
		t.Errorf("a table deleted while listed: List = %v, %v after %d reads; want kept's two chains after 2 reads", names(l), err, v.tables)
	}

	v = newConn()
	v.rulesGone = 1
	l, err = newClient(v, nil).List(context.Background(), Scope{})
	if err != nil || len(names(l)) != 2 || v.tables != 2 {
		t.Errorf("a chain deleted while listed: List = %v, %v after %d reads; want 2 chains left after 2 reads", names(l), err, v.tables)
	}

	v = newConn()
	v.chainsGone, v.reappear = 1000, true
	_, err = newClient(v, nil).List(context.Background(), Scope{})
	if err == nil || !errors.Is(err, unix.ENOENT) || v.tables != listAttempts {
		t.Errorf("a table deleted at every read: List = %v after %d reads; want ENOENT after %d", err, v.tables, listAttempts)
	}

	// Listing one table that is deleted while being listed: no such table.
	v = newConn()
	v.chainsGone = 1
	_, err = newClient(v, nil).List(context.Background(), Scope{Family: expr.FamilyInet, Table: "gone"})
	if !errors.Is(err, ErrNoTable) {
		t.Errorf("List(inet gone) while deleted = %v, want ErrNoTable", err)
	}
}

// The kernel side of the retry: reading the chains of a table, or the rules
// of a chain, that was deleted since answers ENOENT, which List takes for a
// vanished object; and List, run while nft adds and deletes a table in a
// loop (each line of nft -i is a transaction of its own), never fails.
func TestKernelListWhileTablesVanish(t *testing.T) {
	ns, c := kernelClient(t)
	ctx := context.Background()
	if _, err := c.c.Chains(ctx, expr.FamilyInet, "gone"); !errors.Is(vanishedError(err), errVanished) {
		t.Errorf("Chains(inet gone) = %v, want ENOENT", err)
	}
	ktest.Run(t, ns, "add table inet kept\nadd chain inet kept c\n", "nft", "-f", "-")
	if _, err := c.c.Rules(ctx, expr.FamilyInet, "kept", "gone"); !errors.Is(vanishedError(err), errVanished) {
		t.Errorf("Rules(inet kept gone) = %v, want ENOENT", err)
	}

	const rounds = 300
	script := strings.Repeat("add table inet t\nadd chain inet t c1\nadd chain inet t c2\ndelete table inet t\n", rounds)
	nft := ns.Command("nft", "-i")
	nft.Stdin = strings.NewReader(script)
	done := make(chan error, 1)
	go func() {
		out, err := nft.CombinedOutput()
		if err != nil {
			err = fmt.Errorf("%v: %s", err, out)
		}
		done <- err
	}()
	for lists := 0; ; lists++ {
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("nft -i: %v", err)
			}
			t.Logf("%d listings while nft added and deleted a table %d times", lists, rounds)
			return
		default:
		}
		l, err := c.List(ctx, Scope{})
		if err != nil {
			t.Fatalf("List while a table is deleted: %v", err)
		}
		if len(l.Tables) == 0 || l.Tables[0].Name != "kept" {
			t.Fatalf("List lost table kept: %+v", l.Tables)
		}
	}
}
