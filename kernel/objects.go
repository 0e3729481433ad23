package kernel

import (
	"context"
	"fmt"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/internal/nfnl"
)

// CtHelper is a ct helper object (NFT_OBJECT_CT_HELPER), what nft makes of
// `ct helper NAME { type "ftp" protocol tcp; }` and a rule's `ct helper set
// "NAME"` assigns to a connection.
type CtHelper struct {
	// Helper is the kernel's conntrack helper: "ftp", "sip", "tftp", …
	Helper string
	// L4Proto is the transport protocol (6 for tcp, 17 for udp).
	L4Proto uint8
	// L3Proto is the network protocol (NFPROTO_IPV4 2, NFPROTO_IPV6 10);
	// 0 sends none, as nft does when none is written, and the kernel takes
	// the table's family (NFPROTO_INET 1 in an inet table). The kernel lists
	// it always.
	L3Proto uint16
}

// Object is a named stateful object of a table. Only ct helpers are
// supported.
type Object struct {
	Family   expr.Family // as listed
	Table    string      // as listed
	Name     string      // the object's name
	Handle   uint64      // as listed
	Use      uint32      // as listed: the rules that refer to it
	CtHelper *CtHelper   // the ct helper (NFT_OBJECT_CT_HELPER)
	// UserData is NFTA_OBJ_USERDATA (at most 256 bytes), or nil.
	UserData []byte
}

// AddObject creates the named object o in table of family f
// (NFT_MSG_NEWOBJ); it must not exist (NLM_F_EXCL). The attributes go in the
// order nft 1.0.6 sends them.
func (tx *Tx) AddObject(f expr.Family, table string, o Object) {
	e := nfnl.Encoder{}
	e.String(attrObjName, o.Name)
	ch := change{kind: addObject, family: f, table: table, chain: o.Name}
	if h := o.CtHelper; h != nil {
		e.U32(attrObjType, objCtHelper)
		d := e.Nest(attrObjData)
		// (nft sends the helper's name without a NUL; the kernel takes
		// either.)
		e.Bytes(attrCtHelperName, []byte(h.Helper))
		if h.L3Proto != 0 {
			e.U16(attrCtHelperL3Proto, h.L3Proto)
		}
		e.U8(attrCtHelperL4Proto, h.L4Proto)
		e.End(d)
	} else {
		ch.noObject = true
	}
	if o.UserData != nil {
		e.Bytes(attrObjUdata, o.UserData)
	}
	tx.add(ch, e.B, o.UserData)
}

// DeleteObject deletes the ct helper name of table in family f
// (NFT_MSG_DELOBJ, with the attributes nft 1.0.6 sends for `delete ct
// helper`). It must exist, and no rule may refer to it (`ct helper set`)
// unless the same transaction first deletes that rule: the kernel refuses
// (EBUSY) an object in use.
func (tx *Tx) DeleteObject(f expr.Family, table, name string) {
	tx.add(change{kind: deleteObject, family: f, table: table, chain: name}, delObjectAttrs(name), nil)
}

// DestroyObject deletes the ct helper name of table in family f, as
// DeleteObject does, and does nothing when there is no such object
// (NFT_MSG_DESTROYOBJ): Linux 6.3 or later; older kernels refuse the
// transaction (EOPNOTSUPP). (nft 1.0.6 has no `destroy`.)
func (tx *Tx) DestroyObject(f expr.Family, table, name string) {
	tx.add(change{kind: destroyObject, family: f, table: table, chain: name}, delObjectAttrs(name), nil)
}

// delObjectAttrs encodes the attributes of a delete after the table: the
// name, the type and an empty NFTA_OBJ_DATA, as nft 1.0.6 sends them.
func delObjectAttrs(name string) []byte {
	e := nfnl.Encoder{}
	e.String(attrObjName, name)
	e.U32(attrObjType, objCtHelper)
	e.End(e.Nest(attrObjData))
	return e.B
}

// Objects lists the ct helpers of table in family f. A table that does not
// exist is an error.
func (c *Conn) Objects(ctx context.Context, f expr.Family, table string) ([]Object, error) {
	var out []Object
	err := c.dumpObjects(ctx, f, table, objCtHelper, func() { out = out[:0] }, func(m nfnl.Message) error {
		o, err := parseObject(m)
		if err != nil {
			return err
		}
		if o.Table == table && o.CtHelper != nil {
			out = append(out, o)
		}
		return nil
	})
	return out, err
}

// ObjectName is a named stateful object of a table, of any type: what
// ObjectNames lists.
type ObjectName struct {
	Name string // the object's name
	// Type is the object's type, as nft names it: counter, quota, ct
	// helper, limit, ct timeout, secmark, ct expectation, synproxy, or
	// "type N" for another NFT_OBJECT_* number.
	Type string
}

// objectTypes are nft's names of the NFT_OBJECT_* types.
var objectTypes = map[uint32]string{1: "counter", 2: "quota", 3: "ct helper", 4: "limit", 7: "ct timeout", 8: "secmark", 9: "ct expectation", 10: "synproxy"}

// ObjectNames lists the named objects of table in family f, of every type
// (Objects lists the ct helpers ctmatch writes, whole). A table that does
// not exist is an error.
func (c *Conn) ObjectNames(ctx context.Context, f expr.Family, table string) ([]ObjectName, error) {
	var out []ObjectName
	err := c.dumpObjects(ctx, f, table, 0, func() { out = out[:0] }, func(m nfnl.Message) error {
		attrs, err := nfnl.SplitAttrs(m.Body(), 0)
		if err != nil {
			return fmt.Errorf("object: %w", err)
		}
		var o ObjectName
		var tname string
		for _, a := range attrs {
			switch a.Type {
			case attrObjTable:
				tname = nfnl.String(a.Data)
			case attrObjName:
				o.Name = nfnl.String(a.Data)
			case attrObjType:
				typ, err := nfnl.U32(a.Data)
				if err != nil {
					return fmt.Errorf("object %s type: %w", o.Name, err)
				}
				if o.Type = objectTypes[typ]; o.Type == "" {
					o.Type = fmt.Sprintf("type %d", typ)
				}
			}
		}
		if tname == table {
			out = append(out, o)
		}
		return nil
	})
	return out, err
}

// dumpObjects dumps the objects of table in family f, of type typ (0: of
// every type), calling reset when the dump starts again and each with
// every object's message.
func (c *Conn) dumpObjects(ctx context.Context, f expr.Family, table string, typ uint32, reset func(), each func(m nfnl.Message) error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	obj := f.String() + " " + table
	if err := badNames("list objects", obj, "table", table); err != nil {
		return err
	}
	if err := c.checkTable(ctx, "list objects", f, table); err != nil {
		return err
	}
	ae := nfnl.Encoder{}
	ae.String(attrObjTable, table)
	if typ != 0 {
		ae.U32(attrObjType, typ)
	}
	r, err := c.dump(ctx, nftType(msgGetObj), f, ae.B, reset, each)
	if err != nil {
		return readError("list objects", obj, r, err)
	}
	return nil
}

func parseObject(m nfnl.Message) (Object, error) {
	o := Object{Family: family(m)}
	attrs, err := nfnl.SplitAttrs(m.Body(), 0)
	if err != nil {
		return o, fmt.Errorf("object: %w", err)
	}
	var typ uint32
	var data []byte
	for _, a := range attrs {
		switch a.Type {
		case attrObjTable:
			o.Table = nfnl.String(a.Data)
		case attrObjName:
			o.Name = nfnl.String(a.Data)
		case attrObjType:
			typ, err = nfnl.U32(a.Data)
		case attrObjData:
			data = a.Data
		case attrObjUse:
			o.Use, err = nfnl.U32(a.Data)
		case attrObjHandle:
			o.Handle, err = nfnl.U64(a.Data)
		case attrObjUdata:
			o.UserData = clone(a.Data)
		}
		if err != nil {
			return o, fmt.Errorf("object %s attribute %d: %w", o.Name, a.Type, err)
		}
	}
	if typ != objCtHelper {
		return o, nil
	}
	h := &CtHelper{}
	das, err := nfnl.SplitAttrs(data, 0)
	if err != nil {
		return o, fmt.Errorf("ct helper %s: %w", o.Name, err)
	}
	for _, a := range das {
		switch a.Type {
		case attrCtHelperName:
			h.Helper = nfnl.String(a.Data)
		case attrCtHelperL3Proto:
			if len(a.Data) != 2 {
				return o, fmt.Errorf("ct helper %s: l3proto of %d bytes", o.Name, len(a.Data))
			}
			h.L3Proto = uint16(a.Data[0])<<8 | uint16(a.Data[1])
		case attrCtHelperL4Proto:
			h.L4Proto, err = nfnl.U8(a.Data)
			if err != nil {
				return o, fmt.Errorf("ct helper %s l4proto: %w", o.Name, err)
			}
		}
	}
	o.CtHelper = h
	return o, nil
}
