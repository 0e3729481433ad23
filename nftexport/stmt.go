package nftexport

import (
	"encoding/binary"

	nftexpr "github.com/google/nftables/expr"
	"golang.org/x/sys/unix"

	"github.com/ctmatch/ctmatch/expr"
)

// exportStmt appends the google/nftables v0.3.0 expressions of one
// statement: the immediates that load its values into registers 1, 2, …
// and the statement, as ctmatch's own Lower sends them. v0.3.0's Masq sends
// no flags at all when it has ports (no NF_NAT_RANGE_PROTO_SPECIFIED, no
// random): a masquerade with ports is refused.
func exportStmt(exprs []nftexpr.Any, s expr.Stmt) ([]nftexpr.Any, string) {
	reg := uint32(1)
	load := func(v []byte) uint32 {
		r := reg
		exprs = append(exprs, &nftexpr.Immediate{Register: r, Data: v})
		reg++
		return r
	}
	ports := func(p expr.Ports) (min, max uint32) {
		if p.IsZero() {
			return 0, 0
		}
		min = load(binary.BigEndian.AppendUint16(nil, p.Min))
		if p.Max != p.Min {
			max = load(binary.BigEndian.AppendUint16(nil, p.Max))
		}
		return min, max
	}
	switch s := s.(type) {
	case expr.Reject:
		return append(exprs, &nftexpr.Reject{Type: uint32(s.Type), Code: s.Code}), ""
	case expr.NAT:
		n := &nftexpr.NAT{Type: nftexpr.NATTypeSourceNAT, Family: unix.NFPROTO_IPV4,
			Random: s.Flags&expr.NATRandom != 0, FullyRandom: s.Flags&expr.NATFullyRandom != 0,
			Persistent: s.Flags&expr.NATPersistent != 0, Specified: !s.Ports.IsZero()}
		if s.Type == expr.DNAT {
			n.Type = nftexpr.NATTypeDestNAT
		}
		if !s.Addr.Is4() {
			n.Family = unix.NFPROTO_IPV6
		}
		n.RegAddrMin = load(s.Addr.AsSlice())
		if s.AddrMax.IsValid() {
			n.RegAddrMax = load(s.AddrMax.AsSlice())
		}
		n.RegProtoMin, n.RegProtoMax = ports(s.Ports)
		return append(exprs, n), ""
	case expr.Masquerade:
		if !s.Ports.IsZero() {
			return nil, "google/nftables v0.3.0 sends a masquerade with ports without any flag: without NF_NAT_RANGE_PROTO_SPECIFIED the ports are not mapped, and --random and --random-fully are lost"
		}
		return append(exprs, &nftexpr.Masq{Random: s.Flags&expr.NATRandom != 0, FullyRandom: s.Flags&expr.NATFullyRandom != 0,
			Persistent: s.Flags&expr.NATPersistent != 0}), ""
	case expr.Redirect:
		r := &nftexpr.Redir{}
		r.RegisterProtoMin, r.RegisterProtoMax = ports(s.Ports)
		var f uint32
		if !s.Ports.IsZero() {
			f |= unix.NF_NAT_RANGE_PROTO_SPECIFIED
		}
		if s.Flags&expr.NATRandom != 0 {
			f |= unix.NF_NAT_RANGE_PROTO_RANDOM
		}
		if s.Flags&expr.NATFullyRandom != 0 {
			f |= unix.NF_NAT_RANGE_PROTO_RANDOM_FULLY
		}
		if s.Flags&expr.NATPersistent != 0 {
			f |= unix.NF_NAT_RANGE_PERSISTENT
		}
		r.Flags = f
		return append(exprs, r), ""
	case expr.Log, expr.LogGroup:
		return append(exprs, exportLog(s)), ""
	case expr.SetMark:
		return append(exprs, exportSetMark(s)...), ""
	case expr.Notrack:
		return append(exprs, &nftexpr.Notrack{}), ""
	case expr.SetDSCP:
		return append(exprs, exportDSCP(s)...), ""
	case expr.Netmap:
		return exportNetmap(exprs, s), ""
	case expr.SetCtZone:
		if s.Dir != expr.ZoneBoth {
			return nil, "google/nftables v0.3.0's Ct sends NFTA_CT_DIRECTION only for the address and port keys (and as 4 bytes), not for the zone a direction of CT's --zone-orig or --zone-reply needs"
		}
		return append(exprs, exportCtZone(s)...), ""
	case expr.CombineMarks:
		return nil, "google/nftables v0.3.0's Bitwise has no second source register (NFTA_BITWISE_SREG2) nor operation, which a statement that combines both marks needs"
	}
	return nil, "a statement ctmatch does not export"
}

// exportLog returns v0.3.0's Log for a log statement: Key names the
// attributes it sends, as ctmatch's Lower sends them (no level 4, no flags
// 0, no threshold 0).
func exportLog(s expr.Stmt) *nftexpr.Log {
	l := &nftexpr.Log{}
	prefix := func(p string) {
		if p != "" {
			l.Key |= 1 << unix.NFTA_LOG_PREFIX
			l.Data = []byte(p)
		}
	}
	switch s := s.(type) {
	case expr.Log:
		prefix(s.Prefix)
		if s.Level != expr.LogLevelDefault {
			l.Key |= 1 << unix.NFTA_LOG_LEVEL
			l.Level = nftexpr.LogLevel(s.Level)
		}
		if s.Flags != 0 {
			l.Key |= 1 << unix.NFTA_LOG_FLAGS
			l.Flags = nftexpr.LogFlags(s.Flags)
		}
	case expr.LogGroup:
		prefix(s.Prefix)
		l.Key |= 1 << unix.NFTA_LOG_GROUP
		l.Group = s.Group
		if s.HasSnaplen {
			l.Key |= 1 << unix.NFTA_LOG_SNAPLEN
			l.Snaplen = s.Snaplen
		}
		if s.QThreshold != 0 {
			l.Key |= 1 << unix.NFTA_LOG_QTHRESHOLD
			l.QThreshold = s.QThreshold
		}
	}
	return l
}

// exportSetMark returns v0.3.0's expressions of a mark set: an immediate or a
// load of the source mark (with a Bitwise, which v0.3.0 sends without
// NFTA_BITWISE_OP, the kernel's default NFT_BITWISE_MASK_XOR), then the set.
func exportSetMark(s expr.SetMark) []nftexpr.Any {
	mark := func(k expr.MarkKey, set bool) nftexpr.Any {
		if k == expr.MarkCt {
			return &nftexpr.Ct{Key: nftexpr.CtKeyMARK, Register: 1, SourceRegister: set}
		}
		return &nftexpr.Meta{Key: nftexpr.MetaKeyMARK, Register: 1, SourceRegister: set}
	}
	var out []nftexpr.Any
	if s.Src == 0 {
		out = append(out, &nftexpr.Immediate{Register: 1, Data: binary.NativeEndian.AppendUint32(nil, s.Xor)})
	} else {
		out = append(out, mark(s.Src, false))
		if s.Bitwise {
			out = append(out, &nftexpr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4,
				Mask: binary.NativeEndian.AppendUint32(nil, s.And), Xor: binary.NativeEndian.AppendUint32(nil, s.Xor)})
		}
	}
	return append(out, mark(s.Dst, true))
}

// exportDSCP returns v0.3.0's expressions of a DSCP set: the load of the
// network header's first two bytes, the bitwise that sets the DSCP bits,
// the write back (with the IPv4 checksum update), as ctmatch's Lower.
func exportDSCP(s expr.SetDSCP) []nftexpr.Any {
	mask, xor := []byte{0xff, 0x03}, []byte{0, s.DSCP << 2}
	write := &nftexpr.Payload{OperationType: nftexpr.PayloadWrite, SourceRegister: 1, Base: nftexpr.PayloadBaseNetworkHeader, Len: 2}
	if s.Family == expr.FamilyIP6 {
		mask, xor = []byte{0xf0, 0x3f}, []byte{s.DSCP >> 2, s.DSCP << 6}
	} else {
		write.CsumType, write.CsumOffset = nftexpr.CsumTypeInet, 10
	}
	return []nftexpr.Any{
		&nftexpr.Payload{DestRegister: 1, Base: nftexpr.PayloadBaseNetworkHeader, Len: 2},
		&nftexpr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 2, Mask: mask, Xor: xor},
		write,
	}
}

// exportCtZone returns v0.3.0's expressions of a zone set in both
// directions, as ctmatch's Lower: the guard ct state != untracked, the
// zone's immediate (2 bytes, host order), the ct set zone.
func exportCtZone(s expr.SetCtZone) []nftexpr.Any {
	return []nftexpr.Any{
		&nftexpr.Ct{Register: 1, Key: nftexpr.CtKeySTATE},
		&nftexpr.Cmp{Op: nftexpr.CmpOpNeq, Register: 1, Data: binary.NativeEndian.AppendUint32(nil, uint32(expr.StateUntracked))},
		&nftexpr.Immediate{Register: 1, Data: binary.NativeEndian.AppendUint16(nil, s.Zone)},
		&nftexpr.Ct{Register: 1, Key: nftexpr.CtKeyZONE, SourceRegister: true},
	}
}
