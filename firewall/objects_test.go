package firewall

import (
	"context"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/kernel"
)

func ftpHelper() *kernel.CtHelper { return &kernel.CtHelper{Helper: "ftp", L4Proto: unix.IPPROTO_TCP} }

// ChangeTables creates ct helper objects in the transaction that creates
// their table and chains, lists them back, and deletes them; each change
// is checked before anything is sent.
func TestChangeTablesObjectsFake(t *testing.T) {
	ctx := context.Background()
	f := newFakeConn()
	c := f.client()
	const fam = expr.FamilyInet
	create := []TableChange{
		{Op: CreateTable, Family: fam, Table: "fw"},
		{Op: CreateObject, Family: fam, Table: "fw", Object: "ftp-std", CtHelper: ftpHelper()},
		{Op: CreateObject, Family: fam, Table: "fw", Object: "sip6", CtHelper: &kernel.CtHelper{Helper: "sip", L4Proto: unix.IPPROTO_UDP, L3Proto: unix.NFPROTO_IPV6}},
		{Op: CreateChain, Family: fam, Table: "fw", Chain: "fwd", Base: &kernel.BaseChain{Type: "filter", Hook: kernel.HookForward}},
	}
	var got []string
	for _, tc := range create[1:3] {
		got = append(got, tc.String())
	}
	want := []string{`add ct helper inet fw ftp-std { type "ftp" protocol tcp; }`, `add ct helper inet fw sip6 { type "sip" protocol udp; l3proto ip6; }`}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("String (-want +got):\n%s", diff)
	}
	if _, err := c.ChangeTables(ctx, create, TableOptions{}); err != nil {
		t.Fatal(err)
	}
	objs, err := c.Objects(ctx, fam, "fw")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, o := range objs {
		names = append(names, o.Name+" "+describeCtHelper(o.CtHelper))
	}
	if diff := cmp.Diff([]string{`ftp-std type "ftp" protocol tcp; l3proto inet`, `sip6 type "sip" protocol udp; l3proto ip6`}, names); f.commits() != 1 || diff != "" {
		t.Errorf("after %d commits, objects (-want +got):\n%s", f.commits(), diff)
	}
	if _, err := c.ChangeTables(ctx, []TableChange{{Op: DeleteObject, Family: fam, Table: "fw", Object: "sip6"}}, TableOptions{}); err != nil {
		t.Fatal(err)
	}
	if objs, _ := c.Objects(ctx, fam, "fw"); f.commits() != 2 || len(objs) != 1 || objs[0].Name != "ftp-std" {
		t.Errorf("after the deletion, %d commits: %+v", f.commits(), objs)
	}

	// Refused before anything is sent.
	f.AddTable(fam, "theirs", nil)
	if err := f.AddObject(fam, "theirs", kernel.Object{Name: "h", CtHelper: ftpHelper()}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		change TableChange
		force  bool
		want   error
		msg    string
	}{
		{TableChange{Op: DeleteObject, Family: fam, Table: "fw", Object: "sip6"}, false, ErrNoObject, "delete ct helper inet fw sip6: no such object"},
		{TableChange{Op: DeleteObject, Family: fam, Table: "nope", Object: "h"}, false, ErrNoTable, "delete ct helper inet nope h: no such table"},
		{TableChange{Op: CreateObject, Family: fam, Table: "nope", Object: "h", CtHelper: ftpHelper()}, false, ErrNoTable, ""},
		{TableChange{Op: CreateObject, Family: fam, Table: "fw", Object: "ftp-std", CtHelper: ftpHelper()}, false, ErrInvalidChange, "add ct helper inet fw ftp-std: the object exists"},
		{TableChange{Op: DeleteObject, Family: fam, Table: "theirs", Object: "h"}, false, ErrNotOwned, ""},
		{TableChange{Op: CreateObject, Family: fam, Table: "theirs", Object: "g", CtHelper: ftpHelper()}, false, ErrNotOwned, ""},
		{TableChange{Op: CreateObject, Family: fam, Table: "fw", Object: "1x", CtHelper: ftpHelper()}, false, ErrInvalidChange, `add ct helper inet fw "1x": object name "1x": nft reads a letter, "_" or ".", then letters, digits and "/-_."`},
		{TableChange{Op: CreateObject, Family: fam, Table: "fw", Object: "a b", CtHelper: ftpHelper()}, false, ErrInvalidChange, ""},
		{TableChange{Op: CreateObject, Family: fam, Table: "fw", Object: strings.Repeat("a", 256), CtHelper: ftpHelper()}, false, ErrInvalidChange, ""},
		{TableChange{Op: DeleteObject, Family: fam, Table: "fw"}, false, ErrInvalidChange, `delete ct helper inet fw "": no object name`},
		{TableChange{Op: CreateObject, Family: fam, Table: "fw", Object: "x"}, false, ErrInvalidChange, "add ct helper inet fw x: a ct helper object needs its CtHelper"},
		{TableChange{Op: CreateObject, Family: fam, Table: "fw", Object: "x", CtHelper: &kernel.CtHelper{Helper: "ftp", L4Proto: 1}}, false, ErrInvalidChange, ""},
		{TableChange{Op: DeleteObject, Family: fam, Table: "fw", Object: "x", CtHelper: ftpHelper()}, false, ErrInvalidChange, ""},
	} {
		before := f.commits()
		_, err := c.ChangeTables(ctx, []TableChange{tc.change}, TableOptions{Force: tc.force})
		if !errors.Is(err, tc.want) || tc.msg != "" && err.Error() != tc.msg || f.commits() != before {
			t.Errorf("%v: %v, want %v %q and nothing sent", tc.change, err, tc.want, tc.msg)
		}
	}
	// Forced, a table ctmatch did not create is changed all the same.
	if _, err := c.ChangeTables(ctx, []TableChange{{Op: DeleteObject, Family: fam, Table: "theirs", Object: "h"}}, TableOptions{Force: true}); err != nil {
		t.Errorf("forced: %v", err)
	}
	if _, err := c.Objects(ctx, fam, "nope"); !errors.Is(err, ErrNoTable) {
		t.Errorf("Objects of a missing table: %v, want ErrNoTable", err)
	}
	// An object deleted and created again in one transaction, and one
	// created and deleted.
	if _, err := c.ChangeTables(ctx, []TableChange{
		{Op: DeleteObject, Family: fam, Table: "fw", Object: "ftp-std"},
		{Op: CreateObject, Family: fam, Table: "fw", Object: "ftp-std", CtHelper: &kernel.CtHelper{Helper: "ftp", L4Proto: unix.IPPROTO_TCP, L3Proto: unix.NFPROTO_IPV4}},
		{Op: CreateObject, Family: fam, Table: "fw", Object: "tmp", CtHelper: ftpHelper()},
		{Op: DeleteObject, Family: fam, Table: "fw", Object: "tmp"},
	}, TableOptions{}); err != nil {
		t.Fatal(err)
	}
	if objs, _ := c.Objects(ctx, fam, "fw"); len(objs) != 1 || objs[0].CtHelper.L3Proto != unix.NFPROTO_IPV4 {
		t.Errorf("after the recreation: %+v", objs)
	}
}

// Sync creates a desired table's ct helpers with it, sends nothing when
// they are as desired, deletes and creates again one that differs, and
// deletes one no longer desired, each in one transaction; a chain whose
// rules refer to a recreated object is rewritten in the same transaction,
// since the kernel refuses to delete an object in use.
func TestSyncObjectsFake(t *testing.T) {
	ctx := context.Background()
	f := newFakeConn()
	c := f.client()
	const fam = expr.FamilyIP
	d := DesiredTable{Family: fam, Name: "fw",
		Chains:  []DesiredChain{{Name: "fwd", Base: &kernel.BaseChain{Type: "filter", Hook: kernel.HookForward}}},
		Objects: []DesiredObject{{Name: "ftp", CtHelper: ftpHelper()}, {Name: "tftp", CtHelper: &kernel.CtHelper{Helper: "tftp", L4Proto: unix.IPPROTO_UDP}}},
	}
	res, err := c.Sync(ctx, d, SyncOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := `add table ip fw
add ct helper ip fw ftp { type "ftp" protocol tcp; }
add ct helper ip fw tftp { type "tftp" protocol udp; }
add chain ip fw "fwd" { type filter hook forward priority 0; policy accept; }
`
	if got := res.Diff.String(); got != want || f.commits() != 1 {
		t.Errorf("after %d commits, diff:\n%s\nwant:\n%s", f.commits(), got, want)
	}
	// The same state, remembered or read again, sends nothing; the
	// listed l3proto (the table's family) is the desired 0.
	for _, touch := range []bool{false, true} {
		if touch {
			f.Touch()
		}
		if res, err := c.Sync(ctx, d, SyncOptions{}); err != nil || res.Sent || !res.Diff.Empty() || f.commits() != 1 {
			t.Errorf("again (touched %v): %+v %v, %d commits", touch, res, err, f.commits())
		}
	}
	d.Objects[1].CtHelper = &kernel.CtHelper{Helper: "tftp", L4Proto: unix.IPPROTO_UDP, L3Proto: unix.NFPROTO_IPV4}
	if res, err := c.Diff(ctx, d, SyncOptions{}); err != nil || !res.Empty() {
		t.Errorf("l3proto ip is the ip table's own: diff %q %v", res.String(), err)
	}
	// tftp changes, ftp goes.
	d.Objects = []DesiredObject{{Name: "tftp", CtHelper: &kernel.CtHelper{Helper: "tftp", L4Proto: unix.IPPROTO_TCP}}}
	res, err = c.Sync(ctx, d, SyncOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want = `delete ct helper ip fw tftp
add ct helper ip fw tftp { type "tftp" protocol tcp; }
delete ct helper ip fw ftp
`
	if got := res.Diff.String(); got != want || f.commits() != 2 {
		t.Errorf("after %d commits, diff:\n%s\nwant:\n%s", f.commits(), got, want)
	}
	objs, _ := c.Objects(ctx, fam, "fw")
	if len(objs) != 1 || objs[0].Name != "tftp" || objs[0].CtHelper.L4Proto != unix.IPPROTO_TCP {
		t.Errorf("objects after the sync: %+v", objs)
	}
	// Invalid desired objects.
	for _, objs := range [][]DesiredObject{
		{{Name: "a", CtHelper: ftpHelper()}, {Name: "a", CtHelper: ftpHelper()}},
		{{Name: "", CtHelper: ftpHelper()}},
		{{Name: "a"}},
	} {
		d.Objects = objs
		if _, err := c.Sync(ctx, d, SyncOptions{}); !errors.Is(err, ErrInvalidChange) || f.commits() != 2 {
			t.Errorf("%+v: %v, want ErrInvalidChange and nothing sent", objs, err)
		}
	}
	// A table ctmatch did not create is not synced unless forced.
	f.AddTable(fam, "theirs", nil)
	if _, err := c.Sync(ctx, DesiredTable{Family: fam, Name: "theirs", Objects: []DesiredObject{{Name: "a", CtHelper: ftpHelper()}}}, SyncOptions{}); !errors.Is(err, ErrNotOwned) {
		t.Errorf("a foreign table: %v, want ErrNotOwned", err)
	}
}

// A chain whose rules are as desired but refer to a ct helper that is
// recreated or deleted is rewritten all the same (the kernel refuses to
// delete an object a rule refers to); a chain whose rules refer to none is
// left alone. (No desired rule can refer to an object yet: the plan is
// given one by hand, its expressions an objref as nft sends it for `ct
// helper set "h"`.)
func TestSyncRewritesForObjects(t *testing.T) {
	ref := func(name string) []byte {
		ae := netlink.NewAttributeEncoder()
		ae.ByteOrder = binary.BigEndian
		ae.Nested(1, func(el *netlink.AttributeEncoder) error {
			el.String(1, "objref")
			el.Nested(2, func(d *netlink.AttributeEncoder) error {
				d.Uint32(1, expr.ObjectCtHelper)
				d.String(2, name)
				return nil
			})
			return nil
		})
		b, err := ae.Encode()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, tc := range []struct {
		desired []DesiredObject
		want    bool // c is rewritten
	}{
		{[]DesiredObject{{Name: "h", CtHelper: ftpHelper()}}, false},
		{[]DesiredObject{{Name: "h", CtHelper: &kernel.CtHelper{Helper: "ftp", L4Proto: unix.IPPROTO_TCP, L3Proto: unix.NFPROTO_IPV6}}}, true},
		{nil, true},
	} {
		p := &syncPlan{
			d:     DesiredTable{Family: expr.FamilyInet, Name: "fw", Chains: []DesiredChain{{Name: "c"}, {Name: "other"}}, Objects: tc.desired},
			diff:  Diff{Family: expr.FamilyInet, Table: "fw"},
			rules: [][]desiredRule{{{pieces: [][]byte{ref("h")}}}, {{pieces: [][]byte{ref("g")}}}},
		}
		p.compareObjects([]kernel.Object{{Name: "h", CtHelper: &kernel.CtHelper{Helper: "ftp", L4Proto: unix.IPPROTO_TCP, L3Proto: unix.NFPROTO_INET}}})
		got := len(p.diff.Chains) == 1 && p.diff.Chains[0].Name == "c" && p.diff.Chains[0].Rewrite && p.diff.Chains[0].ForObjects
		if got != tc.want || len(p.diff.Chains) > 1 {
			t.Errorf("desired %+v: chains %+v, want c rewritten: %v", tc.desired, p.diff.Chains, tc.want)
		}
		if tc.want && !strings.Contains(p.diff.String(), "flush chain inet fw c\n  (0 rules again: they use a ct helper deleted or recreated)\n") {
			t.Errorf("diff:\n%s", p.diff.String())
		}
	}
}
