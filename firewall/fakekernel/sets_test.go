package fakekernel_test

import (
	"context"
	"errors"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/ctmatch/ctmatch"
	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/firewall/fakekernel"
	"github.com/ctmatch/ctmatch/kernel"
)

// A rule's anonymous sets are named as the kernel names them, its lookups
// listed with those names, their elements listed, and the sets deleted with
// the rule; elements for a set that is not there are refused (ENOENT).
func TestAnonymousSets(t *testing.T) {
	ctx := context.Background()
	k := fakekernel.New()
	k.AddTable(fam, "fw", nil)
	if err := k.AddChain(fam, "fw", "in", nil, nil); err != nil {
		t.Fatal(err)
	}
	r, err := ctmatch.Translate("-p tcp -m multiport --dports 22,80,8000:8100", ctmatch.Options{Table: fam})
	if err != nil {
		t.Fatal(err)
	}
	tx := k.BeginAt(0)
	for i := range 2 {
		b, sets, err := r.Rules[0].LowerSets(fam, uint32(i+1))
		if err != nil || len(sets) != 1 {
			t.Fatalf("%d sets, %v", len(sets), err)
		}
		s := sets[0]
		tx.AddSet(fam, "fw", kernel.SetSpec{Name: s.Name, ID: s.ID, Flags: s.Flags, KeyType: s.KeyType, KeyLen: s.KeyLen, Size: s.Size, UserData: s.UserData})
		tx.AddElements(fam, "fw", s.Name, s.ID, s.Elems)
		tx.AddRule(fam, "fw", "in", kernel.RuleSpec{Exprs: b})
	}
	if _, err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	rules := k.ChainRules(fam, "fw", "in")
	for i, want := range []string{"__set0", "__set1"} {
		refs, err := expr.LookupRefs(rules[i].Exprs)
		if err != nil || len(refs) != 1 || refs[0].Name != want || refs[0].ID != 0 {
			t.Errorf("rule %d looks up %+v (%v), want %s without an id", i, refs, err, want)
		}
		elems, err := k.SetElements(ctx, fam, "fw", want)
		if err != nil {
			t.Fatal(err)
		}
		if got := expr.Ranges(elems); len(got) != 3 {
			t.Errorf("set %s holds %x, want 3 ranges", want, got)
		}
	}
	tx = k.BeginAt(0)
	tx.DeleteRule(fam, "fw", "in", rules[0].Handle)
	if _, err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if sets, err := k.Sets(ctx, fam, "fw"); err != nil || len(sets) != 1 || sets[0].Name != "__set1" {
		t.Errorf("after deleting the first rule: sets %+v (%v), want __set1 alone", sets, err)
	}
	tx = k.BeginAt(0)
	tx.AddElements(fam, "fw", "nope", 0, []kernel.SetElem{{Key: []byte{0, 22}}})
	if _, err := tx.Commit(ctx); !errors.Is(err, unix.ENOENT) {
		t.Errorf("elements of a missing set: %v, want ENOENT", err)
	}
}
