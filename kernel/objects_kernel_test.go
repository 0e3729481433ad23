package kernel_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/internal/kerneltest"
	"github.com/ctmatch/ctmatch/internal/ktest"
	"github.com/ctmatch/ctmatch/kernel"
)

// ct helper objects are sent as nft sends them (no l3proto in an ip table,
// the one given in an inet table), nft lists the same ruleset, and kernel/
// lists them back, with the l3proto the kernel took.
func TestKernelCtHelpersMatchNft(t *testing.T) {
	script := `add ct helper ip t ftp-standard { type "ftp" protocol tcp; }
add ct helper inet i sip6 { type "sip" protocol udp; l3proto ip6; }
add ct helper inet i ftp { type "ftp" protocol tcp; }
`
	c, _ := sameAsNft(t, "add table ip t\nadd table inet i\n", script, func(tx *kernel.Tx) {
		tx.AddObject(expr.FamilyIP, "t", kernel.Object{Name: "ftp-standard", CtHelper: &kernel.CtHelper{Helper: "ftp", L4Proto: unix.IPPROTO_TCP}})
		tx.AddObject(expr.FamilyInet, "i", kernel.Object{Name: "sip6", CtHelper: &kernel.CtHelper{Helper: "sip", L4Proto: unix.IPPROTO_UDP, L3Proto: unix.NFPROTO_IPV6}})
		tx.AddObject(expr.FamilyInet, "i", kernel.Object{Name: "ftp", CtHelper: &kernel.CtHelper{Helper: "ftp", L4Proto: unix.IPPROTO_TCP}})
	})
	ctx := context.Background()
	for _, tc := range []struct {
		f     expr.Family
		table string
		want  map[string]kernel.CtHelper
	}{
		{expr.FamilyIP, "t", map[string]kernel.CtHelper{"ftp-standard": {Helper: "ftp", L4Proto: unix.IPPROTO_TCP, L3Proto: unix.NFPROTO_IPV4}}},
		// (In an inet table the kernel takes the table's family, NFPROTO_INET,
		// when none is given.)
		{expr.FamilyInet, "i", map[string]kernel.CtHelper{
			"sip6": {Helper: "sip", L4Proto: unix.IPPROTO_UDP, L3Proto: unix.NFPROTO_IPV6},
			"ftp":  {Helper: "ftp", L4Proto: unix.IPPROTO_TCP, L3Proto: unix.NFPROTO_INET},
		}},
	} {
		objs, err := c.Objects(ctx, tc.f, tc.table)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]kernel.CtHelper{}
		for _, o := range objs {
			if o.Table != tc.table || o.Family != tc.f || o.Handle == 0 {
				t.Errorf("object %+v: want table %s %s and a handle", o, tc.f, tc.table)
			}
			got[o.Name] = *o.CtHelper
		}
		if len(got) != len(tc.want) {
			t.Errorf("%s %s: ct helpers %+v, want %+v", tc.f, tc.table, got, tc.want)
		}
		for name, w := range tc.want {
			if got[name] != w {
				t.Errorf("%s %s: ct helper %s listed as %+v, want %+v", tc.f, tc.table, name, got[name], w)
			}
		}
	}
}

// A ct helper that exists, or in a table that does not, is refused with
// the object named, and nothing is changed.
func TestKernelCtHelperErrors(t *testing.T) {
	ns := ktest.Namespace(t, "nft")
	ktest.Run(t, ns, "add table ip t\nadd ct helper ip t h { type \"ftp\" protocol tcp; }\n", "nft", "-f", "-")
	c := kerneltest.Dial(t, ns)
	ctx := context.Background()
	h := kernel.Object{Name: "h", CtHelper: &kernel.CtHelper{Helper: "ftp", L4Proto: unix.IPPROTO_TCP}}
	for _, tc := range []struct {
		table string
		errno unix.Errno
		want  string
	}{
		{"t", unix.EEXIST, "add ct helper ip t h: ct helper h exists in table ip t"},
		{"nope", unix.ENOENT, "add ct helper ip nope h: no such table ip nope"},
	} {
		tx, err := c.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		tx.AddObject(expr.FamilyIP, tc.table, h)
		_, err = tx.Commit(ctx)
		if err == nil || err.Error() != tc.want || !errors.Is(err, tc.errno) {
			t.Errorf("error:\n got %v\nwant %s", err, tc.want)
		}
	}
	if _, err := c.Objects(ctx, expr.FamilyIP, "nope"); err == nil || !errors.Is(err, unix.ENOENT) || !strings.HasPrefix(err.Error(), "list objects ip nope: ") {
		t.Errorf("listing the objects of a missing table: %v, want ENOENT from list objects", err)
	}
	if _, err := c.Sets(ctx, expr.FamilyIP, "nope"); err == nil || !errors.Is(err, unix.ENOENT) || !strings.HasPrefix(err.Error(), "list sets ip nope: ") {
		t.Errorf("listing the sets of a missing table: %v, want ENOENT from list sets", err)
	}
}

// A ct helper is deleted with the bytes nft sends for `delete ct helper`,
// and both rulesets are the same after.
func TestKernelDeleteCtHelperMatchesNft(t *testing.T) {
	setup := "add table ip t\nadd ct helper ip t h { type \"ftp\" protocol tcp; }\nadd ct helper ip t g { type \"sip\" protocol udp; }\n"
	c, _ := sameAsNft(t, setup, "delete ct helper ip t h\n", func(tx *kernel.Tx) {
		tx.DeleteObject(expr.FamilyIP, "t", "h")
	})
	objs, err := c.Objects(context.Background(), expr.FamilyIP, "t")
	if err != nil || len(objs) != 1 || objs[0].Name != "g" {
		t.Errorf("objects after the delete: %+v (%v), want g only", objs, err)
	}
}

// The kernel refuses to delete a ct helper a rule refers to (`ct helper
// set`) with EBUSY, and one that does not exist with ENOENT; deleting the
// rule first in the same transaction lets it go; DestroyObject does
// nothing for a missing one (Linux 6.3 or later).
func TestKernelDeleteCtHelperErrors(t *testing.T) {
	ns := ktest.Namespace(t, "nft")
	ktest.Run(t, ns, `add table ip t
add ct helper ip t h { type "ftp" protocol tcp; }
add chain ip t c { type filter hook forward priority 0; }
add rule ip t c tcp dport 21 ct helper set "h"
`, "nft", "-f", "-")
	c := kerneltest.Dial(t, ns)
	ctx := context.Background()
	for _, tc := range []struct {
		table, name string
		errno       unix.Errno
		want        string
	}{
		{"t", "h", unix.EBUSY, "delete ct helper ip t h: ct helper h in table ip t is in use by a rule (ct helper set): device or resource busy"},
		{"t", "nope", unix.ENOENT, "delete ct helper ip t nope: no such ct helper nope in table ip t"},
		{"nope", "h", unix.ENOENT, "delete ct helper ip nope h: no such table ip nope"},
	} {
		tx, err := c.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		tx.DeleteObject(expr.FamilyIP, tc.table, tc.name)
		_, err = tx.Commit(ctx)
		if err == nil || err.Error() != tc.want || !errors.Is(err, tc.errno) {
			t.Errorf("error:\n got %v\nwant %s", err, tc.want)
		}
	}
	if objs, err := c.Objects(ctx, expr.FamilyIP, "t"); err != nil || len(objs) != 1 || objs[0].Use != 1 {
		t.Fatalf("after the refusals: %+v (%v), want h in use by one rule", objs, err)
	}
	tx, err := c.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tx.FlushChain(expr.FamilyIP, "t", "c")
	tx.DeleteObject(expr.FamilyIP, "t", "h")
	var major, minor int
	fmt.Sscanf(kernel.Release(), "%d.%d", &major, &minor)
	if major > 6 || major == 6 && minor >= 3 {
		tx.DestroyObject(expr.FamilyIP, "t", "nope")
	}
	if _, err := tx.Commit(ctx); err != nil {
		t.Fatalf("flush and delete in one transaction: %v", err)
	}
	if objs, err := c.Objects(ctx, expr.FamilyIP, "t"); err != nil || len(objs) != 0 {
		t.Errorf("after the delete: %+v (%v), want none", objs, err)
	}
}
