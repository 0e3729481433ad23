package fakekernel_test

import (
	"context"
	"errors"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/firewall/fakekernel"
	"github.com/ctmatch/ctmatch/kernel"
)

// The fake keeps the named objects of a table as the kernel lists them: a
// ct helper sent without l3proto takes the table's family, a handle, and
// the number of rules whose objref names it; a table's objects go with it.
func TestObjects(t *testing.T) {
	ctx := context.Background()
	k := fakekernel.New()
	k.AddTable(expr.FamilyIP, "t", nil)
	if err := k.AddObject(expr.FamilyIP, "t", helper("h")); err != nil {
		t.Fatal(err)
	}
	if err := k.AddObject(expr.FamilyIP, "t", helper("h")); err == nil {
		t.Error("AddObject of a name taken: no error")
	}
	gen, _ := k.Generation(ctx)
	tx := k.BeginAt(gen)
	tx.AddChain(expr.FamilyIP, "t", "c", nil, nil)
	tx.AddRule(expr.FamilyIP, "t", "c", kernel.RuleSpec{Exprs: objref("h")})
	tx.AddRule(expr.FamilyIP, "t", "c", kernel.RuleSpec{Exprs: objref("h")})
	tx.AddObject(expr.FamilyIP, "t", kernel.Object{Name: "six", CtHelper: &kernel.CtHelper{Helper: "sip", L4Proto: unix.IPPROTO_UDP, L3Proto: unix.NFPROTO_IPV6}})
	if _, err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	objs, err := k.Objects(ctx, expr.FamilyIP, "t")
	if err != nil || len(objs) != 2 {
		t.Fatalf("objects: %+v (%v), want 2", objs, err)
	}
	if o := objs[0]; o.Name != "h" || o.Use != 2 || o.Handle == 0 || o.Family != expr.FamilyIP || o.Table != "t" || *o.CtHelper != (kernel.CtHelper{Helper: "ftp", L4Proto: unix.IPPROTO_TCP, L3Proto: unix.NFPROTO_IPV4}) {
		t.Errorf("h listed as %+v %+v", o, *o.CtHelper)
	}
	if o := objs[1]; o.Name != "six" || o.Use != 0 || o.CtHelper.L3Proto != unix.NFPROTO_IPV6 {
		t.Errorf("six listed as %+v %+v", o, *o.CtHelper)
	}
	objs[0].CtHelper.Helper = "changed"
	if again, _ := k.Objects(ctx, expr.FamilyIP, "t"); again[0].CtHelper.Helper != "ftp" {
		t.Error("a listed object shares its ct helper with the fake")
	}
	k.RemoveTable(expr.FamilyIP, "t")
	if _, err := k.Objects(ctx, expr.FamilyIP, "t"); !errors.Is(err, unix.ENOENT) {
		t.Errorf("the objects of a missing table: %v, want ENOENT", err)
	}
}
