package expr

import (
	"fmt"
	"io"
	"math/bits"
	"net/netip"
	"strconv"
)

// This file renders the IR as nft text: the body of an nft rule, as written
// after "add rule FAMILY TABLE CHAIN". The text is what nft 1.0.6 loads
// wherever 1.0.6 can express the rule, and it means exactly the IR:
//
//   - flag tests: "ct state related,new" (key & mask != 0) and
//     "ct state ! related,new" (key & mask == 0), never "!=", which compares
//     the whole value. Names are listed in nft's own order (ascending bits); a
//     mask with a bit that has no name here, or no bit at all, is written
//     "ct status & 0x200 != 0" / "ct status & 0x0 == 0".
//   - values: "ct direction reply", "ct original protocol != 6",
//     "ct reply proto-src 1000-2000", "ct original proto-dst != 1000-2000".
//     nft 1.0.6 parses a port match only after an L4 protocol equality
//     ("ct original protocol 6"), in inet tables only after "meta nfproto"
//     too; nft 1.0.7 and later parse it alone.
//   - addresses: "ct original ip saddr 10.1.2.3", "ct reply ip6 daddr
//     2001:db8::/32", "ct original ip saddr 0.0.0.0/0" (every packet with an
//     IPv4 conntrack), and for any other mask, or an address with bits outside
//     its mask, "ct original ip saddr & 255.0.255.0 == 10.0.5.0".
//   - expiration in milliseconds: "ct expiration 28000ms-28999ms"; from 10^8 ms
//     on, in days, hours, minutes, seconds and milliseconds
//     ("49d17h2m47s295ms"), because nft 1.0.6 takes at most 8 digits per time
//     component.
//
// Rendering cannot fail. A malformed IR (an unknown key, an operator the key
// does not take, an address of the wrong family, a nil match) renders with a
// parenthesised "(invalid …)" in place of the part that is wrong, which nft
// refuses to parse, so the text can never load with another meaning. Values
// that nft cannot express (a port above 65535, a reversed range) are written
// as they are and nft refuses them too.

// WriteText writes r as nft rule text: the matches in order, then "counter" if
// r.Counter, then the verdict, separated by single spaces, with no newline,
// e.g. "meta nfproto ipv4 ct state new counter accept". A rule with nothing in
// it writes nothing.
//
// The text is written with a single call to w.Write, whose error is ignored; a
// caller that needs it writes through something that keeps it, such as a
// bufio.Writer whose Flush reports it.
func (r Rule) WriteText(w io.Writer) {
	buf := bufPool.Get().(*[]byte)
	*buf = r.appendText((*buf)[:0])
	_, _ = w.Write(*buf)
	bufPool.Put(buf)
}

// String returns the nft text of r, as WriteText writes it.
func (r Rule) String() string { return string(r.appendText(nil)) }

// AppendText appends the nft text of r, as WriteText writes it, to b and
// returns the extended buffer.
func (r Rule) AppendText(b []byte) []byte { return r.appendText(b) }

// WriteText writes the match c as nft text, e.g. "ct state ! related,new",
// with a single call to w.Write whose error is ignored (see Rule.WriteText).
func (c Ct) WriteText(w io.Writer) { _, _ = w.Write(c.appendText(nil)) }

// String returns the nft text of the match c, e.g. "ct original proto-dst 22".
func (c Ct) String() string { return string(c.appendText(nil)) }

// WriteText writes the match n as nft text, "meta nfproto ipv4" or
// "meta nfproto ipv6", with a single call to w.Write whose error is ignored
// (see Rule.WriteText). nft accepts it only in inet tables.
func (n Nfproto) WriteText(w io.Writer) { _, _ = w.Write(n.appendText(nil)) }

// String returns the nft text of the match n, e.g. "meta nfproto ipv6".
func (n Nfproto) String() string { return string(n.appendText(nil)) }

// String returns the nft text of v: "accept", "drop", "return",
// "jump CHAIN", "goto CHAIN", or "" for VerdictNone. The chain name is written
// as it is: nft 1.0.6 parses only names that are plain identifiers and not
// nft keywords there (it takes no quoted names after jump and goto).
func (v Verdict) String() string { return string(v.appendText(nil)) }

func (r Rule) appendText(b []byte) []byte {
	start := len(b)
	sep := func(b []byte) []byte {
		if len(b) > start {
			b = append(b, ' ')
		}
		return b
	}
	for i, m := range r.Matches {
		switch m := m.(type) {
		case L4Proto:
			if impliedBy(r.Matches, i) {
				continue
			}
		case Payload:
			if neqMerges(r.Matches, i) {
				m = m.neqAsRange()
			}
			b = m.appendText(sep(b), transportProto(r.Matches, i))
			continue
		case Lookup:
			b = m.appendText(sep(b), transportProto(r.Matches, i))
			continue
		}
		b = appendMatch(sep(b), m)
	}
	if r.Counter {
		b = append(sep(b), "counter"...)
	}
	if len(r.Stmts) > 0 {
		inet := netFamily(r.Matches, FamilyInet) != 0
		for _, s := range r.Stmts {
			b = appendStmt(sep(b), s, inet)
		}
	}
	if r.Verdict.Kind != VerdictNone {
		b = r.Verdict.appendText(sep(b))
	}
	if r.Comment != "" {
		b = appendCommentText(sep(b), r.Comment)
	}
	return b
}

func appendMatch(b []byte, m Match) []byte {
	switch m := m.(type) {
	case Ct:
		return m.appendText(b)
	case Nfproto:
		return m.appendText(b)
	case L4Proto:
		return m.appendText(b)
	case Payload:
		return m.appendText(b, "th")
	case Exthdr:
		return m.appendText(b)
	case IfName:
		return m.appendText(b)
	case IPAddr:
		return m.appendText(b)
	case FibType:
		return m.appendText(b)
	case PktType:
		return m.appendText(b)
	case SkID:
		return m.appendText(b)
	case Mark:
		return m.appendText(b)
	case Limit:
		return m.appendText(b)
	case Lookup:
		return m.appendText(b, "th")
	case IPRange:
		return m.appendText(b)
	case EtherSaddr:
		return m.appendText(b)
	case IPsec:
		return m.appendText(b)
	}
	// nil, or a pointer to a match: the IR holds matches as values.
	return appendInvalid(b, fmt.Sprintf("match %T", m))
}

func (v Verdict) appendText(b []byte) []byte {
	switch v.Kind {
	case VerdictNone:
		return b
	case VerdictAccept:
		return append(b, "accept"...)
	case VerdictDrop:
		return append(b, "drop"...)
	case VerdictReturn:
		return append(b, "return"...)
	case VerdictJump, VerdictGoto:
		word := "jump"
		if v.Kind == VerdictGoto {
			word = "goto"
		}
		if v.Chain == "" {
			return appendInvalid(b, word+" without a chain")
		}
		return append(append(b, word+" "...), v.Chain...)
	}
	return appendInvalid(b, "verdict "+strconv.FormatUint(uint64(v.Kind), 10))
}

func (n Nfproto) appendText(b []byte) []byte {
	b = append(b, "meta nfproto "...)
	switch n.Family {
	case FamilyIP:
		return append(b, "ipv4"...)
	case FamilyIP6:
		return append(b, "ipv6"...)
	}
	return appendInvalid(b, "family "+strconv.FormatUint(uint64(n.Family), 10))
}

func (c Ct) appendText(b []byte) []byte {
	b = append(b, "ct "...)
	switch c.Key {
	case CtState:
		return appendFlags(append(b, "state "...), c.Op, c.Mask, stateNames)
	case CtStatus:
		return appendFlags(append(b, "status "...), c.Op, c.Mask, statusNames)
	case CtDirection:
		b = append(b, "direction "...)
		if c.Op == OpEq || c.Op == OpNeq {
			// Names for single values; nft parses no names in ranges.
			return c.appendValue(b, appendDirValue)
		}
		return c.appendValue(b, appendUint)
	case CtExpiration:
		return c.appendValue(append(b, "expiration "...), appendMillis)
	case CtProtocol:
		// The protocol is the same in both tuples; the IR reads the original.
		return c.appendValue(append(b, "original protocol "...), appendUint)
	case CtProtoSrc, CtProtoDst:
		b = appendDir(b, c.Dir)
		if c.Key == CtProtoSrc {
			b = append(b, " proto-src "...)
		} else {
			b = append(b, " proto-dst "...)
		}
		return c.appendValue(b, appendUint)
	case CtSrcIP, CtDstIP, CtSrcIP6, CtDstIP6:
		return c.appendAddr(appendDir(b, c.Dir))
	}
	return appendInvalid(b, "key "+strconv.FormatUint(uint64(c.Key), 10))
}

// flagName is the nft name of one bit of a flag key.
type flagName struct {
	bit  uint32
	name string
}

// stateNames and statusNames are in the order nft 1.0.6 lists the names:
// ascending bits.
var (
	stateNames = []flagName{
		{uint32(StateInvalid), "invalid"},
		{uint32(StateEstablished), "established"},
		{uint32(StateRelated), "related"},
		{uint32(StateNew), "new"},
		{uint32(StateUntracked), "untracked"},
	}
	statusNames = []flagName{
		{uint32(StatusExpected), "expected"},
		{uint32(StatusSeenReply), "seen-reply"},
		{uint32(StatusAssured), "assured"},
		{uint32(StatusConfirmed), "confirmed"},
		{uint32(StatusSNAT), "snat"},
		{uint32(StatusDNAT), "dnat"},
	}
)

// appendFlags writes a flag test: the names when every bit of mask has one
// (nft's implicit flag comparison, "! " for OpNone), otherwise the explicit
// "& 0xMASK != 0" or "== 0", which gives nft the same bitwise and cmp.
func appendFlags(b []byte, op Op, mask uint32, names []flagName) []byte {
	if op != OpAny && op != OpNone {
		return appendInvalid(b, "op "+strconv.FormatUint(uint64(op), 10))
	}
	var named uint32
	for _, n := range names {
		named |= n.bit
	}
	if mask == 0 || mask&^named != 0 {
		b = append(b, "& 0x"...)
		b = strconv.AppendUint(b, uint64(mask), 16)
		if op == OpAny {
			return append(b, " != 0"...)
		}
		return append(b, " == 0"...)
	}
	if op == OpNone {
		b = append(b, "! "...)
	}
	first := true
	for _, n := range names {
		if mask&n.bit == 0 {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		b = append(b, n.name...)
		first = false
	}
	return b
}

// appendValue writes the operator and the operands Lo (and Hi) of a numeric
// key, each written by val.
func (c Ct) appendValue(b []byte, val func([]byte, uint32) []byte) []byte {
	switch c.Op {
	case OpEq:
		return val(b, c.Lo)
	case OpNeq:
		return val(append(b, "!= "...), c.Lo)
	case OpRange:
		return val(append(val(b, c.Lo), '-'), c.Hi)
	case OpNotRange:
		return val(append(val(append(b, "!= "...), c.Lo), '-'), c.Hi)
	}
	return appendInvalid(b, "op "+strconv.FormatUint(uint64(c.Op), 10))
}

func appendUint(b []byte, v uint32) []byte { return strconv.AppendUint(b, uint64(v), 10) }

func appendDirValue(b []byte, v uint32) []byte {
	switch Dir(v) {
	case DirOriginal:
		return append(b, "original"...)
	case DirReply:
		return append(b, "reply"...)
	}
	return appendUint(b, v)
}

// timeUnits are the components of an nft time value, largest first.
var timeUnits = []struct {
	ms   uint32
	name string
}{
	{24 * 60 * 60 * 1000, "d"},
	{60 * 60 * 1000, "h"},
	{60 * 1000, "m"},
	{1000, "s"},
	{1, "ms"},
}

// appendMillis writes ms as an nft time value: "Nms" below 10^8 ms, otherwise
// in components with the zero ones left out ("1d3h46m40s"), since nft 1.0.6
// refuses a component of more than 8 digits.
func appendMillis(b []byte, ms uint32) []byte {
	if ms < 100_000_000 {
		return append(appendUint(b, ms), "ms"...)
	}
	for _, u := range timeUnits {
		if n := ms / u.ms; n != 0 {
			b = append(appendUint(b, n), u.name...)
			ms -= n * u.ms
		}
	}
	return b
}

func appendDir(b []byte, d Dir) []byte {
	switch d {
	case DirOriginal:
		return append(b, "original"...)
	case DirReply:
		return append(b, "reply"...)
	}
	return appendInvalid(b, "dir "+strconv.FormatUint(uint64(d), 10))
}

// appendAddr writes the rest of an address match, after the direction.
func (c Ct) appendAddr(b []byte) []byte {
	v4 := c.Key == CtSrcIP || c.Key == CtDstIP
	if v4 {
		b = append(b, " ip "...)
	} else {
		b = append(b, " ip6 "...)
	}
	if c.Key == CtSrcIP || c.Key == CtSrcIP6 {
		b = append(b, "saddr "...)
	} else {
		b = append(b, "daddr "...)
	}
	if c.Op != OpEq && c.Op != OpNeq {
		return appendInvalid(b, "op "+strconv.FormatUint(uint64(c.Op), 10))
	}
	if !addrOf(c.Addr, v4) || !addrOf(c.AddrMask, v4) {
		return appendInvalid(b, "address "+c.Addr.String()+" mask "+c.AddrMask.String())
	}
	if n := leadingOnes(c.AddrMask); prefixMasked(c.AddrMask, n) && prefixMasked(c.Addr, n) {
		// A prefix, or an exact address. nft sends /0 as bitwise & 0 and
		// cmp eq 0, the IR's own test.
		if c.Op == OpNeq {
			b = append(b, "!= "...)
		}
		b = c.Addr.AppendTo(b)
		if n != c.AddrMask.BitLen() {
			b = append(append(b, '/'), strconv.FormatUint(uint64(n), 10)...)
		}
		return b
	}
	// Any other mask, or an address with bits outside its mask (which never
	// matches; "10.1.2.3/8" would mask the address instead).
	b = c.AddrMask.AppendTo(append(b, "& "...))
	if c.Op == OpEq {
		b = append(b, " == "...)
	} else {
		b = append(b, " != "...)
	}
	return c.Addr.AppendTo(b)
}

// leadingOnes returns the number of leading one bits of mask.
func leadingOnes(mask netip.Addr) int {
	n := 0
	for _, m := range mask.AsSlice() {
		n += bits.LeadingZeros8(^m)
		if m != 0xff {
			break
		}
	}
	return n
}

// prefixMasked reports whether a has no bit set after its first n bits.
func prefixMasked(a netip.Addr, n int) bool {
	return netip.PrefixFrom(a, n).Masked().Addr() == a
}

// addrOf reports whether a is an address of the family of the key: IPv4, or
// IPv6 (IPv4-mapped included), without a zone.
func addrOf(a netip.Addr, v4 bool) bool {
	if a.Zone() != "" {
		return false
	}
	if v4 {
		return a.Is4()
	}
	return a.Is6()
}

// appendInvalid writes the part of a malformed IR that cannot be rendered, in
// a form nft refuses to parse.
func appendInvalid(b []byte, what string) []byte {
	return append(append(append(b, "(invalid "...), what...), ')')
}

// nft106Ports are the protocols after which nft 1.0.6 parses a ct port
// match: icmp, igmp, tcp, udp, dccp, esp, ah, icmpv6, comp, sctp, udplite
// (TestParsesInNft106Protocols tries all 255 with nft).
var nft106Ports = [...]uint32{1, 2, 6, 17, 33, 50, 51, 58, 108, 132, 136}

// ParsesInNft106 reports whether nft 1.0.6 can parse the rule's text as far
// as its matches go. It cannot parse a ct port match (ct original proto-dst
// 22) without an L4 protocol equality before it for a protocol it knows ports
// for; nft 1.0.7 and later can, and the rule's meaning needs no such test.
// (A statement that combines both marks, CombineMarks, needs nft 1.1.2; the
// rule's caveat says so, not this.)
func (r Rule) ParsesInNft106() bool {
	proto := false
	for _, m := range r.Matches {
		c, ok := m.(Ct)
		if !ok {
			continue
		}
		switch c.Key {
		case CtProtocol:
			for _, p := range nft106Ports {
				proto = proto || (c.Op == OpEq && c.Lo == p)
			}
		case CtProtoSrc, CtProtoDst:
			if !proto {
				return false
			}
		}
	}
	return true
}
