package parse

import "strings"

// checkAddressLists checks, once every word is read, what iptables checks of
// the lists: no "!" before -s or -d when either is a list (xtables.c:
// "! not allowed with multiple source or destination IP addresses").
func (p *parser) checkAddressLists() error {
	r := p.rule
	if r.Addresses() == 1 {
		return nil
	}
	for _, a := range []*Address{r.Src, r.Dst} {
		if a != nil && a.Negated {
			e := &Error{Pos: a.NegPos, Word: "!", Text: p.text, Msg: "! not allowed with multiple source or destination IP addresses"}
			e.Hint = "iptables refuses ! before -s or -d in a rule where either is a comma list"
			return e
		}
	}
	return nil
}

// This file expands the comma lists of -s and -d into the iptables rules
// they stand for, as iptables does (xtables.c's add_entry loops over the
// source addresses, and over the destination addresses within each).

// Addresses returns how many iptables rules r stands for: the product of the
// lengths of its -s and -d lists (1 without a list).
func (r *Rule) Addresses() int {
	n := 1
	for _, a := range []*Address{r.Src, r.Dst} {
		if a != nil && len(a.List) > 1 {
			n *= len(a.List)
		}
	}
	return n
}

// Expand returns the iptables rules r stands for, in the order iptables adds
// them: r itself when its -s and -d are single addresses; otherwise one
// rule per -s address and, within each, one per -d address (iptables -A
// INPUT -s a,b -d c,d adds a→c, a→d, b→c, b→d). Each rule is a copy of r
// with a single -s and -d (whose Value is the item's word); the copies share
// everything else with r, positions included. iptables -I inserts each at
// the same place, so that the last one ends up first.
func (r *Rule) Expand() []*Rule {
	n := r.Addresses()
	if n == 1 {
		return []*Rule{r}
	}
	srcs, dsts := r.Src.one(), r.Dst.one()
	out := make([]*Rule, 0, n)
	for _, s := range srcs {
		for _, d := range dsts {
			c := *r
			c.Src, c.Dst = s, d
			out = append(out, &c)
		}
	}
	return out
}

// one returns each address of a as an Address of its own: a itself when it
// is nil or a single address.
func (a *Address) one() []*Address {
	if a == nil || len(a.List) < 2 {
		return []*Address{a}
	}
	out := make([]*Address, len(a.List))
	for i, x := range a.List {
		c := *a
		c.Addr, c.List, c.Items = x, nil, nil
		c.Value = a.Items[i]
		out[i] = &c
	}
	return out
}

// Words returns the address, or the comma list, as iptables-save prints
// each address: "10.0.0.0/8", "10.0.0.1/32,10.0.0.2/32".
func (a *Address) Words() string {
	if len(a.List) < 2 {
		return a.Word()
	}
	var b strings.Builder
	for i, x := range a.List {
		if i > 0 {
			b.WriteByte(',')
		}
		one := Address{Addr: x}
		b.WriteString(one.Word())
	}
	return b.String()
}
