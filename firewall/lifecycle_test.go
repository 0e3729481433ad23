package firewall

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/kernel"
)

// ChangeTables sends its changes as one transaction: a table with
// ctmatch's record, a base chain of any kind, an empty regular chain; then
// flushes and deletes them, again in one transaction each.
func TestChangeTablesFake(t *testing.T) {
	ctx := context.Background()
	f := newFakeConn()
	c := f.client()
	const fam = expr.FamilyInet
	base := &kernel.BaseChain{Type: "filter", Hook: kernel.HookForward, Priority: -5, Policy: kernel.PolicyDrop}
	create := []TableChange{
		{Op: CreateTable, Family: fam, Table: "fw", Comment: "managed"},
		{Op: CreateChain, Family: fam, Table: "fw", Chain: "fwd", Base: base},
		{Op: CreateChain, Family: fam, Table: "fw", Chain: "empty"},
	}
	var got []string
	for _, tc := range create {
		got = append(got, tc.String())
	}
	want := []string{"add table inet fw", "add chain inet fw \"fwd\" { type filter hook forward priority -5; policy drop; }", "add chain inet fw empty"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("String (-want +got):\n%s", diff)
	}
	if _, err := c.ChangeTables(ctx, create, TableOptions{}); err != nil {
		t.Fatal(err)
	}
	tb := f.table(fam, "fw")
	if f.commits() != 1 || tb == nil || !expr.OwnedTable(tb.t.UserData) || len(tb.chains()) != 2 {
		t.Fatalf("after %d commits: %+v", f.commits(), tb)
	}
	if diff := cmp.Diff(base, tb.chain("fwd").c.Base); diff != "" {
		t.Errorf("fwd (-want +got):\n%s", diff)
	}
	r := translate(t, fam, "-m conntrack --ctstate NEW -j ACCEPT")
	if _, err := c.Apply(ctx, []Change{{Family: fam, Table: "fw", Chain: "fwd", Rule: r}}, ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	// A chain with rules is deleted after a flush in the same transaction.
	del := []TableChange{
		{Op: FlushChain, Family: fam, Table: "fw", Chain: "fwd"},
		{Op: DeleteChain, Family: fam, Table: "fw", Chain: "fwd"},
		{Op: FlushTable, Family: fam, Table: "fw"},
	}
	if _, err := c.ChangeTables(ctx, del, TableOptions{}); err != nil {
		t.Fatal(err)
	}
	if tb := f.table(fam, "fw"); f.commits() != 3 || tb.chain("fwd") != nil || tb.chain("empty") == nil {
		t.Fatalf("after the deletion: %d commits, %+v", f.commits(), tb)
	}
	if _, err := c.ChangeTables(ctx, []TableChange{{Op: DeleteTable, Family: fam, Table: "fw"}}, TableOptions{}); err != nil {
		t.Fatal(err)
	}
	if f.table(fam, "fw") != nil || f.commits() != 4 {
		t.Errorf("the table is still there after %d commits", f.commits())
	}
}

// ChangeTables refuses, before sending anything, to flush or delete a table
// (or a chain in it) without ctmatch's record unless forced, and names a
// missing table or chain with ErrNoTable or ErrNoChain.
func TestChangeTablesRefusals(t *testing.T) {
	ctx := context.Background()
	f := newFakeConn()
	c := f.client()
	f.addTable(expr.FamilyIP, "filter", nil).addChain("INPUT", &kernel.BaseChain{Type: "filter", Hook: kernel.HookInput})
	ud, _ := expr.TableUserData("")
	f.addTable(expr.FamilyIP, "mine", ud)
	for _, tc := range []struct {
		ch   TableChange
		want error
	}{
		{TableChange{Op: DeleteTable, Family: expr.FamilyIP, Table: "filter"}, ErrNotOwned},
		{TableChange{Op: FlushTable, Family: expr.FamilyIP, Table: "filter"}, ErrNotOwned},
		{TableChange{Op: FlushChain, Family: expr.FamilyIP, Table: "filter", Chain: "INPUT"}, ErrNotOwned},
		{TableChange{Op: CreateChain, Family: expr.FamilyIP, Table: "filter", Chain: "mine"}, ErrNotOwned},
		{TableChange{Op: DeleteTable, Family: expr.FamilyIP, Table: "nothere"}, ErrNoTable},
		{TableChange{Op: DeleteChain, Family: expr.FamilyIP, Table: "mine", Chain: "nothere"}, ErrNoChain},
		{TableChange{Op: CreateTable, Family: expr.FamilyIP, Table: "mine"}, ErrTableExists},
		{TableChange{Op: DeleteTable, Family: expr.Family(5), Table: "mine"}, ErrInvalidChange},
		{TableChange{Op: FlushChain, Family: expr.FamilyIP, Table: "mine"}, ErrInvalidChange},
	} {
		_, err := c.ChangeTables(ctx, []TableChange{tc.ch}, TableOptions{})
		if !errors.Is(err, tc.want) {
			t.Errorf("%v: %v, want %v", tc.ch, err, tc.want)
		}
	}
	if f.commits()+f.checks() != 0 {
		t.Fatalf("refusals sent %d transactions", f.commits()+f.checks())
	}
	if _, err := c.ChangeTables(ctx, []TableChange{{Op: DeleteTable, Family: expr.FamilyIP, Table: "filter"}}, TableOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	if f.table(expr.FamilyIP, "filter") != nil {
		t.Error("a forced delete left the table")
	}
}

// A change's Comment is nft's comment on each of its nft rules, next to the
// group record, and List reads it back.
func TestApplyComment(t *testing.T) {
	ctx := context.Background()
	f := newFakeConn()
	c := f.client()
	r := translate(t, expr.FamilyInet, "-m conntrack --ctstate NEW,DNAT -j ACCEPT")
	if _, err := c.Apply(ctx, []Change{{Family: expr.FamilyInet, Table: "fw", Chain: "input", Rule: r, Comment: "new flows"}}, ApplyOptions{Create: true}); err != nil {
		t.Fatal(err)
	}
	rules := f.table(expr.FamilyInet, "fw").chain("input").rules
	if len(rules) < 2 {
		t.Fatalf("%d nft rules, want the pieces of one group", len(rules))
	}
	for _, kr := range rules {
		comment, g, err := expr.ParseUserData(kr.UserData)
		if err != nil || comment != "new flows" || g.Words != "-m conntrack --ctstate NEW,DNAT -j ACCEPT" {
			t.Errorf("handle %d: comment %q, group %+v, %v", kr.Handle, comment, g, err)
		}
	}
	l, err := c.List(ctx, Scope{Family: expr.FamilyInet, Table: "fw"})
	if err != nil {
		t.Fatal(err)
	}
	if g := l.Tables[0].Chains[0].Groups; len(g) != 1 || g[0].Pieces[0].Comment != "new flows" {
		t.Errorf("listed: %+v", g)
	}
	long := string(make([]byte, 255))
	_, err = c.Apply(ctx, []Change{{Family: expr.FamilyInet, Table: "fw", Chain: "input", Rule: r, Comment: long}}, ApplyOptions{})
	if !errors.Is(err, ErrInvalidChange) {
		t.Errorf("a comment of 255 bytes: %v, want ErrInvalidChange", err)
	}
}
