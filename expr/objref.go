package expr

import "fmt"

// The objref expression (nft_objref.c) refers a rule to a named stateful
// object of its table: `ct helper set "NAME"` is one objref of type
// NFT_OBJECT_CT_HELPER naming the object, and no other expression (nft
// 1.0.6 sends nothing before it). The kernel counts the rules that refer to
// an object (its use) and refuses to delete one in use (EBUSY).
const (
	attrObjrefImmType = 1 // NFTA_OBJREF_IMM_TYPE: u32
	attrObjrefImmName = 2 // NFTA_OBJREF_IMM_NAME: string

	// ObjectCtHelper is NFT_OBJECT_CT_HELPER, the type of a ct helper
	// object.
	ObjectCtHelper = 3
)

func init() {
	schemas["objref"] = map[uint16]attrKind{attrObjrefImmType: kindU32, attrObjrefImmName: kindString}
}

// ObjRef is what one objref expression of a rule's wire expressions names:
// an object of the rule's table, by type and name.
type ObjRef struct {
	Index int    // of the expression in the list, from 0
	Type  uint32 // the object's type: ObjectCtHelper, …
	Name  string // the object's name
}

// ObjRefs returns the objects the objref expressions of exprs (an
// NFTA_RULE_EXPRESSIONS payload) refer to by name, in order. An objref
// that takes the name from a map (NFTA_OBJREF_SET_…) names none, and is
// left out.
func ObjRefs(exprs []byte) ([]ObjRef, error) {
	es, err := splitExprs(exprs)
	if err != nil {
		return nil, err
	}
	var out []ObjRef
	for i, e := range es {
		if e.name != "objref" {
			continue
		}
		if e.bad != "" {
			return nil, fmt.Errorf("expression %d (objref): %s", i+1, e.bad)
		}
		name, ok := e.str[attrObjrefImmName]
		if !ok {
			continue
		}
		out = append(out, ObjRef{Index: i, Type: uint32(e.u[attrObjrefImmType]), Name: name})
	}
	return out, nil
}
