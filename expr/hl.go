package expr

import "strconv"

// This file holds the ordered comparisons of a header field with one value,
// "ip ttl < 5" and "ip6 hoplimit > 1": nft sends one cmp lt or gt of the
// field's bytes (nft_cmp.c compares them with memcmp, in network order).

// orderedCmp is the cmp operator of OpLt or OpGt.
func orderedCmp(op Op) uint32 {
	if op == OpGt {
		return cmpGt
	}
	return cmpLt
}

// appendOrdered writes "< N" or "> N" after the field's name.
func appendOrdered(b []byte, p Payload) []byte {
	if p.Op == OpGt {
		b = append(b, "> "...)
	} else {
		b = append(b, "< "...)
	}
	return appendUint(b, p.Lo)
}

// checkOrdered checks an OpLt or OpGt of the field fi. Only the fields of
// one byte take them: nft compares a wider field of the transport header in
// the same order, but ctmatch has no use for it.
func checkOrdered(p Payload, fi fieldInfo, max uint64) error {
	if fi.size != 1 {
		return &fieldError{"an ordered comparison of the " + fi.name + " field, which ctmatch makes only of one-byte fields"}
	}
	if uint64(p.Lo) > max {
		return &fieldError{"value " + strconv.FormatUint(uint64(p.Lo), 10) + " above " + strconv.FormatUint(max, 10)}
	}
	return nil
}

// orderedField reads a cmp lt or gt after the one-byte load of field f: it
// reports false, and reads nothing, when the next expression is no such cmp.
func (p *raiser) orderedField(load, slot int, f Field, fi fieldInfo) ([]Match, bool, error) {
	j, err := p.next("cmp")
	if err != nil || j < 0 || fi.size != 1 {
		return nil, false, nil
	}
	var op Op
	switch p.es[j].u[attrCmpOp] {
	case cmpLt:
		op = OpLt
	case cmpGt:
		op = OpGt
	default:
		return nil, false, nil
	}
	if j, err = p.cmp(load, slot); err != nil {
		return nil, true, err
	}
	v := p.es[j].data[attrCmpData].value
	if len(v) != 1 {
		return nil, true, p.fail(j, "compares %d bytes of a field of 1", len(v))
	}
	return []Match{Payload{Field: f, Op: op, Lo: uint32(v[0])}}, true, nil
}
