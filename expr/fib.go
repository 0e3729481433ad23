package expr

import (
	"encoding/binary"
	"strconv"

	"github.com/ctmatch/ctmatch/internal/nfnl"
)

// This file holds nft's address type match, "fib saddr|daddr [. iif|. oif]
// type [!=] TYPE": the kernel's route type of the packet's source or
// destination address (nft_fib_ipv4.c nft_fib4_eval_type:
// inet_dev_addr_type(net, dev, addr), dev the input or output interface
// with ". iif" or ". oif", none without; nft_fib_ipv6.c for IPv6).

// Attributes and values of the fib expression.
const (
	attrFibDreg   = 1 // NFTA_FIB_DREG
	attrFibResult = 2 // NFTA_FIB_RESULT
	attrFibFlags  = 3 // NFTA_FIB_FLAGS

	fibResultAddrtype = 3 // NFT_FIB_RESULT_ADDRTYPE

	fibFlagSaddr = 1 << 0 // NFTA_FIB_F_SADDR
	fibFlagDaddr = 1 << 1 // NFTA_FIB_F_DADDR
	fibFlagMark  = 1 << 2 // NFTA_FIB_F_MARK
	fibFlagIif   = 1 << 3 // NFTA_FIB_F_IIF
	fibFlagOif   = 1 << 4 // NFTA_FIB_F_OIF
)

// FibIface is the interface a fib lookup is limited to.
type FibIface uint8

// The interfaces of a fib lookup.
const (
	FibNoIface FibIface = iota // no interface: "fib daddr type"
	FibIif                     // the input interface: "fib daddr . iif type"
	FibOif                     // the output interface: "fib daddr . oif type"
)

// The route types a fib type lookup gives (RTN_* of linux/rtnetlink.h).
const (
	RouteUnspec      uint32 = iota // RTN_UNSPEC: nft "unspec"
	RouteUnicast                   // RTN_UNICAST: "unicast"
	RouteLocal                     // RTN_LOCAL: "local"
	RouteBroadcast                 // RTN_BROADCAST: "broadcast"
	RouteAnycast                   // RTN_ANYCAST: "anycast"
	RouteMulticast                 // RTN_MULTICAST: "multicast"
	RouteBlackhole                 // RTN_BLACKHOLE: "blackhole"
	RouteUnreachable               // RTN_UNREACHABLE: "unreachable"
	RouteProhibit                  // RTN_PROHIBIT: "prohibit"
	RouteThrow                     // RTN_THROW: nft 1.0.6 has no name, "9"
	RouteNAT                       // RTN_NAT: "10"
	RouteXResolve                  // RTN_XRESOLVE: "11"
)

// routeTypeNames are nft 1.0.6's names of the route types (its
// fib_addrtype datatype); the types after them it reads and lists as
// numbers.
var routeTypeNames = []string{"unspec", "unicast", "local", "broadcast", "anycast", "multicast",
	"blackhole", "unreachable", "prohibit"}

// FibType is nft's "fib saddr type local", "fib daddr . iif type !=
// broadcast": the route type of the source (Src) or destination address,
// looked up with no interface or limited to the input or output interface,
// compared with Type (OpEq or OpNeq).
type FibType struct {
	Src   bool // saddr; daddr when false
	Iface FibIface
	Op    Op // OpEq or OpNeq
	Type  uint32
}

func (FibType) isMatch() {}

// String returns the nft text of the match.
func (m FibType) String() string { return string(m.appendText(nil)) }

func (m FibType) appendText(b []byte) []byte {
	b = append(b, "fib "...)
	if m.Src {
		b = append(b, "saddr"...)
	} else {
		b = append(b, "daddr"...)
	}
	switch m.Iface {
	case FibIif:
		b = append(b, " . iif"...)
	case FibOif:
		b = append(b, " . oif"...)
	}
	b = append(b, " type "...)
	switch m.Op {
	case OpEq:
	case OpNeq:
		b = append(b, "!= "...)
	default:
		return appendInvalid(b, "operator "+strconv.FormatUint(uint64(m.Op), 10))
	}
	if m.Type < uint32(len(routeTypeNames)) {
		return append(b, routeTypeNames[m.Type]...)
	}
	return strconv.AppendUint(b, uint64(m.Type), 10)
}

// flags are the lookup's NFTA_FIB_FLAGS.
func (m FibType) flags() uint32 {
	f := uint32(fibFlagDaddr)
	if m.Src {
		f = fibFlagSaddr
	}
	switch m.Iface {
	case FibIif:
		f |= fibFlagIif
	case FibOif:
		f |= fibFlagOif
	}
	return f
}

func checkFibType(m FibType) error {
	switch {
	case m.Op != OpEq && m.Op != OpNeq:
		return errOperator(m.Op, "fib type")
	case m.Iface > FibOif:
		return &fieldError{"fib interface " + strconv.FormatUint(uint64(m.Iface), 10)}
	}
	return nil
}

// lowerFibType appends the fib load and its cmp, as nft 1.0.6 sends them:
// flags, result and register, then the type in host byte order.
func lowerFibType(ae *nfnl.Encoder, m FibType) {
	at := ae.BeginExpr("fib")
	ae.U32(attrFibFlags, m.flags())
	ae.U32(attrFibResult, fibResultAddrtype)
	ae.U32(attrFibDreg, reg1)
	ae.EndExpr(at)
	op := uint32(cmpEq)
	if m.Op == OpNeq {
		op = cmpNeq
	}
	putCmp(ae, op, binary.NativeEndian.AppendUint32(nil, m.Type))
}

// fibType reads a fib type load and its cmp: one of saddr and daddr, at
// most one of iif and oif, compared for equality or inequality with a
// route type (4 bytes, host order).
func (p *raiser) fibType(i int) (Match, error) {
	e := &p.es[i]
	if err := p.only(i, attrFibDreg, attrFibResult, attrFibFlags); err != nil {
		return nil, err
	}
	if e.u[attrFibResult] != fibResultAddrtype {
		return nil, p.fail(i, "the only fib result ctmatch reads is the address type")
	}
	var m FibType
	switch f := e.u[attrFibFlags]; f &^ (fibFlagIif | fibFlagOif) {
	case fibFlagSaddr:
		m.Src = true
	case fibFlagDaddr:
	default:
		return nil, p.fail(i, "fib flags 0x%x: not one address of saddr and daddr", f)
	}
	switch e.u[attrFibFlags] & (fibFlagIif | fibFlagOif) {
	case fibFlagIif:
		m.Iface = FibIif
	case fibFlagOif:
		m.Iface = FibOif
	case fibFlagIif | fibFlagOif:
		return nil, p.fail(i, "fib with both iif and oif")
	}
	slot := regSlot(e.u[attrFibDreg])
	if slot < 0 || slot > 15 {
		return nil, p.fail(i, "fib loads into register %d", e.u[attrFibDreg])
	}
	p.i++
	j, err := p.cmp(i, slot)
	if err != nil {
		return nil, err
	}
	c := &p.es[j]
	switch c.u[attrCmpOp] {
	case cmpEq:
		m.Op = OpEq
	case cmpNeq:
		m.Op = OpNeq
	default:
		return nil, p.fail(j, "fib type is tested only for equality or inequality")
	}
	v := c.data[attrCmpData].value
	if len(v) != 4 {
		return nil, p.fail(j, "compares %d bytes of a fib type, not 4", len(v))
	}
	m.Type = binary.NativeEndian.Uint32(v)
	return m, nil
}

// fibDebug spells a fib expression as libnftnl 1.2.4 does:
// "fib daddr . iif type => reg 1 ".
func (e *wireExpr) fibDebug() ([]byte, bool) {
	if !e.has(attrFibFlags) || !e.has(attrFibResult) || !e.has(attrFibDreg) {
		return nil, false
	}
	f := e.u[attrFibFlags]
	if f&^(fibFlagSaddr|fibFlagDaddr|fibFlagMark|fibFlagIif|fibFlagOif) != 0 {
		return nil, false
	}
	var b []byte
	for _, n := range []struct {
		bit  uint64
		name string
	}{{fibFlagSaddr, "saddr "}, {fibFlagDaddr, "daddr "}, {fibFlagMark, ". mark "}, {fibFlagIif, ". iif "}, {fibFlagOif, ". oif "}} {
		if f&n.bit != 0 {
			b = append(b, n.name...)
		}
	}
	switch e.u[attrFibResult] {
	case 1:
		b = append(b, "oif"...)
	case 2:
		b = append(b, "oifname"...)
	case fibResultAddrtype:
		b = append(b, "type"...)
	default:
		return nil, false
	}
	b = strconv.AppendUint(append(b, " => reg "...), e.u[attrFibDreg], 10)
	return append(b, ' '), true
}

func (m FibType) appendJSON(b []byte) []byte {
	left := []byte(`{"fib":{"result":"type","flags":["`)
	if m.Src {
		left = append(left, "saddr"...)
	} else {
		left = append(left, "daddr"...)
	}
	switch m.Iface {
	case FibIif:
		left = append(left, `","iif`...)
	case FibOif:
		left = append(left, `","oif`...)
	}
	left = append(left, `"]}}`...)
	if m.Op != OpEq && m.Op != OpNeq {
		return appendJSONInvalid(b, "operator "+strconv.FormatUint(uint64(m.Op), 10))
	}
	op, _ := jsonOp(m.Op)
	right := appendJSONUint(nil, m.Type)
	if m.Type < uint32(len(routeTypeNames)) {
		right = appendJSONString(nil, routeTypeNames[m.Type])
	}
	return appendJSONMatch(b, op, left, right)
}
