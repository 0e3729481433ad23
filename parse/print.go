package parse

import (
	"io"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// String returns the rule in canonical iptables-save form.
func (r *Rule) String() string {
	var p printer
	// The canonical form is about as long as the text it was parsed from.
	p.b.Grow(len(r.Text))
	p.rule(r)
	return p.b.String()
}

// WriteTo writes the rule in canonical iptables-save form: the counters as
// iptables-save -c writes them ([PACKETS:BYTES], when the rule has any), -t
// TABLE (unless filter), -A CHAIN or -I CHAIN [N], the matches with their options in the
// order and spelling iptables-save uses, then -j or -g.
func (r *Rule) WriteTo(w io.Writer) (int64, error) {
	n, err := io.WriteString(w, r.String())
	return int64(n), err
}

// String returns the match in canonical iptables-save form.
func (m *Conntrack) String() string {
	var p printer
	p.conntrack(m)
	return p.b.String()
}

// printer writes words separated by single spaces.
type printer struct {
	b       strings.Builder
	started bool // a word has been written
}

// sep starts a word.
func (p *printer) sep() {
	if p.started {
		p.b.WriteByte(' ')
	}
	p.started = true
}

func (p *printer) word(s string) {
	p.sep()
	p.b.WriteString(s)
}

func (p *printer) rule(r *Rule) {
	if c := r.Counters; c != nil {
		// As iptables-save -c writes them: first, whichever way they were
		// given.
		p.sep()
		var num [20]byte
		p.b.WriteByte('[')
		p.b.Write(strconv.AppendUint(num[:0], c.Packets, 10))
		p.b.WriteByte(':')
		p.b.Write(strconv.AppendUint(num[:0], c.Bytes, 10))
		p.b.WriteByte(']')
	}
	if r.Table != nil && r.Table.Name != "filter" {
		p.word("-t")
		p.word(r.Table.Name)
	}
	if c := r.Command; c != nil {
		p.word(c.Op.String())
		p.word(Quote(c.Chain))
		if c.Index > 0 {
			p.sep()
			var num [20]byte
			p.b.Write(strconv.AppendInt(num[:0], int64(c.Index), 10))
		}
	}
	for _, a := range []*Address{r.Src, r.Dst} {
		if a != nil && (!a.All() || len(a.List) > 1) {
			if a.Negated {
				p.word("!")
			}
			p.word(a.Flagword())
			p.word(a.Words())
		}
	}
	for _, f := range []*Interface{r.InIface, r.OutIface} {
		if f != nil && !f.All() {
			if f.Negated {
				p.word("!")
			}
			p.word(f.Flagword())
			p.word(f.Word())
		}
	}
	if pr := r.Protocol; pr != nil && pr.Num != 0 {
		if pr.Negated {
			p.word("!")
		}
		p.word("-p")
		p.word(pr.Name())
	}
	p.fragment(r.Fragment)
	for _, m := range r.Matches {
		switch m := m.(type) {
		case *Conntrack:
			p.conntrack(m)
		case *Ports:
			p.ports(m)
		case *ICMP:
			p.icmp(m)
		case *HL:
			p.hl(m)
		case *Addrtype:
			p.addrtype(m)
		case *Pkttype:
			p.pkttype(m)
		case *Owner:
			p.owner(m)
		case *Comment:
			p.comment(m)
		case *Limit:
			p.limit(m)
		case *Mark:
			p.mark(m)
		case *Multiport:
			p.multiport(m)
		case extMatch:
			m.print(p)
		}
	}
	if t := r.Target; t != nil {
		if t.Goto {
			p.word("-g")
		} else {
			p.word("-j")
		}
		p.word(Quote(t.Name))
		p.targetOptions(t)
	}
}

// byKind orders options as iptables-save prints them.
func byKind(a, b *Option) int { return int(a.Kind) - int(b.Kind) }

func (p *printer) conntrack(m *Conntrack) {
	p.word("-m")
	p.word(m.Module)
	opts := m.Options
	if !slices.IsSortedFunc(opts, byKind) {
		opts = slices.Clone(opts)
		slices.SortStableFunc(opts, byKind)
	}
	for _, o := range opts {
		if o.Negated {
			p.word("!")
		}
		p.sep()
		p.b.WriteString("--")
		if m.Alias() {
			p.b.WriteString("state")
		} else {
			p.b.WriteString(o.Kind.String())
		}
		p.sep()
		var value [64]byte
		p.b.Write(o.appendValue(value[:0]))
	}
}

// ValueString returns the option's value as iptables-save prints it.
func (o *Option) ValueString() string { return string(o.appendValue(nil)) }

// appendValue appends the option's value as iptables-save prints it.
func (o *Option) appendValue(b []byte) []byte {
	switch {
	case o.Kind == OptState:
		return appendNames(b, statePrintOrder, o.States, "")
	case o.Kind == OptStatus:
		return appendNames(b, statusOrder, o.Statuses, "NONE")
	case o.Kind == OptProto:
		return strconv.AppendUint(b, uint64(o.Proto), 10)
	case o.Kind.IsAddr():
		return o.Addr.appendTo(b)
	case o.Kind.IsPort(), o.Kind == OptExpire:
		b = strconv.AppendUint(b, uint64(o.Lo), 10)
		if o.Lo == o.Hi {
			return b
		}
		b = append(b, ':')
		return strconv.AppendUint(b, uint64(o.Hi), 10)
	case o.Kind == OptDir:
		return append(b, o.Dir.String()...)
	}
	return b
}

// String returns the address as iptables-save prints it: the address as
// written (host bits kept), then nothing for a full mask, /LEN for a
// contiguous mask, or /MASK.
func (a Addr) String() string { return string(a.appendTo(nil)) }

func (a Addr) appendTo(b []byte) []byte {
	b = appendIP(b, a.Addr)
	switch bits := a.Bits(); {
	case bits == a.Addr.BitLen():
		return b
	case bits >= 0:
		b = append(b, '/')
		return strconv.AppendInt(b, int64(bits), 10)
	default:
		b = append(b, '/')
		return appendIP(b, a.Mask)
	}
}

// appendIP appends ip as ip.String() writes it, "invalid IP" for the zero
// Addr included (AppendTo writes nothing for it).
func appendIP(b []byte, ip netip.Addr) []byte {
	if !ip.IsValid() {
		return append(b, ip.String()...)
	}
	return ip.AppendTo(b)
}

// String returns the match in canonical iptables-save form, e.g.
// "-m tcp --sport 1024:65535 ! --dport 22".
func (m *Ports) String() string {
	var p printer
	p.ports(m)
	return p.b.String()
}

// ports prints the match as iptables-save does: "-m tcp" (also when -p
// loaded it), --sport before --dport, a range of one port as that port, and
// nothing for a range of every port unless negated (iptables-save drops
// "! --dport 0:65535" too, and so reloads a rule that matches every packet
// where the kernel's matched none; ctmatch keeps the words that mean what
// the rule does).
func (p *printer) ports(m *Ports) {
	p.word("-m")
	p.word(m.Module)
	for _, k := range []PortKind{SrcPort, DstPort} {
		o := m.Option(k)
		if o == nil || o.All() && !o.Negated && !m.keepsAll() {
			continue
		}
		if o.Negated {
			p.word("!")
		}
		p.word("--" + k.String())
		p.word(o.ValueString())
	}
	p.tcpFlags(m.Flags)
}

// ValueString returns the port range as iptables-save prints it: "22" or
// "1024:65535".
func (o *PortOption) ValueString() string {
	if o.Lo == o.Hi {
		return uitoa(uint64(o.Lo))
	}
	return uitoa(uint64(o.Lo)) + ":" + uitoa(uint64(o.Hi))
}
