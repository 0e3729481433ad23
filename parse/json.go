package parse

import (
	"encoding/json"
	"net/netip"
)

// ASTVersion is the version of the JSON form of the syntax tree (ctmatch fmt
// -o ast). It changes only when a field changes meaning or disappears; new
// fields may appear within a version.
const ASTVersion = 1

// MarshalJSON writes the option with only the value fields of its kind.
func (o *Option) MarshalJSON() ([]byte, error) {
	type addr struct {
		Addr netip.Addr `json:"addr"`
		Mask netip.Addr `json:"mask"`
		Bits *int       `json:"bits"` // null for a mask that is not contiguous
	}
	v := struct {
		Kind     OptionKind `json:"option"`
		Flag     Pos        `json:"pos"`
		Negated  bool       `json:"negated"`
		NegPos   Pos        `json:"neg_pos"`
		Value    Word       `json:"value"`
		Items    []Pos      `json:"items,omitempty"`
		States   *State     `json:"states,omitempty"`
		Statuses *Status    `json:"statuses,omitempty"`
		Proto    *uint8     `json:"proto,omitempty"`
		Addr     *addr      `json:"addr,omitempty"`
		Lo       *uint32    `json:"lo,omitempty"`
		Hi       *uint32    `json:"hi,omitempty"`
		Dir      *Dir       `json:"dir,omitempty"`
	}{Kind: o.Kind, Flag: o.Flag, Negated: o.Negated, NegPos: o.NegPos, Value: o.Value, Items: o.Items}
	switch k := o.Kind; {
	case k == OptState:
		v.States = &o.States
	case k == OptStatus:
		v.Statuses = &o.Statuses
	case k == OptProto:
		v.Proto = &o.Proto
	case k.IsAddr():
		a := addr{Addr: o.Addr.Addr, Mask: o.Addr.Mask}
		if b := o.Addr.Bits(); b >= 0 {
			a.Bits = &b
		}
		v.Addr = &a
	case k.IsPort() || k == OptExpire:
		v.Lo, v.Hi = &o.Lo, &o.Hi
	case k == OptDir:
		v.Dir = &o.Dir
	}
	return json.Marshal(v)
}
