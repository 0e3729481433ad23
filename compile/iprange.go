package compile

import (
	"fmt"
	"net/netip"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/parse"
)

// This file compiles the iprange match. The kernel facts (docs/semantics.md,
// "Address ranges", gives the source lines): xt_iprange.c's iprange_mt4
// tests, when --src-range is given, ntohl(saddr) < ntohl(min) ||
// ntohl(saddr) > ntohl(max), flipped by its own invert flag, and returns
// false when that holds; then the same for --dst-range. iprange_mt6 does
// the same with iprange_ipv6_lt, which compares the four 32-bit words in
// host order one after the other: the addresses' byte order. nft's "ip
// saddr A-B" loads the whole address (nft_payload.c) and compares it with
// cmp gte and cmp lte, "!= A-B" with range neq, both a memcmp of the bytes
// in network order (nft_cmp.c, nft_range.c): the same order, the same
// inclusive bounds, for every packet. The options are independent, so each
// is one expression.

// iprange compiles an iprange match: --src-range A-B is "ip saddr A-B",
// ! --dst-range A-B "ip daddr != A-B" (ip6 saddr, ip6 daddr for IPv6).
func iprange(m *parse.IPRange) []expr.Match {
	var out []expr.Match
	for _, o := range []struct {
		o   *parse.IPRangeOption
		dst bool
	}{{m.Src, false}, {m.Dst, true}} {
		if o.o == nil {
			continue
		}
		r := expr.IPRange{Dst: o.dst, Op: expr.OpRange, Lo: o.o.Lo, Hi: o.o.Hi}
		neg := o.o.Negated
		if o.o.Hi.Less(o.o.Lo) {
			// A reversed range holds no address: no packet (every packet
			// with !), which is the address outside (inside) the whole
			// address space.
			r.Lo, r.Hi = wholeSpace(o.o.Lo)
			neg = !o.o.Negated
		}
		if neg {
			r.Op = expr.OpNotRange
		}
		out = append(out, r)
	}
	return out
}

// wholeSpace returns the lowest and highest address of a's family.
func wholeSpace(a netip.Addr) (lo, hi netip.Addr) {
	if a.Is4() {
		return netip.IPv4Unspecified(), netip.AddrFrom4([4]byte{255, 255, 255, 255})
	}
	return netip.IPv6Unspecified(), netip.AddrFrom16([16]byte{255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255})
}

// iprangeWords returns the words of the iprange match at the start of ms:
// a source range, a destination range, or a source range and the
// destination range after it, as one match ("-m iprange --src-range A-B !
// --dst-range C-D"), and how many of ms they say.
func iprangeWords(ms []expr.Match) ([]string, int, error) {
	words := []string{"-m", "iprange"}
	n := 0
	for n < len(ms) && n < 2 {
		r, ok := ms[n].(expr.IPRange)
		if !ok || n == 1 && (!r.Dst || ms[0].(expr.IPRange).Dst) {
			break
		}
		if r.Op != expr.OpRange && r.Op != expr.OpNotRange || !r.Lo.IsValid() || r.Lo.Is4() != r.Hi.Is4() || r.Hi.Less(r.Lo) {
			return nil, 0, fmt.Errorf("%w: %v is no iprange match", ErrNotUnderstood, r)
		}
		if r.Op == expr.OpNotRange {
			words = append(words, "!")
		}
		opt := "--src-range"
		if r.Dst {
			opt = "--dst-range"
		}
		words = append(words, opt, r.Lo.String()+"-"+r.Hi.String())
		n++
	}
	return words, n, nil
}
