package expr

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/ctmatch/ctmatch/internal/nfnl"
)

// This file holds lookups in anonymous sets: "tcp dport { 22, 80, 8000-8100 }"
// and "th sport != { 80, 443 }". A rule's lookup names a set that nft sends
// in the same transaction, before the rule: one NFT_MSG_NEWSET and one
// NFT_MSG_NEWSETELEM per set. Lower gives the rule's expressions, LowerSets
// the sets too; Raise reads a lookup back with the set's elements, which the
// caller supplies (RaiseSets).

// Interval is an inclusive range of values of a set's key, Lo..Hi; Lo == Hi
// for one value.
type Interval struct{ Lo, Hi uint32 }

// Lookup is "FIELD { v, lo-hi, … }": the header field's value is in one of
// Elems; with Neg, "FIELD != { … }", in none of them (NFT_LOOKUP_F_INV). The
// field is a port of the transport header (FieldTHSport or FieldTHDport):
// like Payload, the load stops the rule when the kernel found no transport
// header.
//
// A set of values alone (every Lo == Hi) goes to the kernel as a hash set of
// those values, in the order of Elems; a set with a range as an interval
// set, sorted, overlapping and adjacent ranges merged (as nft sends them).
// nft sends a set of one element as a comparison, so a Lookup has at least
// two (Lower refuses fewer): a single value or range is a Payload.
// CanonicalIntervals gives Elems the order and merging Raise gives back.
type Lookup struct {
	Field Field
	Neg   bool
	Elems []Interval
}

func (Lookup) isMatch() {}

// String returns the nft text of the match l alone, with "th" as the
// protocol word: "th dport { 22, 80 }".
func (l Lookup) String() string { return string(l.appendText(nil, "th")) }

// hasRange reports whether an element of l is a range.
func (l Lookup) hasRange() bool {
	for _, e := range l.Elems {
		if e.Lo != e.Hi {
			return true
		}
	}
	return false
}

func (l Lookup) appendText(b []byte, proto string) []byte {
	fi, ok := fieldInfoOf(l.Field)
	if !ok || fi.base != payloadTransport || fi.size != 2 {
		return appendInvalid(b, "lookup of field "+strconv.FormatUint(uint64(l.Field), 10))
	}
	if proto == "icmp" || proto == "icmpv6" {
		proto = "th"
	}
	b = append(append(append(b, proto...), ' '), fi.name...)
	if l.Neg {
		b = append(b, " !="...)
	}
	b = append(b, " {"...)
	for i, e := range l.Elems {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendUint(append(b, ' '), e.Lo)
		if e.Hi != e.Lo {
			b = appendUint(append(b, '-'), e.Hi)
		}
	}
	return append(b, " }"...)
}

// CanonicalIntervals returns elems as Raise gives them back from the kernel:
// sorted and without duplicates; when one of them is a range (an interval
// set), with overlapping and adjacent ranges merged, as nft and the kernel
// merge them.
func CanonicalIntervals(elems []Interval) []Interval {
	out := slices.Clone(elems)
	slices.SortFunc(out, func(a, b Interval) int {
		if a.Lo != b.Lo {
			return cmpU32(a.Lo, b.Lo)
		}
		return cmpU32(a.Hi, b.Hi)
	})
	out = slices.Compact(out)
	if !(Lookup{Elems: out}).hasRange() {
		return out
	}
	merged := out[:0]
	for _, e := range out {
		if n := len(merged); n > 0 && uint64(e.Lo) <= uint64(merged[n-1].Hi)+1 {
			merged[n-1].Hi = max(merged[n-1].Hi, e.Hi)
			continue
		}
		merged = append(merged, e)
	}
	return merged
}

func cmpU32(a, b uint32) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func checkLookup(f Family, l Lookup) error {
	fi, ok := fieldInfoOf(l.Field)
	if !ok || fi.base != payloadTransport || fi.size != 2 {
		return &fieldError{"a lookup of a field other than a transport port"}
	}
	if len(l.Elems) < 2 {
		return &fieldError{"a set of " + strconv.Itoa(len(l.Elems)) + " elements (nft sends one element as a comparison: use Payload)"}
	}
	for _, e := range l.Elems {
		if e.Lo > e.Hi || e.Hi > 0xffff {
			return &fieldError{"element " + strconv.FormatUint(uint64(e.Lo), 10) + "-" + strconv.FormatUint(uint64(e.Hi), 10) + " is not a range of ports"}
		}
	}
	if !l.hasRange() {
		seen := map[uint32]bool{}
		for _, e := range l.Elems {
			if seen[e.Lo] {
				return &fieldError{"element " + strconv.FormatUint(uint64(e.Lo), 10) + " twice in a set"}
			}
			seen[e.Lo] = true
		}
	}
	return nil
}

// AnonymousSetName is the name nft gives every anonymous set it sends: the
// kernel replaces %d with the lowest free number (__set0, __set1, …), and the
// rules of the same transaction name the set by it and by its Set.ID.
const AnonymousSetName = "__set%d"

// Set flags (NFT_SET_*).
const (
	SetAnonymous uint32 = 0x1 // NFT_SET_ANONYMOUS: bound to the rule that uses it, gone with it
	SetConstant  uint32 = 0x2 // NFT_SET_CONSTANT: its elements never change
	SetInterval  uint32 = 0x4 // NFT_SET_INTERVAL: its elements are ranges (see Intervals)
)

// Key types of sets (nft's data types, NFTA_SET_KEY_TYPE).
const (
	KeyTypeInetService uint32 = 13 // TYPE_INET_SERVICE: a port, 2 bytes, big endian
)

// SetElem is an element of a set: its key (in the set's key length, in the
// byte order nft sends it: network order for addresses and ports).
type SetElem struct {
	Key []byte // the element's key
	// IntervalEnd marks the element that ends a range of an interval set
	// (NFT_SET_ELEM_INTERVAL_END): the first key after the range.
	IntervalEnd bool
	// UserData is NFTA_SET_ELEM_USERDATA, or nil. nft marks a range that
	// runs to the largest key there (Intervals).
	UserData []byte
}

// Set is an anonymous set a rule's lookup uses, as nft 1.0.6 sends it:
// NFT_MSG_NEWSET with these attributes, then NFT_MSG_NEWSETELEM with Elems,
// both naming the set AnonymousSetName and ID. Listed back from the kernel,
// Name is the set's real name.
type Set struct {
	Name string // AnonymousSetName, or the name the kernel gave it
	// ID names the set inside its transaction (NFTA_SET_ID), as the
	// rule's lookup does (NFTA_LOOKUP_SET_ID). nft numbers the sets of a
	// transaction from 1, in the order of its rules and of their lookups.
	ID uint32
	// Flags are SetAnonymous, SetConstant, SetInterval, or'ed.
	Flags uint32
	// KeyType is nft's data type of the key, KeyLen its length in bytes.
	KeyType, KeyLen uint32
	// Size is NFTA_SET_DESC_SIZE: the number of elements, counted for an
	// interval set as Intervals counts them.
	Size uint32
	// UserData is NFTA_SET_USERDATA: nft keeps there the key's byte order,
	// whether to merge elements and the expression the key is typed by.
	UserData []byte
	Elems    []SetElem
}

// KeyRange is an inclusive range of keys of an interval set, both of the
// set's key length, big endian; From == To for one key.
type KeyRange struct {
	From, To []byte // the first and the last key of the range
}

// intervalOpen is the userdata nft gives the start of a range that runs to
// the largest key, and so has no end element: libnftnl's
// NFTNL_UDATA_SET_ELEM_FLAGS (type 1, a host-order u32) holding
// NFTNL_SET_ELEM_F_INTERVAL_OPEN (1).
func intervalOpen() []byte {
	return binary.NativeEndian.AppendUint32([]byte{1, 4}, 1)
}

// Intervals returns the elements of an interval set holding ranges, as nft
// 1.0.6 sends them, and the size it sends with the set (Set.Size): the
// ranges sorted, overlapping and adjacent ones merged; an end element
// (IntervalEnd, the key after the range) after each range, and one at key 0
// first when the lowest range does not start at 0; a range that runs to the
// largest key has no end element and is marked open in its userdata. The
// size counts the elements as if every range had its end. Every key must
// have the same length.
func Intervals(ranges []KeyRange) (elems []SetElem, size uint32, err error) {
	if len(ranges) == 0 {
		return nil, 0, nil
	}
	n := len(ranges[0].From)
	rs := slices.Clone(ranges)
	for _, r := range rs {
		if len(r.From) != n || len(r.To) != n || n == 0 {
			return nil, 0, fmt.Errorf("range %x-%x: keys of %d bytes, want %d", r.From, r.To, len(r.To), n)
		}
		if bytes.Compare(r.From, r.To) > 0 {
			return nil, 0, fmt.Errorf("range %x-%x: reversed", r.From, r.To)
		}
	}
	slices.SortFunc(rs, func(a, b KeyRange) int { return bytes.Compare(a.From, b.From) })
	merged := rs[:1]
	for _, r := range rs[1:] {
		last := &merged[len(merged)-1]
		next, over := increment(last.To)
		if over || bytes.Compare(r.From, next) <= 0 {
			if bytes.Compare(r.To, last.To) > 0 {
				last.To = r.To
			}
			continue
		}
		merged = append(merged, r)
	}
	zero := make([]byte, n)
	if !bytes.Equal(merged[0].From, zero) {
		elems = append(elems, SetElem{Key: zero, IntervalEnd: true})
	}
	size = uint32(len(elems))
	for _, r := range merged {
		size += 2
		end, over := increment(r.To)
		if over {
			elems = append(elems, SetElem{Key: slices.Clone(r.From), UserData: intervalOpen()})
			continue
		}
		elems = append(elems, SetElem{Key: slices.Clone(r.From)}, SetElem{Key: end, IntervalEnd: true})
	}
	return elems, size, nil
}

// increment returns k+1 as a big-endian number of k's length, and whether
// it overflowed.
func increment(k []byte) ([]byte, bool) {
	out := slices.Clone(k)
	for i := len(out) - 1; i >= 0; i-- {
		out[i]++
		if out[i] != 0 {
			return out, false
		}
	}
	return out, true
}

// Ranges reads the elements of an interval set, as the kernel lists them
// (in any order), back into the ranges they hold, sorted.
func Ranges(elems []SetElem) []KeyRange {
	es := slices.Clone(elems)
	slices.SortStableFunc(es, func(a, b SetElem) int { return bytes.Compare(a.Key, b.Key) })
	var out []KeyRange
	for i := 0; i < len(es); i++ {
		if es[i].IntervalEnd {
			continue
		}
		r := KeyRange{From: es[i].Key}
		if i+1 < len(es) && es[i+1].IntervalEnd {
			r.To, _ = decrement(es[i+1].Key)
			i++
		} else {
			r.To = bytes.Repeat([]byte{0xff}, len(r.From)) // open: to the largest key
		}
		out = append(out, r)
	}
	return out
}

func decrement(k []byte) ([]byte, bool) {
	out := slices.Clone(k)
	for i := len(out) - 1; i >= 0; i-- {
		out[i]--
		if out[i] != 0xff {
			return out, false
		}
	}
	return out, true
}

// nft's set userdata: libnftnl's udata TLVs (NFTNL_UDATA_SET_*), with
// host-order u32 values.
const (
	udSetKeyByteorder = 0 // NFTNL_UDATA_SET_KEYBYTEORDER
	udSetMergeElems   = 2 // NFTNL_UDATA_SET_MERGE_ELEMENTS
	udSetKeyTypeof    = 3 // NFTNL_UDATA_SET_KEY_TYPEOF

	udTypeofExprType = 0 // NFTNL_UDATA_SET_TYPEOF_EXPR
	udTypeofData     = 1 // NFTNL_UDATA_SET_TYPEOF_DATA

	nftExprPayload = 7 // nft's EXPR_PAYLOAD: the key is typed by a payload expression

	byteorderBig = 2 // nft's BYTEORDER_BIG_ENDIAN
)

// nft's protocol description ids (enum proto_desc_id) of the protocol words
// of a port: the id nft keeps in a set's typeof userdata.
var protoDescIDs = map[string]uint32{
	"udp": 6,  // PROTO_DESC_UDP
	"tcp": 8,  // PROTO_DESC_TCP
	"th":  11, // PROTO_DESC_TH
}

// nft's payload template ids of a transport port (TCPHDR_SPORT, …; the same
// for udp and th).
var portTemplateIDs = map[Field]uint32{FieldTHSport: 1, FieldTHDport: 2}

func udU32(b []byte, typ byte, v uint32) []byte {
	return binary.NativeEndian.AppendUint32(append(b, typ, 4), v)
}

// setUserData is the userdata nft 1.0.6 gives an anonymous set of ports
// looked up by "PROTO FIELD { … }".
func setUserData(proto string, f Field, interval bool) []byte {
	b := udU32(nil, udSetKeyByteorder, byteorderBig)
	if interval {
		b = udU32(b, udSetMergeElems, 1)
	}
	var data []byte
	data = udU32(data, 0, protoDescIDs[proto])
	data = udU32(data, 1, portTemplateIDs[f])
	var typeof []byte
	typeof = udU32(typeof, udTypeofExprType, nftExprPayload)
	typeof = append(append(typeof, udTypeofData, byte(len(data))), data...)
	return append(append(b, udSetKeyTypeof, byte(len(typeof))), typeof...)
}

// lookupSet returns the set a Lookup that checkLookup accepted looks up,
// as nft sends it for the text "PROTO FIELD { … }", with id.
func lookupSet(l Lookup, proto string, id uint32) Set {
	s := Set{Name: AnonymousSetName, ID: id, Flags: SetAnonymous | SetConstant, KeyType: KeyTypeInetService, KeyLen: 2}
	if proto == "icmp" || proto == "icmpv6" {
		proto = "th"
	}
	port := func(v uint32) []byte { return binary.BigEndian.AppendUint16(nil, uint16(v)) }
	if l.hasRange() {
		rs := make([]KeyRange, len(l.Elems))
		for i, e := range l.Elems {
			rs[i] = KeyRange{From: port(e.Lo), To: port(e.Hi)}
		}
		s.Flags |= SetInterval
		s.Elems, s.Size, _ = Intervals(rs) // checkLookup made them valid
	} else {
		for _, e := range l.Elems {
			s.Elems = append(s.Elems, SetElem{Key: port(e.Lo)})
		}
		s.Size = uint32(len(s.Elems))
	}
	s.UserData = setUserData(proto, l.Field, s.Flags&SetInterval != 0)
	return s
}

// nftLookupInv is NFT_LOOKUP_F_INV.
const nftLookupInv = 1

func lowerLookup(ae *nfnl.Encoder, l Lookup, id uint32) {
	fi, _ := fieldInfoOf(l.Field)
	putPayload(ae, fi.base, fi.offset, fi.size)
	at := ae.BeginExpr("lookup")
	ae.U32(attrLookupSreg, reg1)
	ae.String(attrLookupSet, AnonymousSetName)
	ae.U32(attrLookupSetID, id)
	if l.Neg {
		ae.U32(attrLookupFlags, nftLookupInv)
	}
	ae.EndExpr(at)
}

// LowerSets is Lower for a rule that may look up anonymous sets: it also
// returns the sets, in the order nft sends them before the rule, numbered
// from firstID (the first id the transaction has not given another set;
// nft starts each transaction at 1). A rule without lookups returns no sets.
// Lower(f) is LowerSets(f, 1) without the sets.
func (r Rule) LowerSets(f Family, firstID uint32) ([]byte, []Set, error) {
	if firstID == 0 {
		return nil, nil, &InvalidRuleError{Family: f, Match: -1, Reason: "set id 0 (ids start at 1)"}
	}
	buf := bufPool.Get().(*[]byte)
	ae := nfnl.Encoder{B: (*buf)[:0]}
	sets := &setAlloc{next: firstID}
	err := r.lowerSets(&ae, f, sets)
	var out []byte
	if err == nil {
		out = append(make([]byte, 0, len(ae.B)), ae.B...)
	}
	*buf = ae.B[:0]
	bufPool.Put(buf)
	if err != nil {
		return nil, nil, err
	}
	return out, sets.sets, nil
}

// setAlloc numbers the sets of the rules of one transaction.
type setAlloc struct {
	next uint32
	sets []Set
}

// HasLookup reports whether r looks up a set.
func (r Rule) HasLookup() bool {
	for _, m := range r.Matches {
		if _, ok := m.(Lookup); ok {
			return true
		}
	}
	return false
}

// LookupRef is what one lookup expression of a rule's wire expressions
// names: a set by its name (an anonymous set's real name, in what the
// kernel lists; AnonymousSetName in a transaction) and by its id in the
// transaction (0 when absent).
type LookupRef struct {
	Index int // of the expression in the list, from 0
	Name  string
	ID    uint32
}

// LookupRefs returns the sets the lookup expressions of exprs (an
// NFTA_RULE_EXPRESSIONS payload) refer to, in order: for a rule listed from
// the kernel, each anonymous set's real name.
func LookupRefs(exprs []byte) ([]LookupRef, error) {
	es, err := splitExprs(exprs)
	if err != nil {
		return nil, err
	}
	var out []LookupRef
	for i, e := range es {
		if e.name != "lookup" {
			continue
		}
		if e.bad != "" {
			return nil, fmt.Errorf("expression %d (lookup): %s", i+1, e.bad)
		}
		out = append(out, LookupRef{Index: i, Name: e.str[attrLookupSet], ID: uint32(e.u[attrLookupSetID])})
	}
	return out, nil
}

// A SetSource gives the set a lookup names, with its elements: by its name
// (for a rule the kernel lists, the name the kernel gave it: Conn.Sets and
// Conn.SetElements) or by its id in a transaction (for a rule as nft or
// LowerSets sends it, AnonymousSetName and Set.ID). It returns an error
// when it has no such set.
type SetSource func(name string, id uint32) (Set, error)

// ErrNoSetSource is the reason Raise gives for a lookup: its set's elements
// are not in the rule's expressions (RaiseSets takes them).
var ErrNoSetSource = errors.New("a lookup, whose set's elements RaiseSets needs")

// RaiseSets is Raise for a rule whose lookups name sets that sets gives.
func RaiseSets(f Family, exprs []byte, sets SetSource) (Rule, error) {
	es, err := splitExprs(exprs)
	if err != nil {
		return Rule{}, &NotUnderstoodError{Index: -1, Reason: err.Error()}
	}
	p := raiser{f: f, es: es, sets: sets}
	if f == FamilyIP || f == FamilyIP6 {
		p.nh = f
	}
	return p.rule()
}

// lookup reads the lookup after the load of the port f into register slot.
func (p *raiser) lookup(slot int, f Field) (Match, error) {
	i := p.i
	p.i++
	e := &p.es[i]
	if err := p.reads(i, attrLookupSreg, slot); err != nil {
		return nil, err
	}
	if e.has(attrLookupDreg) {
		return nil, p.fail(i, "a lookup in a map is not a match")
	}
	if !e.has(attrLookupSet) {
		return nil, p.fail(i, "a lookup without a set")
	}
	l := Lookup{Field: f}
	if e.has(attrLookupFlags) {
		switch e.u[attrLookupFlags] {
		case 0:
		case nftLookupInv:
			l.Neg = true
		default:
			return nil, p.fail(i, "lookup flags %#x", e.u[attrLookupFlags])
		}
	}
	if p.sets == nil {
		return nil, p.fail(i, "%v", ErrNoSetSource)
	}
	s, err := p.sets(e.str[attrLookupSet], uint32(e.u[attrLookupSetID]))
	if err != nil {
		return nil, p.fail(i, "set %s: %v", e.str[attrLookupSet], err)
	}
	if s.KeyLen != 2 || s.KeyType != KeyTypeInetService {
		return nil, p.fail(i, "set %s has keys of type %d and %d bytes, not ports", e.str[attrLookupSet], s.KeyType, s.KeyLen)
	}
	var elems []Interval
	if s.Flags&SetInterval != 0 {
		for _, r := range Ranges(s.Elems) {
			if len(r.From) != 2 || len(r.To) != 2 {
				return nil, p.fail(i, "set %s has a key of other than 2 bytes", e.str[attrLookupSet])
			}
			elems = append(elems, Interval{Lo: uint32(binary.BigEndian.Uint16(r.From)), Hi: uint32(binary.BigEndian.Uint16(r.To))})
		}
	} else {
		for _, el := range s.Elems {
			if len(el.Key) != 2 || el.IntervalEnd {
				return nil, p.fail(i, "set %s has an element that is not a port", e.str[attrLookupSet])
			}
			v := uint32(binary.BigEndian.Uint16(el.Key))
			elems = append(elems, Interval{Lo: v, Hi: v})
		}
	}
	l.Elems = CanonicalIntervals(elems)
	if len(l.Elems) < 2 {
		return nil, p.fail(i, "set %s has %d elements; nft writes fewer than 2 as a comparison", e.str[attrLookupSet], len(l.Elems))
	}
	return l, nil
}

// Equal reports whether the matches a and b are the same: == for every
// match type but Lookup, whose elements are compared one by one.
func Equal(a, b Match) bool {
	la, ok := a.(Lookup)
	if !ok {
		if _, ok := b.(Lookup); ok {
			return false
		}
		return a == b
	}
	lb, ok := b.(Lookup)
	return ok && la.Field == lb.Field && la.Neg == lb.Neg && slices.Equal(la.Elems, lb.Elems)
}

// EqualMatches reports whether a and b hold the same matches in the same
// order (Equal).
func EqualMatches(a, b []Match) bool {
	return slices.EqualFunc(a, b, Equal)
}

// BindLookups returns exprs with each lookup bound to the set it names, as
// the kernel dumps a rule it took: the set's real name (given by name, for
// the lookup's name and id in the transaction), and no set id. The other
// expressions are copied as they are. It is what a fake kernel needs
// (firewall/fakekernel); it fails when name has no set for a lookup.
func BindLookups(exprs []byte, name func(set string, id uint32) (string, bool)) ([]byte, error) {
	elems, err := nfnl.ExprList(exprs, 0)
	if err != nil {
		return nil, err
	}
	ae := nfnl.Encoder{}
	for i, el := range elems {
		x, err := nfnl.ParseExpr(el)
		if err != nil {
			return nil, fmt.Errorf("expression %d: %w", i+1, err)
		}
		if x.Name != "lookup" {
			at := ae.Nest(nfnl.AttrListElem)
			ae.B = append(ae.B, el.Data...)
			for len(ae.B)%4 != 0 {
				ae.B = append(ae.B, 0)
			}
			ae.End(at)
			continue
		}
		var set string
		var id, sreg, flags uint32
		hasFlags := false
		for _, a := range x.Attrs {
			switch a.Type {
			case attrLookupSet:
				set = nfnl.String(a.Data)
			case attrLookupSetID:
				id, _ = nfnl.U32(a.Data)
			case attrLookupSreg:
				sreg, _ = nfnl.U32(a.Data)
			case attrLookupFlags:
				flags, _ = nfnl.U32(a.Data)
				hasFlags = true
			default:
				return nil, fmt.Errorf("expression %d (lookup): attribute %d", i+1, a.Type)
			}
		}
		real, ok := name(set, id)
		if !ok {
			return nil, fmt.Errorf("expression %d (lookup): no set %s (id %d)", i+1, set, id)
		}
		at := ae.BeginExpr("lookup")
		ae.String(attrLookupSet, real)
		ae.U32(attrLookupSreg, sreg)
		if hasFlags {
			ae.U32(attrLookupFlags, flags)
		}
		ae.EndExpr(at)
	}
	return ae.B, nil
}

// DebugSetLines returns the lines nft --debug=netlink prints for an
// anonymous set it sends in table (libnftnl's set and element debug
// output): "NAME TABLE FLAGS size SIZE" (without " size SIZE" for a set
// sent without a size, Size 0, as nft 1.1.2 and later send one), "NAME
// TABLE 0", and one line with
// every element, each after a tab: "element KEY  : FLAGS [end]", the key
// in 32-bit words, FLAGS 1 for an interval end, and the element's
// userdata when it has some.
func DebugSetLines(table string, s Set) []string {
	head := s.Name + " " + table + " " + strconv.FormatUint(uint64(s.Flags), 10)
	if s.Size != 0 {
		head += " size " + strconv.FormatUint(uint64(s.Size), 10)
	}
	var b []byte
	for _, e := range s.Elems {
		b = append(b, "\telement "...)
		// appendWords writes "0x%08x " per word: libnftnl's elements
		// have no 0x.
		b = append(b, strings.TrimSpace(strings.ReplaceAll(string(appendWords(nil, e.Key)), "0x", ""))...)
		flags := "0"
		if e.IntervalEnd {
			flags = "1"
		}
		b = append(b, "  : "+flags+" [end]"...)
		if len(e.UserData) > 0 {
			b = append(b, "  "+DebugUserData(e.UserData)...)
		}
	}
	return []string{head, s.Name + " " + table + " 0", string(b)}
}

// appendJSON writes the lookup with "th" as the protocol word.
func (l Lookup) appendJSON(b []byte) []byte { return l.appendJSONIn(b, "th") }

// appendJSONIn writes the lookup as libnftables JSON, the anonymous set
// inline as nft 1.0.6 lists it: the port field of proto (as the text's
// word), "==" or "!=", and {"set": [V, {"range": [LO, HI]}, …]}.
func (l Lookup) appendJSONIn(b []byte, proto string) []byte {
	fi, ok := fieldInfoOf(l.Field)
	if !ok || fi.base != payloadTransport || fi.size != 2 {
		return appendJSONInvalid(b, "lookup of field "+strconv.FormatUint(uint64(l.Field), 10))
	}
	if proto == "icmp" || proto == "icmpv6" {
		proto = "th"
	}
	left := appendJSONString([]byte(`{"payload":{"protocol":`), proto)
	left = append(appendJSONString(append(left, `,"field":`...), fi.name), "}}"...)
	op := "=="
	if l.Neg {
		op = "!="
	}
	right := []byte(`{"set":[`)
	for i, e := range l.Elems {
		if i > 0 {
			right = append(right, ',')
		}
		if e.Hi != e.Lo {
			right = appendJSONValue(right, OpRange, e.Lo, e.Hi, appendJSONUint)
		} else {
			right = appendJSONUint(right, e.Lo)
		}
	}
	right = append(right, "]}"...)
	return appendJSONMatch(b, op, left, right)
}
