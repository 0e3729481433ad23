package parse

import (
	"fmt"
	"math"
	"net/netip"
	"strings"
)

// ctSpec is the part of an option's description that belongs to the conntrack
// match: which option it is and how its value is read.
type ctSpec struct {
	kind  OptionKind
	value func(p *parser, o *Option, v word) error
}

// ctSpecs is the conntrack match's dispatch table (revision 3), in canonical
// order.
var ctSpecs = []optSpec{
	{long: "ctstate", what: "a list of states", ct: &ctSpec{OptState, (*parser).states}},
	{long: "ctproto", what: "a protocol", ct: &ctSpec{OptProto, (*parser).proto}},
	{long: "ctorigsrc", what: "an address", ct: &ctSpec{OptOrigSrc, (*parser).addr}},
	{long: "ctorigdst", what: "an address", ct: &ctSpec{OptOrigDst, (*parser).addr}},
	{long: "ctreplsrc", what: "an address", ct: &ctSpec{OptReplSrc, (*parser).addr}},
	{long: "ctrepldst", what: "an address", ct: &ctSpec{OptReplDst, (*parser).addr}},
	{long: "ctorigsrcport", what: "a port or port range", ct: &ctSpec{OptOrigSrcPort, (*parser).ports}},
	{long: "ctorigdstport", what: "a port or port range", ct: &ctSpec{OptOrigDstPort, (*parser).ports}},
	{long: "ctreplsrcport", what: "a port or port range", ct: &ctSpec{OptReplSrcPort, (*parser).ports}},
	{long: "ctrepldstport", what: "a port or port range", ct: &ctSpec{OptReplDstPort, (*parser).ports}},
	{long: "ctstatus", what: "a list of statuses", ct: &ctSpec{OptStatus, (*parser).statuses}},
	{long: "ctexpire", what: "a time in seconds or a range", ct: &ctSpec{OptExpire, (*parser).expire}},
	{long: "ctdir", what: "ORIGINAL or REPLY", ct: &ctSpec{OptDir, (*parser).dir}},
}

// stateSpecs is the state match's only option.
var stateSpecs = []optSpec{
	{long: "state", what: "a list of states", ct: &ctSpec{OptState, (*parser).states}},
}

// options maps each kind to its conntrack spelling.
var options = func() [numOptions]struct{ name string } {
	var o [numOptions]struct{ name string }
	for _, s := range ctSpecs {
		o[s.ct.kind].name = s.long
	}
	return o
}()

func (p *parser) ctOption(w word, neg *word, spec *optSpec, attached string, hasValue bool) error {
	m := p.lastCT
	if spec.ct == stateSpecs[0].ct {
		m = p.lastState
	}
	p.cur = m
	if prev := m.Option(spec.ct.kind); prev != nil {
		return p.errorf(w, "option --%s can only be used once in a match", spec.long)
	}
	if neg != nil && !spec.ct.kind.Invertible() {
		return p.errorf(*neg, "option --%s cannot be negated", spec.long)
	}
	v, err := p.value(w, spec, attached, hasValue)
	if err != nil {
		return err
	}
	o := p.newOption()
	*o = Option{Kind: spec.ct.kind, Flag: w.pos, NegPos: NoPos, Value: Word{Text: p.text[v.pos:v.end], At: v.pos}}
	if neg != nil {
		o.Negated, o.NegPos = true, neg.pos
	}
	err = spec.ct.value(p, o, v)
	if e, ok := err.(*Error); ok && e.Kind == Invalid {
		return err
	}
	// A value that is valid iptables but Unsupported (a host name) still
	// gives the match its option, as far as iptables is concerned.
	p.addOption(m, o)
	m.end = max(m.end, v.end)
	return err
}

// addOption appends o to m's options, in the rule's pool when m's options
// are the pool's last or m has none yet.
func (p *parser) addOption(m *Conntrack, o *Option) {
	n, end := len(m.Options), len(p.ptrPool)
	switch {
	case end == cap(p.ptrPool), n > 0 && p.ptrOwner != m:
		m.Options = append(m.Options, o)
		return
	}
	p.ptrPool = append(p.ptrPool, o)
	m.Options = p.ptrPool[end-n : end+1 : end+1]
	p.ptrOwner = m
}

// newOption returns a zero Option from the rule's pool, or a new one when the
// pool is used up.
func (p *parser) newOption() *Option {
	if len(p.optionPool) == cap(p.optionPool) {
		return new(Option)
	}
	p.optionPool = p.optionPool[:len(p.optionPool)+1]
	return &p.optionPool[len(p.optionPool)-1]
}

// items splits a comma list, calling f with each item and its offset; an empty
// item is an error.
func (p *parser) items(o *Option, v word, what string, f func(item string, off int) error) error {
	example := "ESTABLISHED,RELATED"
	if what == "status" {
		example = "SEEN_REPLY,ASSURED"
	}
	o.Items = p.newItems(strings.Count(v.val, ",") + 1)
	rest, off := v.val, 0
	for {
		item, after, more := strings.Cut(rest, ",")
		o.Items = append(o.Items, v.at(off))
		if item == "" {
			return p.itemError(v, off, item, "empty %s in %q: expected a list with no spaces or empty items, such as %s", what, v.val, example)
		}
		if err := f(item, off); err != nil {
			return err
		}
		if !more {
			return nil
		}
		rest, off = after, off+len(item)+1
	}
}

// prefixOf reports whether item is a case-insensitive prefix of name, the way
// iptables' strncasecmp(item, name, len(item)) decides.
func prefixOf(item, name string) bool {
	return len(item) <= len(name) && strings.EqualFold(item, name[:len(item)])
}

// states reads --ctstate and --state: names or prefixes of names, any case.
func (p *parser) states(o *Option, v word) error {
	alias := p.cur.Alias()
	return p.items(o, v, "state", func(item string, off int) error {
		for _, n := range stateParseOrder {
			if alias && (n.bit == StateSNAT || n.bit == StateDNAT) {
				continue
			}
			if prefixOf(item, n.name) {
				o.States |= n.bit
				return nil
			}
		}
		e := p.itemError(v, off, item, "unknown conntrack state %q", item)
		e.Hint = "expected INVALID, NEW, ESTABLISHED, RELATED, UNTRACKED, SNAT or DNAT"
		if alias {
			e.Msg = fmt.Sprintf("unknown state %q", item)
			e.Hint = "-m state takes INVALID, NEW, ESTABLISHED, RELATED and UNTRACKED (SNAT and DNAT need -m conntrack --ctstate)"
		}
		return e
	})
}

// statuses reads --ctstatus.
func (p *parser) statuses(o *Option, v word) error {
	return p.items(o, v, "status", func(item string, off int) error {
		if prefixOf(item, "NONE") {
			return nil
		}
		for _, n := range statusOrder {
			if prefixOf(item, n.name) {
				o.Statuses |= n.bit
				return nil
			}
		}
		e := p.itemError(v, off, item, "unknown conntrack status %q", item)
		e.Hint = "expected NONE, EXPECTED, SEEN_REPLY, ASSURED or CONFIRMED"
		return e
	})
}

// proto reads --ctproto: a number 1-255 or a protocol name.
func (p *parser) proto(o *Option, v word) error {
	n, ok := parseCNumber(v.val, math.MaxUint8)
	if !ok && v.val == "all" {
		// libxtables' own name for protocol 0 (case-sensitive).
		n, ok = 0, true
	}
	if !ok {
		num, known := protocolNames.lookup(v.val)
		if !known {
			e := p.errorf(v, "unknown protocol %q", v.val)
			e.Hint = "expected a number 1-255 (decimal, 0x hex or 0 octal) or a name from /etc/protocols such as tcp, udp or icmp"
			return e
		}
		n = uint64(num)
	}
	if n == 0 {
		if o.Negated {
			return p.errorf(v, "! --ctproto %s would match every packet with a conntrack: protocol 0 is \"all\"", v.val)
		}
		return p.errorf(v, "--ctproto %s would never match: protocol 0 is \"all\"", v.val)
	}
	o.Proto = uint8(n)
	return nil
}

// dir reads --ctdir: ORIGINAL or REPLY, in any case, never abbreviated.
func (p *parser) dir(o *Option, v word) error {
	switch {
	case strings.EqualFold(v.val, "ORIGINAL"):
		o.Dir = DirOriginal
	case strings.EqualFold(v.val, "REPLY"):
		o.Dir = DirReply
	default:
		return p.errorf(v, "bad --ctdir %q: expected ORIGINAL or REPLY", v.val)
	}
	return nil
}

// ports reads a port option: P, P:Q, :Q, P: or :, each P a decimal number or a
// service name.
func (p *parser) ports(o *Option, v word) error {
	lo, hi, err := p.rangeOf(v, 0, math.MaxUint16, true, func(s string, off int) (uint64, error) {
		if s != "" && strings.Trim(s, "0123456789") == "" {
			n, ok := parseDecimal(s, math.MaxUint32)
			if !ok || n > math.MaxUint16 {
				return 0, p.itemError(v, off, s, "port %s is out of range: expected 0-65535", s)
			}
			return n, nil
		}
		port, ok := p.opts.Resolver.Service(s)
		if !ok {
			e := p.itemError(v, off, s, "unknown service %q", s)
			e.Hint = "expected a port number 0-65535 or a service name such as ssh or http"
			return 0, e
		}
		return uint64(port), nil
	})
	o.Lo, o.Hi = uint32(lo), uint32(hi)
	return err
}

// expire reads --ctexpire: A, A:B, :B, A: or :, in whole seconds.
func (p *parser) expire(o *Option, v word) error {
	lo, hi, err := p.rangeOf(v, 0, math.MaxUint32, true, func(s string, off int) (uint64, error) {
		n, ok := parseCNumber(s, math.MaxUint32)
		if !ok {
			return 0, p.itemError(v, off, s, "bad time %q: expected whole seconds 0-4294967295", s)
		}
		return n, nil
	})
	o.Lo, o.Hi = uint32(lo), uint32(hi)
	return err
}

// rangeOf reads "A", "A:B", ":B", "A:" and ":", with min and max standing in
// for a missing bound. A reversed range (lo above hi) is returned as it is
// when reversed is set, as libxt_conntrack of iptables 1.8.9 takes it for
// the conntrack ports and --ctexpire (the kernel's xt_conntrack then finds no
// value in it; iptables 1.8.13 refuses it), and is an error otherwise.
func (p *parser) rangeOf(v word, min, max uint64, reversed bool, num func(s string, off int) (uint64, error)) (lo, hi uint64, err error) {
	first, second, isRange := strings.Cut(v.val, ":")
	if i := strings.IndexByte(second, ':'); i >= 0 {
		off := len(first) + 1 + i
		return 0, 0, p.itemError(v, off, v.val[off:], "too many parts in %q: expected VALUE or LOW:HIGH", v.val)
	}
	lo, hi = min, max
	if first != "" {
		if lo, err = num(first, 0); err != nil {
			return 0, 0, err
		}
	}
	if !isRange {
		if first == "" {
			return 0, 0, p.errorf(v, "expected a value, found an empty word")
		}
		return lo, lo, nil
	}
	if second != "" {
		off := len(first) + 1
		if hi, err = num(second, off); err != nil {
			return 0, 0, err
		}
		if hi < lo && !reversed {
			return 0, 0, p.itemError(v, off, second, "reversed range %q: %d is below %d", v.val, hi, lo)
		}
	}
	return lo, hi, nil
}

// addr reads an address option: ADDR, ADDR/LEN or ADDR/MASK.
func (p *parser) addr(o *Option, v word) error {
	host, mask, hasMask := strings.Cut(v.val, "/")
	a, err := p.host(v, host)
	if err != nil {
		return err
	}
	bits := a.BitLen()
	m := netip.PrefixFrom(a, bits).Masked().Addr() // all zero, of a's family
	m = onesPrefix(m, bits)
	if hasMask {
		off := len(host) + 1
		if n, ok := parseCNumber(mask, uint64(bits)); ok {
			m = onesPrefix(m, int(n))
		} else if ma, err := netip.ParseAddr(mask); err == nil && ma.Zone() == "" && ma.BitLen() == bits && (bits == 128 || ma.Is4()) {
			m = ma
		} else {
			e := p.itemError(v, off, mask, "bad mask %q: expected a prefix length 0-%d or a mask such as %s", mask, bits, exampleMask(bits))
			if looksInetAton(mask) && bits == 32 {
				e.Kind = Unsupported
				e.Msg = fmt.Sprintf("mask %q is not a plain dotted quad: write it as four decimal numbers or a prefix length", mask)
				if _, isNum := parseCNumber(mask, math.MaxUint32); isNum {
					// iptables 1.8.10 and later read a number above 32 as
					// the dotted mask inet_aton makes of it (33 is 0.0.0.33).
					e.Msg = fmt.Sprintf("mask %q is above 32: iptables reads it as the dotted mask inet_aton makes of it, not as a prefix length", mask)
					e.Hint = "write a prefix length 0-32, or the mask as four decimal numbers"
				}
			}
			return e
		}
	}
	o.Addr = Addr{Addr: a, Mask: m}
	return nil
}

func exampleMask(bits int) string {
	if bits == 32 {
		return "255.255.0.0"
	}
	return "ffff:ffff::"
}

// onesPrefix returns an address of zero's family whose first n bits are set.
func onesPrefix(zero netip.Addr, n int) netip.Addr {
	b := zero.AsSlice()
	for i := range b {
		b[i] = 0
	}
	for i := 0; i < n; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	r, _ := netip.AddrFromSlice(b)
	return r
}

// host reads the address part of an address option.
func (p *parser) host(v word, s string) (netip.Addr, error) {
	v6 := p.opts.Family == IPv6
	if s == "" {
		return netip.Addr{}, p.itemError(v, 0, s, "expected an address before the mask, found nothing")
	}
	if a, err := netip.ParseAddr(s); err == nil && a.Zone() == "" {
		switch {
		case v6 && a.Is6():
			return a, nil
		case !v6 && a.Is4():
			return a, nil
		case v6:
			e := p.itemError(v, 0, s, "IPv4 address %s in an ip6tables rule: expected an IPv6 address", s)
			e.Hint = "an IPv4 address is for iptables words (without -6; in an ip or inet table)"
			return netip.Addr{}, e
		default:
			e := p.itemError(v, 0, s, "IPv6 address %s in an iptables rule: expected an IPv4 address", s)
			e.Hint = "an IPv6 address is for ip6tables words (-6; in an ip6 or inet table)"
			return netip.Addr{}, e
		}
	}
	if !v6 && looksInetAton(s) {
		e := p.itemError(v, 0, s, "address %q is not a plain dotted quad: iptables reads it the way inet_aton does", s)
		e.Kind = Unsupported
		e.Hint = "write the address as four decimal numbers, such as 10.0.0.1"
		return netip.Addr{}, e
	}
	if strings.ContainsAny(s, ":%") || !isHostname(s) {
		return netip.Addr{}, p.itemError(v, 0, s, "bad address %q: expected an %s address", s, map[bool]string{false: "IPv4", true: "IPv6"}[v6])
	}
	addrs, err := p.opts.Resolver.Host(s, p.opts.Family)
	if err != nil {
		e := p.itemError(v, 0, s, "host name %q: %v", s, err)
		e.Kind = Unsupported
		if err == ErrNoHostLookup {
			e.Msg = fmt.Sprintf("host name %q: ctmatch does not resolve names unless asked", s)
			e.Hint = "write an address, or pass --resolve to look the name up now"
		}
		return netip.Addr{}, e
	}
	if len(addrs) != 1 {
		e := p.itemError(v, 0, s, "host name %q resolves to %d addresses: expected exactly one", s, len(addrs))
		e.Kind = Unsupported
		return netip.Addr{}, e
	}
	return addrs[0], nil
}

// looksInetAton reports whether s is one to four dot-separated C numbers
// within inet_aton's limits: a form inet_aton reads (10.1.2, 010.0.0.1,
// 0x0a.0.0.1) but netip does not. Every part but the last is a byte; the
// last fills the remaining bytes (10.1.2 is 10.1.0.2), so 10.0.0.256 is not
// such a form.
func looksInetAton(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) > 4 {
		return false
	}
	for i, part := range parts {
		max := uint64(math.MaxUint8)
		if i == len(parts)-1 {
			max = 1<<(8*(5-len(parts))) - 1
		}
		if _, ok := parseCNumber(part, max); !ok {
			return false
		}
	}
	return true
}

// isHostname reports whether s is made of the characters of a DNS name.
func isHostname(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_') {
			return false
		}
	}
	return s != ""
}

// parseDecimal reads a decimal number of at most max.
func parseDecimal(s string, max uint64) (uint64, bool) {
	if s == "" {
		return 0, false
	}
	var n uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
		if n > max {
			return 0, false
		}
	}
	return n, true
}

// parseCNumber reads a number as C's strtoul with base 0 does (0x hex,
// leading-0 octal, else decimal), strictly: no sign, no blanks, nothing after
// it; at most max.
func parseCNumber(s string, max uint64) (uint64, bool) {
	base := uint64(10)
	digits := s
	switch {
	case len(s) > 2 && (s[:2] == "0x" || s[:2] == "0X"):
		base, digits = 16, s[2:]
	case len(s) > 1 && s[0] == '0':
		base, digits = 8, s[1:]
	}
	if digits == "" {
		return 0, false
	}
	var n uint64
	for i := 0; i < len(digits); i++ {
		d := uint64(36)
		switch c := digits[i]; {
		case c >= '0' && c <= '9':
			d = uint64(c - '0')
		case c >= 'a' && c <= 'f':
			d = uint64(c-'a') + 10
		case c >= 'A' && c <= 'F':
			d = uint64(c-'A') + 10
		}
		if d >= base {
			return 0, false
		}
		n = n*base + d
		if n > max {
			return 0, false
		}
	}
	return n, true
}
