package parse

import (
	"strconv"
	"strings"
)

// This file reads "-s ADDR" and "-d ADDR" (--source, --src, --destination,
// --dst), as iptables 1.8.9 reads them (xtables_ipparse_multiple,
// xtables_ip6parse_multiple).

// Address is "[!] -s ADDR[/MASK]" or "[!] -d ADDR[/MASK]": the packet's source
// or destination address, under the mask, equals the address (the kernel's
// ip_packet_match: (ip->saddr & smsk) != src, inverted by "!"). As
// iptables does, the address is kept with its host bits cleared: iptables-save
// prints -s 10.1.2.3/8 as -s 10.0.0.0/8.
type Address struct {
	Dst bool `json:"dst"` // -d; -s when false
	FlagValue
	Addr Addr `json:"addr"` // host bits cleared; the first address of a list
	// List holds every address of a comma list ("-s 10.0.0.1,10.0.0.2"),
	// host bits cleared, in the order written, and Items the words of
	// each; both are nil for a single address. A rule with a list stands
	// for one iptables rule per address (Rule.Expand).
	List  []Addr `json:"list,omitempty"`
	Items []Word `json:"items,omitempty"`
}

// Flagword returns "-s" or "-d".
func (a *Address) Flagword() string {
	if a.Dst {
		return "-d"
	}
	return "-s"
}

// All reports whether the option matches every packet (a mask of zero
// bits, "-s 0.0.0.0/0"), which iptables-save does not print.
func (a *Address) All() bool { return a.Addr.Mask.IsUnspecified() && !a.Negated }

// Word returns the address as iptables-save prints it: "10.0.0.0/8",
// "10.1.2.3/32", "10.0.5.0/255.0.255.0", "2001:db8::/32".
func (a *Address) Word() string {
	s := a.Addr.Addr.String() + "/"
	if n := a.Addr.Bits(); n >= 0 {
		return s + strconv.Itoa(n)
	}
	return s + a.Addr.Mask.String()
}

// address reads -s or -d ADDR[/MASK][,ADDR[/MASK]…]. iptables reads every
// item of a comma list and makes one rule per address (per pair of them with
// both -s and -d: Rule.Expand), and refuses "!" before a list.
func (p *parser) address(w word, neg *word, spec *optSpec, attached string, hasValue bool) error {
	if p.once[spec.once] {
		return p.errorf(w, "multiple %s flags not allowed", spec.once)
	}
	if p.once == nil {
		p.once = map[string]bool{}
	}
	p.once[spec.once] = true
	v, err := p.value(w, spec, attached, hasValue)
	if err != nil {
		return err
	}
	var list []Addr
	var items []Word
	n := 0
	for off, rest := 0, v.val; ; {
		item, tail, more := strings.Cut(rest, ",")
		if item == "" {
			// An empty item of the list ("10.0.0.1,", ",10.0.0.1"):
			// itemError shows a last one at the comma before it.
			return p.itemError(v, off, item, "expected an address, found nothing")
		}
		sub := word{val: item, pos: v.at(off), end: v.at(off + len(item))}
		if !more && off+len(item) == len(v.val) {
			sub.end = v.end
		}
		var o Option
		if err := p.addr(&o, sub); err != nil {
			return err
		}
		list = append(list, Addr{Addr: o.Addr.Masked(), Mask: o.Addr.Mask})
		items = append(items, Word{Text: item, At: sub.pos})
		n++
		if !more {
			break
		}
		off += len(item) + 1
		rest = tail
	}
	if n > 1 && neg != nil {
		return p.errorf(*neg, "! not allowed with multiple source or destination IP addresses")
	}
	a := &Address{Dst: spec.once == "-d", FlagValue: FlagValue{Flag: w.pos, NegPos: NoPos, Value: Word{Text: v.val, At: v.pos}}}
	a.Addr = list[0]
	if n > 1 {
		a.List, a.Items = list, items
	}
	if neg != nil {
		a.Negated, a.NegPos = true, neg.pos
	}
	if a.Addr.Mask.IsUnspecified() && a.Negated && p.unsupported == nil {
		p.unsupported = p.unsupportedf(v, "%s %s %s is valid iptables and matches no packet, but iptables-nft cannot load it", neg.val, w.val, v.val)
		p.unsupported.Hint = "delete the rule: it never matches"
	}
	if a.Dst {
		p.rule.Dst = a
	} else {
		p.rule.Src = a
	}
	return nil
}
