package kernel

import (
	"context"
	"fmt"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/internal/nfnl"
)

// Set flags (NFT_SET_*), for SetSpec.Flags and Set.Flags.
const (
	SetAnonymous = expr.SetAnonymous // NFT_SET_ANONYMOUS: bound to the rule that uses it, gone with it
	SetConstant  = expr.SetConstant  // NFT_SET_CONSTANT: its elements never change
	SetInterval  = expr.SetInterval  // NFT_SET_INTERVAL: its elements are ranges (see expr.Intervals)
)

// AnonymousSetName is the name nft gives every anonymous set it sends: the
// kernel replaces %d with the lowest free number (__set0, __set1, …), and the
// rules of the same transaction name the set by it and by its SetSpec.ID.
const AnonymousSetName = expr.AnonymousSetName

// SetSpec is a set to add: NFT_MSG_NEWSET with its attributes in the order
// nft 1.0.6 sends them.
type SetSpec struct {
	// Name is the set's name; AnonymousSetName for an anonymous set.
	Name string
	// ID names the set inside its transaction (NFTA_SET_ID): a lookup
	// expression of a rule of the same transaction, and AddElements, refer
	// to the set by its name and this id, since an anonymous set's real name
	// is known only when the kernel has taken it. nft numbers its sets from
	// 1 in each transaction. 0 sends none.
	ID uint32
	// Flags are SetAnonymous, SetConstant, SetInterval, or'ed.
	Flags uint32
	// KeyType is nft's data type of the key (NFTA_SET_KEY_TYPE: 7 for
	// ipv4_addr, 13 for inet_service, …), KeyLen its length in bytes.
	KeyType, KeyLen uint32
	// Size is NFTA_SET_DESC_SIZE, the number of elements the set is made
	// for; 0 sends no NFTA_SET_DESC. For an interval set nft sends the size
	// expr.Intervals returns.
	Size uint32
	// UserData is NFTA_SET_USERDATA (at most 256 bytes), or nil: nft keeps
	// there the key's byte order, whether to merge elements and the
	// expression the key is typed by.
	UserData []byte
}

// SetElem is an element of a set: expr.SetElem, whose meaning (keys,
// interval ends, userdata) expr/ knows; kernel/ sends and lists the bytes.
type SetElem = expr.SetElem

// AddAnonymousSet adds the anonymous set s, as a rule's lookup needs it
// (expr.Rule.LowerSets), and its elements: NFT_MSG_NEWSET, then
// NFT_MSG_NEWSETELEM, as nft sends them before the rule.
func (tx *Tx) AddAnonymousSet(f expr.Family, table string, s expr.Set) {
	tx.AddSet(f, table, SetSpec{Name: s.Name, ID: s.ID, Flags: s.Flags, KeyType: s.KeyType, KeyLen: s.KeyLen, Size: s.Size, UserData: s.UserData})
	tx.AddElements(f, table, s.Name, s.ID, s.Elems)
}

// AddSet creates set s in table of family f (NFT_MSG_NEWSET).
func (tx *Tx) AddSet(f expr.Family, table string, s SetSpec) {
	e := nfnl.Encoder{}
	e.String(attrSetName, s.Name)
	if s.Flags != 0 {
		e.U32(attrSetFlags, s.Flags)
	}
	e.U32(attrSetKeyType, s.KeyType)
	e.U32(attrSetKeyLen, s.KeyLen)
	if s.ID != 0 {
		e.U32(attrSetID, s.ID)
	}
	if s.Size != 0 {
		d := e.Nest(attrSetDesc)
		e.U32(attrSetDescSize, s.Size)
		e.End(d)
	}
	if s.UserData != nil {
		e.Bytes(attrSetUserdata, s.UserData)
	}
	tx.add(change{kind: addSet, family: f, table: table, chain: s.Name, id: s.ID}, e.B, s.UserData)
}

// maxElemsPayload bounds the elements of one NFT_MSG_NEWSETELEM: the
// payload of its NFTA_SET_ELEM_LIST_ELEMENTS is at most an attribute's.
const maxElemsPayload = maxAttrPayload - 64

// AddElements adds elems to set in table of family f (NFT_MSG_NEWSETELEM),
// naming the set by name and, for a set added in the same transaction, by
// its SetSpec.ID (setID; 0 sends none). The elements are sent in the order
// given, as nft sends them (Intervals gives an interval set's), each nested
// under its index from 1, as libnftnl numbers them; elements that do not fit
// in one message go on in the next, each numbered from 1 again.
func (tx *Tx) AddElements(f expr.Family, table, set string, setID uint32, elems []SetElem) {
	for first := true; first || len(elems) > 0; first = false {
		e := nfnl.Encoder{}
		e.String(attrElemListSet, set)
		if setID != 0 {
			e.U32(attrElemListSetID, setID)
		}
		list := e.Nest(attrElemListElems)
		start := len(e.B)
		k := 0
		for k < len(elems) {
			el := elems[k]
			if k > 0 && len(e.B)-start+32+len(el.Key)+len(el.UserData) > maxElemsPayload {
				break
			}
			at := e.Nest(uint16(k + 1))
			if el.IntervalEnd {
				e.U32(attrElemFlags, 1) // NFT_SET_ELEM_INTERVAL_END
			}
			key := e.Nest(attrElemKey)
			e.Bytes(nfnl.AttrDataValue, el.Key)
			e.End(key)
			if el.UserData != nil {
				e.Bytes(attrElemUserdata, el.UserData)
			}
			e.End(at)
			k++
		}
		e.End(list)
		tx.add(change{kind: addElems, family: f, table: table, chain: set, id: setID}, e.B, nil)
		elems = elems[k:]
	}
}

// Set is an nf_tables set as the kernel lists it.
type Set struct {
	Family          expr.Family // its table's family
	Table           string      // its table's name
	Name            string      // an anonymous set's real name: __set0, …
	Handle          uint64      // the handle the kernel gave it
	Flags           uint32      // NFT_SET_* (anonymous, constant, interval, …)
	KeyType, KeyLen uint32      // nft's key data type, and the key's length in bytes
	Size            uint32      // NFTA_SET_DESC_SIZE, 0 when absent
	UserData        []byte      // NFTA_SET_USERDATA, or nil
}

// Sets lists the sets of table in family f, anonymous ones included. A table
// that does not exist is an error.
func (c *Conn) Sets(ctx context.Context, f expr.Family, table string) ([]Set, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	obj := f.String() + " " + table
	if err := badNames("list sets", obj, "table", table); err != nil {
		return nil, err
	}
	if err := c.checkTable(ctx, "list sets", f, table); err != nil {
		return nil, err
	}
	ae := nfnl.Encoder{}
	ae.String(attrSetTable, table)
	var out []Set
	r, err := c.dump(ctx, nftType(msgGetSet), f, ae.B, func() { out = out[:0] }, func(m nfnl.Message) error {
		s, err := parseSet(m)
		if err != nil {
			return err
		}
		if s.Table == table {
			out = append(out, s)
		}
		return nil
	})
	if err != nil {
		return nil, readError("list sets", obj, r, err)
	}
	return out, nil
}

// SetElements lists the elements of set in table of family f, in the order
// the kernel dumps them (for an interval set, expr.Ranges reads them back).
func (c *Conn) SetElements(ctx context.Context, f expr.Family, table, set string) ([]SetElem, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	obj := f.String() + " " + table + " set " + set
	if err := badNames("list elements", obj, "table", table, "set", set); err != nil {
		return nil, err
	}
	ae := nfnl.Encoder{}
	ae.String(attrElemListTable, table)
	ae.String(attrElemListSet, set)
	var out []SetElem
	r, err := c.dump(ctx, nftType(msgGetSetElem), f, ae.B, func() { out = out[:0] }, func(m nfnl.Message) error {
		es, err := parseElems(m)
		if err != nil {
			return err
		}
		out = append(out, es...)
		return nil
	})
	if err != nil {
		e := readError("list elements", obj, r, err)
		if isErrno(err, enoent) {
			e.Reason = "no such table " + f.String() + " " + table + " or set " + set + " in it"
		}
		return nil, e
	}
	return out, nil
}

// lookupRef returns the set name and id (0 when absent) of expression k of
// exprs, a lookup.
func lookupRef(exprs []byte, k int) (name string, id uint32) {
	refs, err := expr.LookupRefs(exprs)
	if err != nil {
		return "", 0
	}
	for _, r := range refs {
		if r.Index == k {
			return r.Name, r.ID
		}
	}
	return "", 0
}

func parseSet(m nfnl.Message) (Set, error) {
	s := Set{Family: family(m)}
	attrs, err := nfnl.SplitAttrs(m.Body(), 0)
	if err != nil {
		return s, fmt.Errorf("set: %w", err)
	}
	for _, a := range attrs {
		switch a.Type {
		case attrSetTable:
			s.Table = nfnl.String(a.Data)
		case attrSetName:
			s.Name = nfnl.String(a.Data)
		case attrSetHandle:
			s.Handle, err = nfnl.U64(a.Data)
		case attrSetFlags:
			s.Flags, err = nfnl.U32(a.Data)
		case attrSetKeyType:
			s.KeyType, err = nfnl.U32(a.Data)
		case attrSetKeyLen:
			s.KeyLen, err = nfnl.U32(a.Data)
		case attrSetDesc:
			if b, ok := nfnl.Lookup(a.Data, attrSetDescSize); ok {
				s.Size, err = nfnl.U32(b)
			}
		case attrSetUserdata:
			s.UserData = clone(a.Data)
		}
		if err != nil {
			return s, fmt.Errorf("set %s attribute %d: %w", s.Name, a.Type, err)
		}
	}
	return s, nil
}

func parseElems(m nfnl.Message) ([]SetElem, error) {
	list, ok := nfnl.Lookup(m.Body(), attrElemListElems)
	if !ok {
		return nil, nil
	}
	elems, err := nfnl.SplitAttrs(list, 0)
	if err != nil {
		return nil, fmt.Errorf("set elements: %w", err)
	}
	out := make([]SetElem, 0, len(elems))
	for _, el := range elems {
		attrs, err := nfnl.SplitAttrs(el.Data, 0)
		if err != nil {
			return nil, fmt.Errorf("set element: %w", err)
		}
		var se SetElem
		for _, a := range attrs {
			switch a.Type {
			case attrElemKey:
				v, ok := nfnl.Lookup(a.Data, nfnl.AttrDataValue)
				if !ok {
					return nil, fmt.Errorf("set element: key without a value")
				}
				se.Key = clone(v)
			case attrElemFlags:
				fl, err := nfnl.U32(a.Data)
				if err != nil {
					return nil, fmt.Errorf("set element flags: %w", err)
				}
				se.IntervalEnd = fl&1 != 0
			case attrElemUserdata:
				se.UserData = clone(a.Data)
			}
		}
		out = append(out, se)
	}
	return out, nil
}
