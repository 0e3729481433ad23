package firewall

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/kernel"
)

// This file holds what the client does with named objects: ct helpers,
// created and deleted in ChangeTables' transaction with the tables and
// chains (CreateObject, DeleteObject), held by a DesiredTable that Sync
// makes the table hold, and listed back (Client.Objects). A rule refers to
// one by name (`ct helper set "NAME"`: an objref expression); the kernel
// refuses a rule that names a missing object (ENOENT) and the deletion of
// an object a rule refers to (EBUSY), unless the same transaction deletes
// that rule first.

// ErrNoObject: the named object to delete does not exist.
var ErrNoObject = errors.New("no such object")

// DesiredObject is a named object of a DesiredTable: a ct helper.
type DesiredObject struct {
	Name string // the object's name (see ValidObjectName)
	// CtHelper is the ct helper; its L3Proto 0 is the table's family, as
	// the kernel takes it.
	CtHelper *kernel.CtHelper
}

// ObjectDiff is what a Sync does to one named object.
type ObjectDiff struct {
	Name     string           // the object's name
	CtHelper *kernel.CtHelper // the desired ct helper; nil for one deleted
	// Create: the object is missing and is created. Delete: it is not
	// desired and is deleted. Recreate: it differs (helper, protocols) and
	// is deleted and created again, in the same transaction.
	Create, Delete, Recreate bool
}

// ValidObjectName returns why nft would not read name as an object's name,
// or "" when it does: nft 1.0.6 takes an object's name only bare (a
// quoted one is a syntax error), as its scanner's string: a letter, "_" or
// ".", then letters, digits and "/-_."; the kernel takes at most 255 bytes
// (NFT_OBJ_MAXNAMELEN less the NUL; ERANGE past it). (nft also refuses a
// name that is one of its keywords, such as tcp or ip: this is not
// checked; the kernel takes such a name, and nft lists it, but cannot read
// it back.)
func ValidObjectName(name string) string {
	switch {
	case name == "":
		return "no object name"
	case len(name) > 255:
		return fmt.Sprintf("an object name of %d bytes (at most 255)", len(name))
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == '.'
		if !letter && !(i > 0 && (c >= '0' && c <= '9' || c == '-' || c == '/')) {
			return fmt.Sprintf("object name %q: nft reads a letter, \"_\" or \".\", then letters, digits and \"/-_.\"", name)
		}
	}
	return ""
}

// validCtHelper checks what the kernel needs of a ct helper before it
// looks the helper up.
func validCtHelper(h *kernel.CtHelper) string {
	switch {
	case h == nil:
		return "a ct helper object needs its CtHelper"
	case h.Helper == "" || len(h.Helper) > 15:
		return fmt.Sprintf("ct helper type %q: the kernel's helpers have names of 1 to 15 bytes (\"ftp\", \"sip\", …)", h.Helper)
	case h.L4Proto != unix.IPPROTO_TCP && h.L4Proto != unix.IPPROTO_UDP:
		return fmt.Sprintf("ct helper protocol %d: nft writes tcp (6) or udp (17)", h.L4Proto)
	}
	return ""
}

// describeCtHelper writes a ct helper as nft's object body: `type "ftp"
// protocol tcp; l3proto ip`.
func describeCtHelper(h *kernel.CtHelper) string {
	proto := fmt.Sprint(h.L4Proto)
	switch h.L4Proto {
	case unix.IPPROTO_TCP:
		proto = "tcp"
	case unix.IPPROTO_UDP:
		proto = "udp"
	}
	s := fmt.Sprintf("type %q protocol %s", h.Helper, proto)
	switch h.L3Proto {
	case 0:
	case unix.NFPROTO_IPV4:
		s += "; l3proto ip"
	case unix.NFPROTO_IPV6:
		s += "; l3proto ip6"
	case unix.NFPROTO_INET:
		s += "; l3proto inet"
	default:
		s += fmt.Sprintf("; l3proto %d", h.L3Proto)
	}
	return s
}

// l3proto is the l3proto the kernel gives a ct helper of a table of family
// f sent with l3 (0: none).
func l3proto(f expr.Family, l3 uint16) uint16 {
	if l3 != 0 {
		return l3
	}
	switch f {
	case expr.FamilyIP:
		return unix.NFPROTO_IPV4
	case expr.FamilyIP6:
		return unix.NFPROTO_IPV6
	}
	return uint16(f)
}

// sameCtHelper reports whether a listed ct helper is the desired one, in
// a table of family f.
func sameCtHelper(f expr.Family, have, want *kernel.CtHelper) bool {
	return have != nil && want != nil && have.Helper == want.Helper && have.L4Proto == want.L4Proto &&
		l3proto(f, have.L3Proto) == l3proto(f, want.L3Proto)
}

// Objects lists the named objects (ct helpers) of table f name, each with
// the number of rules that refer to it (Use). A table that does not exist
// is ErrNoTable.
func (c *Client) Objects(ctx context.Context, f expr.Family, table string) ([]kernel.Object, error) {
	const op = "list objects"
	obj := object(f, table)
	if err := c.lock(ctx); err != nil {
		return nil, err
	}
	defer c.unlock()
	tables, err := c.c.Tables(ctx)
	if err != nil {
		return nil, readError(op, obj, -1, err)
	}
	found := false
	for _, t := range tables {
		found = found || t.Family == f && t.Name == table
	}
	if !found {
		return nil, &Error{Op: op, Object: obj, Index: -1, Err: ErrNoTable}
	}
	objs, err := c.c.Objects(ctx, f, table)
	if err != nil {
		if errors.Is(err, unix.ENOENT) {
			// (The table went between the two reads.)
			return nil, &Error{Op: op, Object: obj, Index: -1, Err: ErrNoTable}
		}
		return nil, readError(op, obj, -1, err)
	}
	return objs, nil
}

// readObjects lists the objects of an existing table the first time, into
// st.objects.
func (st *stateTable) readObjects(ctx context.Context, c *Client, op, obj string) error {
	if st.objects != nil {
		return nil
	}
	st.objects = map[string]bool{}
	if st.created {
		return nil
	}
	objs, err := c.c.Objects(ctx, st.t.Family, st.t.Name)
	if err != nil {
		st.objects = nil
		return readError(op, obj, -1, err)
	}
	for _, o := range objs {
		st.objects[o.Name] = true
	}
	return nil
}

// applyObject checks an object change of ChangeTables against the state
// of its table t (which exists, and may be changed) and makes it there.
func (t *stateTable) applyObject(ctx context.Context, c *Client, tc TableChange, i int) error {
	op, obj := tc.Op.String(), tc.object()
	if err := t.readObjects(ctx, c, op, obj); err != nil {
		return err
	}
	exists := t.objects[tc.Object]
	switch {
	case tc.Op == CreateObject && exists:
		return &Error{Op: op, Object: obj, Index: i, Err: ErrInvalidChange, Reason: "the object exists"}
	case tc.Op == DeleteObject && !exists:
		return &Error{Op: op, Object: obj, Index: i, Err: ErrNoObject}
	}
	if tc.Op == CreateObject {
		t.objects[tc.Object] = true
	} else {
		delete(t.objects, tc.Object)
	}
	return nil
}

// prepareObjects checks the desired objects of a Sync.
func (p *syncPlan) prepareObjects() error {
	d := p.d
	names := map[string]bool{}
	for _, o := range d.Objects {
		fail := func(why string) error {
			return &Error{Op: "sync", Object: object(d.Family, d.Name, o.Name), Index: -1, Err: ErrInvalidChange, Reason: why}
		}
		if why := ValidObjectName(o.Name); why != "" {
			return fail(why)
		}
		if names[o.Name] {
			return fail("an object named twice")
		}
		names[o.Name] = true
		if why := validCtHelper(o.CtHelper); why != "" {
			return fail(why)
		}
	}
	return nil
}

// compareObjects finds what differs between the table's objects, have,
// and the desired ones, and marks for rewriting the chains not yet
// rewritten whose desired rules refer to an object deleted or recreated
// (the kernel refuses to delete an object a rule refers to, so the
// transaction deletes those rules first, and adds them again after).
func (p *syncPlan) compareObjects(have []kernel.Object) {
	d := p.d
	byName := map[string]kernel.Object{}
	for _, o := range have {
		byName[o.Name] = o
	}
	gone := map[string]bool{}
	for _, o := range d.Objects {
		h, exists := byName[o.Name]
		delete(byName, o.Name)
		od := ObjectDiff{Name: o.Name, CtHelper: o.CtHelper}
		switch {
		case !exists:
			od.Create = true
		case !sameCtHelper(d.Family, h.CtHelper, o.CtHelper):
			od.Recreate = true
			gone[o.Name] = true
		default:
			continue
		}
		p.diff.Objects = append(p.diff.Objects, od)
	}
	for _, o := range have {
		if _, left := byName[o.Name]; left {
			p.diff.Objects = append(p.diff.Objects, ObjectDiff{Name: o.Name, Delete: true})
			gone[o.Name] = true
		}
	}
	if len(gone) == 0 {
		return
	}
	rewritten := map[string]bool{}
	for _, cd := range p.diff.Chains {
		rewritten[cd.Name] = cd.Rewrite || cd.Delete
	}
	for i, dc := range d.Chains {
		if rewritten[dc.Name] || !refersTo(p.rules[i], gone) {
			continue
		}
		p.diff.Chains = append(p.diff.Chains, ChainDiff{Name: dc.Name, Base: dc.Base, Rules: len(dc.Rules), Rewrite: true, ForObjects: true})
	}
}

// refersTo reports whether a rule refers to one of the objects named.
func refersTo(rules []desiredRule, names map[string]bool) bool {
	for _, r := range rules {
		for _, b := range r.pieces {
			refs, _ := expr.ObjRefs(b)
			for _, ref := range refs {
				if names[ref.Name] {
					return true
				}
			}
		}
	}
	return false
}

// queueObjectDeletes and queueObjectAdds add the sync's object changes to
// the transaction: the deletions after the chains are flushed, the
// creations before any rule.
func (p *syncPlan) queueObjectDeletes(tx KernelTx) {
	for _, od := range p.diff.Objects {
		if od.Delete || od.Recreate {
			tx.DeleteObject(p.d.Family, p.d.Name, od.Name)
		}
	}
}

func (p *syncPlan) queueObjectAdds(tx KernelTx) {
	for _, od := range p.diff.Objects {
		if od.Create || od.Recreate {
			h := *od.CtHelper
			tx.AddObject(p.d.Family, p.d.Name, kernel.Object{Name: od.Name, CtHelper: &h})
		}
	}
}

// writeObjectDiff writes the object lines of a diff.
func writeObjectDiff(b *strings.Builder, obj string, ods []ObjectDiff) {
	for _, od := range ods {
		name := obj + " " + od.Name
		if od.Delete || od.Recreate {
			fmt.Fprintf(b, "delete ct helper %s\n", name)
		}
		if od.Create || od.Recreate {
			fmt.Fprintf(b, "add ct helper %s { %s; }\n", name, describeCtHelper(od.CtHelper))
		}
	}
}

// desiredObjects is the objects of the desired state, as the kernel lists
// them (for a Sync's memory).
func (p *syncPlan) desiredObjects() []kernel.Object {
	var out []kernel.Object
	for _, o := range p.d.Objects {
		h := *o.CtHelper
		h.L3Proto = l3proto(p.d.Family, h.L3Proto)
		out = append(out, kernel.Object{Family: p.d.Family, Table: p.d.Name, Name: o.Name, CtHelper: &h})
	}
	return out
}
