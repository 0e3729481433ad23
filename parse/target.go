package parse

import (
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
)

// This file reads the target extensions ctmatch translates, as iptables and
// ip6tables 1.8.9 read them (extensions/libipt_REJECT.c, libip6t_REJECT.c,
// libxt_MASQUERADE.c, libxt_NAT.c, libxt_REDIRECT.c):
//
//	-j REJECT [--reject-with TYPE]
//	-j MASQUERADE [--to-ports P[-Q]] [--random] [--random-fully]
//	-j SNAT --to-source A[-B][:P[-Q]] [--random] [--random-fully] [--persistent]
//	-j DNAT --to-destination A[-B][:P[-Q]] [--random] [--persistent]
//	-j REDIRECT [--to-ports P[-Q]] [--random]
//
// (ip6tables writes an address with ports in brackets: [A[-B]]:P[-Q].) Each
// option comes at most once, never after "!", and only after the -j that
// loads it. A port needs -p tcp, udp, sctp or dccp written before it, as
// iptables checks when it reads the option (it also takes icmp, and "!",
// which ctmatch does not translate). REJECT's tcp-reset needs -p tcp without
// "!" anywhere in the rule, as the kernel checks (ipt_REJECT, ip6t_REJECT).

// TargetOptionKind is an option of a target extension.
type TargetOptionKind uint8

// The target options, in the order iptables-save prints them.
const (
	OptRejectWith    TargetOptionKind = iota + 1 // --reject-with TYPE (REJECT)
	OptToSource                                  // --to-source A[-B][:P[-Q]] (SNAT)
	OptToDestination                             // --to-destination A[-B][:P[-Q]] (DNAT)
	OptToPorts                                   // --to-ports P[-Q] (MASQUERADE, REDIRECT)
	OptRandom                                    // --random
	OptRandomFully                               // --random-fully (MASQUERADE, SNAT)
	OptPersistent                                // --persistent (SNAT, DNAT)
)

var targetOptionNames = [...]string{
	OptRejectWith: "reject-with", OptToSource: "to-source", OptToDestination: "to-destination",
	OptToPorts: "to-ports", OptRandom: "random", OptRandomFully: "random-fully", OptPersistent: "persistent",
}

// String returns the option's long name without dashes: "reject-with".
func (k TargetOptionKind) String() string {
	if int(k) < len(targetOptionNames) && targetOptionNames[k] != "" {
		return targetOptionNames[k]
	}
	if n := extOptionNames[k]; n != "" {
		return n
	}
	return "option(" + strconv.Itoa(int(k)) + ")"
}

// MarshalText returns the option's long name.
func (k TargetOptionKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// RejectWith is what REJECT answers with (--reject-with).
type RejectWith uint8

// The answers of REJECT: iptables' (IPv4) and ip6tables' (IPv6); tcp-reset
// is both's.
const (
	RejectNetUnreachable   RejectWith = iota + 1 // icmp-net-unreachable: ICMP code 0
	RejectHostUnreachable                        // icmp-host-unreachable: ICMP code 1
	RejectProtoUnreachable                       // icmp-proto-unreachable: ICMP code 2
	RejectPortUnreachable                        // icmp-port-unreachable (iptables' default): ICMP code 3
	RejectNetProhibited                          // icmp-net-prohibited: ICMP code 9
	RejectHostProhibited                         // icmp-host-prohibited: ICMP code 10
	RejectAdminProhibited                        // icmp-admin-prohibited: ICMP code 13
	RejectTCPReset                               // tcp-reset: a TCP RST
	Reject6NoRoute                               // icmp6-no-route: ICMPv6 code 0
	Reject6AdmProhibited                         // icmp6-adm-prohibited: ICMPv6 code 1
	Reject6AddrUnreachable                       // icmp6-addr-unreachable: ICMPv6 code 3
	Reject6PortUnreachable                       // icmp6-port-unreachable (ip6tables' default): ICMPv6 code 4
	Reject6PolicyFail                            // icmp6-policy-fail: ICMPv6 code 5
	Reject6RejectRoute                           // icmp6-reject-route: ICMPv6 code 6
)

// rejectName is one line of iptables' reject_table: the name iptables-save
// prints, the alias it also takes, and the ICMP code.
type rejectName struct {
	with        RejectWith
	name, alias string
	code        uint8
}

// rejectNames4 and rejectNames6 are libipt_REJECT.c's and libip6t_REJECT.c's
// tables, in their order: a value is the first entry whose name or alias it
// is a prefix of, in any case ("p" is proto-unreach in iptables and
// port-unreach in ip6tables; "" is the first entry).
var (
	rejectNames4 = []rejectName{
		{RejectNetUnreachable, "icmp-net-unreachable", "net-unreach", 0},
		{RejectHostUnreachable, "icmp-host-unreachable", "host-unreach", 1},
		{RejectProtoUnreachable, "icmp-proto-unreachable", "proto-unreach", 2},
		{RejectPortUnreachable, "icmp-port-unreachable", "port-unreach", 3},
		{RejectNetProhibited, "icmp-net-prohibited", "net-prohib", 9},
		{RejectHostProhibited, "icmp-host-prohibited", "host-prohib", 10},
		{RejectTCPReset, "tcp-reset", "tcp-rst", 0},
		{RejectAdminProhibited, "icmp-admin-prohibited", "admin-prohib", 13},
	}
	rejectNames6 = []rejectName{
		{Reject6NoRoute, "icmp6-no-route", "no-route", 0},
		{Reject6AdmProhibited, "icmp6-adm-prohibited", "adm-prohibited", 1},
		{Reject6AddrUnreachable, "icmp6-addr-unreachable", "addr-unreach", 3},
		{Reject6PortUnreachable, "icmp6-port-unreachable", "port-unreach", 4},
		{RejectTCPReset, "tcp-reset", "tcp-reset", 0},
		{Reject6PolicyFail, "icmp6-policy-fail", "policy-fail", 5},
		{Reject6RejectRoute, "icmp6-reject-route", "reject-route", 6},
	}
)

func rejectEntry(w RejectWith) (rejectName, bool) {
	for _, t := range [][]rejectName{rejectNames4, rejectNames6} {
		for _, e := range t {
			if e.with == w {
				return e, true
			}
		}
	}
	return rejectName{}, false
}

// String returns the name iptables-save prints: "icmp-port-unreachable".
func (w RejectWith) String() string {
	if e, ok := rejectEntry(w); ok {
		return e.name
	}
	return "reject(" + strconv.Itoa(int(w)) + ")"
}

// MarshalText returns the name iptables-save prints.
func (w RejectWith) MarshalText() ([]byte, error) { return []byte(w.String()), nil }

// ICMPCode returns the ICMP (or ICMPv6) code of w, and false for tcp-reset.
func (w RejectWith) ICMPCode() (uint8, bool) {
	e, ok := rejectEntry(w)
	return e.code, ok && w != RejectTCPReset
}

// IPv6 reports whether w is one of ip6tables' ICMPv6 answers.
func (w RejectWith) IPv6() bool { return w >= Reject6NoRoute }

// TargetOption is one option of a target extension, as written, with its
// value read.
type TargetOption struct {
	Kind  TargetOptionKind `json:"option"`
	Flag  Pos              `json:"pos"`
	Value Word             `json:"value,omitzero"` // the value word; zero for the flags (--random …)

	Reject  RejectWith `json:"reject_with,omitempty"` // OptRejectWith
	Addr    netip.Addr `json:"addr,omitzero"`         // OptToSource, OptToDestination: the first address
	AddrMax netip.Addr `json:"addr_max,omitzero"`     // the last address of a range; invalid for one
	PortMin uint16     `json:"port_min,omitempty"`    // the ports, 0 for none
	PortMax uint16     `json:"port_max,omitempty"`
	end     Pos
	Text    string `json:"text,omitempty"` // the prefix of LOG and NFLOG, as iptables keeps it (log.go)
	Num     uint32 `json:"num,omitempty"`  // the number of --log-level and of NFLOG's numeric options; the value of MARK's and CONNMARK's
	Mask    uint32 `json:"mask,omitempty"` // the mask of --set-xmark and --set-mark (0xffffffff when not written)
}

// Pos returns the position of the option word.
func (o *TargetOption) Pos() Pos { return o.Flag }

// End returns the end of the option's value, or of the option word for
// the flags (--random …).
func (o *TargetOption) End() Pos { return o.end }

// Option returns the target's option of kind k, or nil.
func (t *Target) Option(k TargetOptionKind) *TargetOption {
	for _, o := range t.Options {
		if o.Kind == k {
			return o
		}
	}
	return nil
}

// targetSpecs are the options of each target extension ctmatch reads.
var targetSpecs = map[string][]optSpec{
	"REJECT": {
		{long: "reject-with", what: "a reject type", target: OptRejectWith},
	},
	"MASQUERADE": {
		{long: "to-ports", what: "a port or a port range", target: OptToPorts},
		{long: "random", target: OptRandom},
		{long: "random-fully", target: OptRandomFully},
	},
	"SNAT": {
		{long: "to-source", what: "an address, an address range, and optionally ports", target: OptToSource},
		{long: "random", target: OptRandom},
		{long: "random-fully", target: OptRandomFully},
		{long: "persistent", target: OptPersistent},
	},
	"DNAT": {
		{long: "to-destination", what: "an address, an address range, and optionally ports", target: OptToDestination},
		{long: "random", target: OptRandom},
		{long: "persistent", target: OptPersistent},
	},
	"REDIRECT": {
		{long: "to-ports", what: "a port or a port range", target: OptToPorts},
		{long: "random", target: OptRandom},
	},
}

// targetSpecsLoaded returns the options of the target loaded with -j, or nil.
func (p *parser) targetSpecsLoaded() []optSpec {
	if t := p.rule.Target; t != nil && t.Kind == TargetExtension {
		return targetSpecs[t.Name]
	}
	return nil
}

// targetSpecExact returns the loaded target's option named name exactly.
func (p *parser) targetSpecExact(name string) *optSpec {
	specs := p.targetSpecsLoaded()
	for i := range specs {
		if specs[i].long == name {
			return &specs[i]
		}
	}
	return nil
}

// natPortProtos are the protocols iptables takes NAT ports with: tcp, udp,
// sctp, dccp (and icmp, whose "ports" are the echo id, which ctmatch does
// not translate).
var natPortProtos = map[uint8]bool{6: true, 17: true, 132: true, 33: true}

// targetOption reads one option of the loaded target.
func (p *parser) targetOption(w word, neg *word, spec *optSpec, attached string, hasValue bool) error {
	t := p.rule.Target
	if neg != nil {
		return p.errorf(*neg, "%s: option \"--%s\" cannot be inverted", t.Name, spec.long)
	}
	if t.Option(spec.target) != nil {
		return p.errorf(w, "%s: option \"--%s\" can only be used once", t.Name, spec.long)
	}
	o := &TargetOption{Kind: spec.target, Flag: w.pos, end: w.end}
	t.Options = append(t.Options, o)
	if spec.what == "" {
		if hasValue {
			return p.errorf(w, "option --%s takes no value", spec.long)
		}
		return nil
	}
	v, err := p.value(w, spec, attached, hasValue)
	if err != nil {
		return err
	}
	o.Value, o.end = Word{Text: p.text[v.pos:v.end], At: v.pos}, v.end
	if spec.target == OptSetDSCP || spec.target == OptSetDSCPClass {
		return p.dscpValue(v, o)
	}
	if isMarkOption(spec.target) {
		return p.markTargetValue(v, o)
	}
	if isLogOption(spec.target) {
		return p.logValue(v, o)
	}
	if spec.target == OptNetmapTo {
		return p.netmapValue(v, o)
	}
	if isZoneOption(spec.target) {
		return p.zoneValue(v, o)
	}
	switch spec.target {
	case OptRejectWith:
		return p.rejectWith(v, o)
	case OptToPorts:
		if err := p.natPortsAllowed(v); err != nil {
			return err
		}
		o.PortMin, o.PortMax, err = p.natPorts(v, v.val, 0)
		return err
	}
	return p.natRange(v, o)
}

// rejectWith reads REJECT's TYPE as iptables does: the first entry of the
// family's table whose name or alias starts with it, in any case.
func (p *parser) rejectWith(v word, o *TargetOption) error {
	table := rejectNames4
	if p.opts.Family == IPv6 {
		table = rejectNames6
	}
	low := strings.ToLower(v.val)
	for _, e := range table {
		if strings.HasPrefix(e.name, low) || strings.HasPrefix(e.alias, low) {
			o.Reject = e.with
			return nil
		}
	}
	e := p.errorf(v, "unknown reject type %q", v.val)
	names := make([]string, len(table))
	for i, t := range table {
		names[i] = t.name
	}
	e.Hint = "expected one of " + strings.Join(names, ", ")
	if low == "echo-reply" || low == "echoreply" {
		e.Hint = "--reject-with echo-reply is no longer supported by iptables"
	}
	return e
}

// natPortsAllowed checks that -p, written before, is a protocol with ports.
func (p *parser) natPortsAllowed(v word) error {
	pr := p.rule.Protocol
	if pr == nil || pr.Num == 0 || !natPortProtos[pr.Num] && pr.Num != 1 {
		e := p.errorf(v, "need TCP, UDP, SCTP or DCCP with port specification")
		e.Hint = "write -p tcp (or udp, sctp, dccp) before the target"
		return e
	}
	if pr.Negated || pr.Num == 1 {
		e := p.errorf(v, "ports with %s-p %s are valid iptables, but ctmatch does not translate them: nft maps ports only after a test that the packet is of one protocol with ports", map[bool]string{true: "! ", false: ""}[pr.Negated], pr.Name())
		e.Kind = Unsupported
		return e
	}
	return nil
}

// natPorts reads P[-Q] at offset off of v: the first port a number or a
// service name, the last a number; reversed, or with ":" between them, it
// is invalid; port 0 is valid iptables that ctmatch does not translate.
func (p *parser) natPorts(v word, s string, off int) (uint16, uint16, error) {
	if i := strings.IndexByte(s, ':'); i >= 0 {
		return 0, 0, p.itemError(v, off+i, s[i:i+1], "invalid port:port syntax: use a dash (%s)", s)
	}
	lo, hi := s, ""
	i := strings.IndexByte(s, '-')
	if i >= 0 {
		lo, hi = s[:i], s[i+1:]
	}
	min, err := p.natPort(v, lo, off, true)
	if err != nil {
		return 0, 0, err
	}
	max := min
	if i >= 0 {
		if max, err = p.natPort(v, hi, off+i+1, false); err != nil {
			return 0, 0, err
		}
		if max < min {
			return 0, 0, p.itemError(v, off+i+1, hi, "port range %s-%s is reversed", lo, hi)
		}
	}
	if min == 0 {
		e := p.itemError(v, off, lo, "port 0 is valid iptables, but ctmatch does not translate it: nft takes no port 0 in a NAT mapping")
		e.Kind = Unsupported
		return 0, 0, e
	}
	return min, max, nil
}

func (p *parser) natPort(v word, s string, off int, name bool) (uint16, error) {
	if name {
		if port, ok := p.opts.Resolver.Service(s); ok {
			return port, nil
		}
	}
	if n, ok := parseCNumber(s, math.MaxUint16); ok {
		return uint16(n), nil
	}
	return 0, p.itemError(v, off, s, "port %q not valid", s)
}

// natRange reads --to-source or --to-destination: A[-B][:P[-Q]], or for
// ip6tables A[-B] and [A[-B]][:P[-Q]].
func (p *parser) natRange(v word, o *TargetOption) error {
	s := v.val
	addrs, ports, portsOff := s, "", -1
	if p.opts.Family == IPv6 {
		if strings.HasPrefix(s, "[") {
			end := strings.IndexByte(s, ']')
			if end < 0 {
				return p.itemError(v, 0, s, "bad IPv6 address %q: no ]", s)
			}
			addrs = s[1:end]
			rest := s[end+1:]
			switch {
			case rest == "":
			case rest[0] == ':':
				ports, portsOff = rest[1:], end+2
			default:
				return p.itemError(v, end+1, rest, "port %q not valid", rest)
			}
		}
	} else if i := strings.IndexByte(s, ':'); i >= 0 {
		addrs, ports, portsOff = s[:i], s[i+1:], i+1
	}
	if strings.IndexByte(ports, '/') >= 0 {
		e := p.itemError(v, portsOff+strings.IndexByte(ports, '/'), ports[strings.IndexByte(ports, '/'):], "a port range shifted by a base port (/BASE) is valid iptables, but ctmatch does not translate it yet")
		e.Kind = Unsupported
		return e
	}
	if portsOff >= 0 {
		if err := p.natPortsAllowed(v); err != nil {
			return err
		}
	}
	addrOff := 0
	if p.opts.Family == IPv6 && strings.HasPrefix(s, "[") {
		addrOff = 1
	}
	if addrs == "" && portsOff >= 0 {
		e := p.itemError(v, 0, s, "ports without an address are valid iptables, but ctmatch does not translate them")
		e.Kind = Unsupported
		return e
	}
	lo, hi := addrs, ""
	dash := strings.IndexByte(addrs, '-')
	if dash >= 0 {
		lo, hi = addrs[:dash], addrs[dash+1:]
	}
	a, err := p.natAddr(v, lo, addrOff)
	if err != nil {
		return err
	}
	o.Addr = a
	if dash >= 0 {
		b, err := p.natAddr(v, hi, addrOff+dash+1)
		if err != nil {
			return err
		}
		if b.Less(a) {
			e := p.itemError(v, addrOff, addrs, "the reversed address range %s is valid iptables, but ctmatch does not translate it", addrs)
			e.Kind = Unsupported
			return e
		}
		if b != a {
			o.AddrMax = b
		}
	}
	if portsOff >= 0 {
		o.PortMin, o.PortMax, err = p.natPorts(v, ports, portsOff)
		return err
	}
	return nil
}

func (p *parser) natAddr(v word, s string, off int) (netip.Addr, error) {
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" || a.Is4() != (p.opts.Family != IPv6) || a.Is4In6() {
		return netip.Addr{}, p.itemError(v, off, s, "bad IP address %q", s)
	}
	return a, nil
}

// checkTarget checks, once every word is read, what iptables and the kernel
// check of the target as a whole: SNAT and DNAT need their address, and
// tcp-reset needs -p tcp without "!" (ipt_REJECT's and ip6t_REJECT's
// checkentry: "TCP_RESET invalid for non-tcp").
func (p *parser) checkTarget() error {
	t := p.rule.Target
	if t == nil || t.Kind != TargetExtension {
		return nil
	}
	word := func() *Error {
		return &Error{Pos: t.NamePos, Word: t.Name, Text: p.text}
	}
	switch t.Name {
	case "MARK", "CONNMARK":
		return p.checkMarkTarget(t)
	case "CT":
		return p.checkCT(t)
	case "DSCP":
		return p.checkDSCP(t)
	case "NETMAP":
		return p.checkNetmap(t)
	case "SNAT", "DNAT":
		k := OptToSource
		if t.Name == "DNAT" {
			k = OptToDestination
		}
		if t.Option(k) == nil {
			e := word()
			e.Msg = fmt.Sprintf("%s: option \"--%s\" must be specified", t.Name, k)
			return e
		}
	case "REJECT":
		o := t.Option(OptRejectWith)
		if o == nil || o.Reject != RejectTCPReset {
			return nil
		}
		if pr := p.rule.Protocol; pr == nil || pr.Num != 6 || pr.Negated {
			e := &Error{Pos: o.Value.At, Word: o.Value.Text, Text: p.text,
				Msg: "--reject-with tcp-reset needs -p tcp (without !): the kernel refuses it for a rule that may see other protocols"}
			return e
		}
	}
	return nil
}

// appendTarget writes the target's options as iptables-save prints them.
func (p *printer) targetOptions(t *Target) {
	if t.Kind != TargetExtension {
		return
	}
	if t.Name == "LOG" || t.Name == "NFLOG" {
		p.logOptions(t)
		return
	}
	if t.Name == "MARK" || t.Name == "CONNMARK" {
		p.markOptions(t)
		return
	}
	if t.Name == "CT" {
		p.ctOptions(t)
		return
	}
	if t.Name == "DSCP" {
		p.dscpOptions(t)
		return
	}
	if t.Name == "NETMAP" {
		p.netmapOptions(t)
		return
	}
	if t.Name == "REJECT" {
		w := RejectPortUnreachable
		if o := t.Option(OptRejectWith); o != nil {
			w = o.Reject
		} else if t.v6 {
			w = Reject6PortUnreachable
		}
		p.word("--reject-with")
		p.word(w.String())
		return
	}
	for k := OptToSource; k <= OptPersistent; k++ {
		o := t.Option(k)
		if o == nil {
			continue
		}
		p.word("--" + k.String())
		switch k {
		case OptToSource, OptToDestination:
			p.word(o.natString())
		case OptToPorts:
			p.word(portsString(o.PortMin, o.PortMax))
		}
	}
}

func portsString(lo, hi uint16) string {
	s := strconv.FormatUint(uint64(lo), 10)
	if hi != lo {
		s += "-" + strconv.FormatUint(uint64(hi), 10)
	}
	return s
}

// ValueString returns the option's value as iptables-save prints it: the
// reject type, the ports P[-Q], or A[-B][:P[-Q]] (with the addresses in
// brackets for IPv6 with ports); "" for the flags.
func (o *TargetOption) ValueString() string {
	switch o.Kind {
	case OptRejectWith:
		return o.Reject.String()
	case OptToPorts:
		return portsString(o.PortMin, o.PortMax)
	case OptToSource, OptToDestination:
		return o.natString()
	case OptLogPrefix, OptNflogPrefix:
		return o.Text
	case OptNetmapTo:
		return netmapString(o)
	case OptLogLevel, OptNflogGroup, OptNflogRange, OptNflogSize, OptNflogThreshold:
		return strconv.FormatUint(uint64(o.Num), 10)
	}
	return ""
}

// natString returns A[-B][:P[-Q]], with the addresses in brackets for IPv6
// with ports.
func (o *TargetOption) natString() string {
	var b strings.Builder
	bracket := o.Addr.Is6() && o.PortMin != 0
	if bracket {
		b.WriteByte('[')
	}
	b.WriteString(o.Addr.String())
	if o.AddrMax.IsValid() {
		b.WriteByte('-')
		b.WriteString(o.AddrMax.String())
	}
	if bracket {
		b.WriteByte(']')
	}
	if o.PortMin != 0 {
		b.WriteByte(':')
		b.WriteString(portsString(o.PortMin, o.PortMax))
	}
	return b.String()
}
