package parse

import (
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
)

// This file reads the NETMAP target, as iptables and ip6tables 1.8.9 read
// it (extensions/libipt_NETMAP.c, libip6t_NETMAP.c):
//
//	-j NETMAP --to ADDR[/MASK]
//
// --to is mandatory, comes once and never after "!". libxtables reads it as
// an XTTYPE_HOSTMASK: the address as getaddrinfo reads it (a host name
// too), the mask a prefix length (strtoul with base 0: 024 is 20, 0x18 is
// 24) or a dotted (ip6tables: colon) mask; no mask is /32 (/128). The rule
// keeps ADDR & MASK and ADDR | ~MASK, and iptables-save prints the first
// with the prefix length: --to 10.0.0.5/24 is saved as --to 10.0.0.0/24.
//
// Valid iptables that ctmatch refuses (Unsupported): host names and the
// inet_aton forms of addresses, as for -s; a mask with holes (255.0.255.0)
// and a number above the prefix length (33), which iptables 1.8.9 turns into
// /32 (the uint8 prefix length of xtopt_parse_mask is -1 and
// xtopt_parse_plenmask then keeps every bit) while 1.8.10 and later keep the
// holes; nft's text writes a prefix only.

// OptNetmapTo is NETMAP's --to ADDR[/MASK]; the option follows DSCP's.
const OptNetmapTo TargetOptionKind = 120

func init() {
	extOptionNames[OptNetmapTo] = "to"
	targetSpecs["NETMAP"] = []optSpec{
		{long: "to", what: "an address[/mask]", target: OptNetmapTo},
	}
}

// netmapValue reads --to ADDR[/MASK] into o.Addr (the address with the
// host bits cleared) and o.Num (the prefix length).
func (p *parser) netmapValue(v word, o *TargetOption) error {
	host, mask, hasMask := strings.Cut(v.val, "/")
	bits := 32
	if p.opts.Family == IPv6 {
		bits = 128
	}
	if lo, hi, ok := strings.Cut(host, "-"); ok {
		if _, err := netip.ParseAddr(lo); err == nil {
			if _, err := netip.ParseAddr(hi); err == nil {
				e := p.itemError(v, 0, host, "NETMAP maps to a network, not to the address range %s", host)
				e.Hint = "write --to ADDR/PREFIX, such as 10.0.0.0/24"
				return e
			}
		}
	}
	a, err := p.host(v, host)
	if err != nil {
		return err
	}
	n := bits
	if hasMask {
		off := len(host) + 1
		badMask := func() error {
			e := p.itemError(v, off, mask, "NETMAP: bad value for option \"--to\", neither a valid network mask nor valid CIDR (0-%d).", bits)
			e.Hint = fmt.Sprintf("write a prefix length 0-%d or a mask such as %s", bits, exampleMask(bits))
			return e
		}
		holes := func() error {
			e := p.itemError(v, off, mask, "mask %q is valid iptables, but not a prefix length 0-%d: iptables 1.8.9 loads it as /%d (every address mapped to one) and later iptables keep its holes, which nft's prefix to cannot write", mask, bits, bits)
			e.Kind = Unsupported
			e.Hint = fmt.Sprintf("write the prefix length meant, /%d for one address", bits)
			return e
		}
		if k, ok := parseCNumber(mask, uint64(bits)); ok {
			n = int(k)
		} else if m, err := netip.ParseAddr(mask); err == nil && m.Zone() == "" && m.BitLen() == bits && (bits == 128 || m.Is4()) {
			k, contiguous := maskBits(m)
			if !contiguous {
				return holes()
			}
			n = k
		} else if _, isNum := parseCNumber(mask, math.MaxUint32); isNum && bits == 32 {
			// getaddrinfo reads 33 as the dotted mask 0.0.0.33.
			e := p.itemError(v, off, mask, "mask %q is above 32: iptables reads it as the dotted mask inet_aton makes of it, not as a prefix length", mask)
			e.Kind = Unsupported
			e.Hint = "write a prefix length 0-32, or the mask as four decimal numbers"
			return e
		} else if bits == 32 && looksInetAton(mask) {
			return holes()
		} else {
			return badMask()
		}
	}
	o.Addr = netip.PrefixFrom(a, n).Masked().Addr()
	o.Num = uint32(n)
	return nil
}

// maskBits returns the number of leading one bits of m and whether every
// bit after them is zero.
func maskBits(m netip.Addr) (int, bool) {
	b := m.AsSlice()
	n := 0
	for n < len(b)*8 && b[n/8]&(0x80>>(n%8)) != 0 {
		n++
	}
	for i := n; i < len(b)*8; i++ {
		if b[i/8]&(0x80>>(i%8)) != 0 {
			return n, false
		}
	}
	return n, true
}

// NetmapPrefix returns the network a NETMAP target maps to (--to).
func (t *Target) NetmapPrefix() netip.Prefix {
	o := t.Option(OptNetmapTo)
	if o == nil {
		return netip.Prefix{}
	}
	return netip.PrefixFrom(o.Addr, int(o.Num))
}

// checkNetmap checks a NETMAP target as a whole: --to is mandatory.
func (p *parser) checkNetmap(t *Target) error {
	if t.Option(OptNetmapTo) == nil {
		return &Error{Pos: t.NamePos, Word: t.Name, Text: p.text, Msg: "NETMAP: option \"--to\" must be specified",
			Hint: "write --to ADDR/PREFIX, such as --to 10.0.0.0/24"}
	}
	return nil
}

// netmapOptions writes NETMAP's option as iptables-save prints it:
// --to ADDR/PREFIX.
func (p *printer) netmapOptions(t *Target) {
	p.word("--to")
	p.word(netmapString(t.Option(OptNetmapTo)))
}

func netmapString(o *TargetOption) string {
	if o == nil {
		return ""
	}
	return o.Addr.String() + "/" + strconv.FormatUint(uint64(o.Num), 10)
}
