package nfnl

import (
	"encoding/binary"
	"fmt"
)

// The framing of nf_tables expressions (linux/netfilter/nf_tables.h): the
// payload of NFTA_RULE_EXPRESSIONS is a list of NFTA_LIST_ELEM, each an
// NFTA_EXPR_NAME (a string) and an NFTA_EXPR_DATA (the expression's own
// attributes); a data register (NFTA_CMP_DATA and the like) nests an
// NFTA_DATA_VALUE or an NFTA_DATA_VERDICT.
const (
	AttrListElem = 1 // NFTA_LIST_ELEM
	AttrExprName = 1 // NFTA_EXPR_NAME
	AttrExprData = 2 // NFTA_EXPR_DATA

	AttrDataValue   = 1 // NFTA_DATA_VALUE
	AttrDataVerdict = 2 // NFTA_DATA_VERDICT
)

// BeginExpr starts one expression of a list: its NFTA_LIST_ELEM, the name,
// and its NFTA_EXPR_DATA, into which the expression's attributes follow.
// EndExpr(at) closes it.
func (e *Encoder) BeginExpr(name string) (at int) {
	at = e.Nest(AttrListElem)
	e.String(AttrExprName, name)
	e.Nest(AttrExprData)
	return at
}

// EndExpr closes the expression that BeginExpr started at at (and its
// NFTA_EXPR_DATA, its last attribute).
func (e *Encoder) EndExpr(at int) {
	// NFTA_EXPR_DATA starts after the list element's header and the name.
	name := int(binary.NativeEndian.Uint16(e.B[at+AttrHeaderLen:]))
	e.End(at + AttrHeaderLen + Align(name))
	e.End(at)
}

// Value appends a data register of type typ holding value.
func (e *Encoder) Value(typ uint16, value []byte) {
	at := e.Nest(typ)
	e.Bytes(AttrDataValue, value)
	e.End(at)
}

// ExprList splits the payload of NFTA_RULE_EXPRESSIONS into its list
// elements (base as for SplitAttrs). It fails when the list cannot be split
// or holds an attribute other than NFTA_LIST_ELEM.
func ExprList(b []byte, base int) ([]Attr, error) {
	elems, err := SplitAttrs(b, base)
	if err != nil {
		return nil, fmt.Errorf("expression list: %w", err)
	}
	for i, el := range elems {
		if el.Type != AttrListElem {
			return nil, fmt.Errorf("expression list: attribute %d of type %d, want NFTA_LIST_ELEM", i+1, el.Type)
		}
	}
	return elems, nil
}

// Expr is one expression of a list, as ParseExpr reads it.
type Expr struct {
	Name    string
	HasData bool   // NFTA_EXPR_DATA was present
	Data    Attr   // NFTA_EXPR_DATA, when HasData
	Attrs   []Attr // the attributes of NFTA_EXPR_DATA, in wire order
}

// ParseExpr reads one list element: exactly one NFTA_EXPR_NAME, a string,
// and at most one NFTA_EXPR_DATA, whose attributes it splits. On a fault it
// returns what it read before it, and the fault.
func ParseExpr(el Attr) (Expr, error) {
	var e Expr
	attrs, err := SplitAttrs(el.Data, el.Off+AttrHeaderLen)
	if err != nil {
		return e, err
	}
	hasName := false
	for _, a := range attrs {
		switch {
		case a.Type == AttrExprName && !hasName:
			name, ok := CString(a.Data)
			if !ok {
				return e, fmt.Errorf("expression name is not a string")
			}
			e.Name, hasName = name, true
		case a.Type == AttrExprData && !e.HasData:
			e.HasData, e.Data = true, a
			e.Attrs, err = SplitAttrs(a.Data, a.Off+AttrHeaderLen)
			if err != nil {
				return e, fmt.Errorf("expression data: %w", err)
			}
		default:
			return e, fmt.Errorf("unexpected attribute %d in a list element", a.Type)
		}
	}
	if !hasName {
		return e, fmt.Errorf("expression without a name")
	}
	return e, nil
}
