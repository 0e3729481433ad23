package parse

import (
	"io"
	"slices"
	"strconv"
	"strings"
)

// String returns the rule in canonical iptables-save form.
func (r *Rule) String() string {
	var b strings.Builder
	r.WriteTo(&b)
	return b.String()
}

// WriteTo writes the rule in canonical iptables-save form: -t TABLE (unless
// filter), -A CHAIN or -I CHAIN [N], the matches with their options in the
// order and spelling iptables-save uses, then -j or -g.
func (r *Rule) WriteTo(w io.Writer) (int64, error) {
	var parts []string
	if r.Table != nil && r.Table.Name != "filter" {
		parts = append(parts, "-t", r.Table.Name)
	}
	if c := r.Command; c != nil {
		parts = append(parts, c.Op.String(), Quote(c.Chain))
		if c.Index > 0 {
			parts = append(parts, strconv.Itoa(c.Index))
		}
	}
	for _, m := range r.Matches {
		if ct, ok := m.(*Conntrack); ok {
			parts = append(parts, ct.words()...)
		}
	}
	if t := r.Target; t != nil {
		flag := "-j"
		if t.Goto {
			flag = "-g"
		}
		parts = append(parts, flag, Quote(t.Name))
	}
	n, err := io.WriteString(w, strings.Join(parts, " "))
	return int64(n), err
}

// String returns the match in canonical iptables-save form.
func (m *Conntrack) String() string { return strings.Join(m.words(), " ") }

func (m *Conntrack) words() []string {
	out := []string{"-m", m.Module}
	opts := slices.Clone(m.Options)
	slices.SortStableFunc(opts, func(a, b *Option) int { return int(a.Kind) - int(b.Kind) })
	for _, o := range opts {
		if o.Negated {
			out = append(out, "!")
		}
		name := "--" + o.Kind.String()
		if m.Alias() {
			name = "--state"
		}
		out = append(out, name, o.ValueString())
	}
	return out
}

// ValueString returns the option's value as iptables-save prints it.
func (o *Option) ValueString() string {
	switch {
	case o.Kind == OptState:
		return o.States.String()
	case o.Kind == OptStatus:
		return o.Statuses.String()
	case o.Kind == OptProto:
		return strconv.Itoa(int(o.Proto))
	case o.Kind.IsAddr():
		return o.Addr.String()
	case o.Kind.IsPort(), o.Kind == OptExpire:
		if o.Lo == o.Hi {
			return strconv.FormatUint(uint64(o.Lo), 10)
		}
		return strconv.FormatUint(uint64(o.Lo), 10) + ":" + strconv.FormatUint(uint64(o.Hi), 10)
	case o.Kind == OptDir:
		return o.Dir.String()
	}
	return ""
}

// String returns the address as iptables-save prints it: the address as
// written (host bits kept), then nothing for a full mask, /LEN for a
// contiguous mask, or /MASK.
func (a Addr) String() string {
	s := a.Addr.String()
	switch bits := a.Bits(); {
	case bits == a.Addr.BitLen():
		return s
	case bits >= 0:
		return s + "/" + strconv.Itoa(bits)
	default:
		return s + "/" + a.Mask.String()
	}
}
