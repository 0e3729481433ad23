package ctmatch

import (
	"github.com/ctmatch/ctmatch/parse"
)

// reversedCaveats says, at the value of each range of the rule whose low
// bound is above its high bound (--ctorigsrcport 100:50, --ctexpire 5:3,
// --length 200:100, --src-range 10.0.0.9-10.0.0.1), that the range holds no
// value. iptables takes such a range (iptables 1.8.9 and iptables-save print
// it as written; 1.8.13 refuses the conntrack ones; libxt_iprange warns),
// and the kernel's test then finds no value in it: the option is never
// true, and negated always (for the conntrack options, for every packet
// with a conntrack). The translation does the same (compile's ctPort,
// ctExpire, length and iprange); the warning is there because the range is
// most likely written the wrong way round. The hint is the same for every
// such range, so that a run says it once.
func reversedCaveats(r *parse.Rule) []*parse.Error {
	var out []*parse.Error
	say := func(option string, v parse.Word, what, none, negated string) {
		end := min(int(v.End()), len(r.Text))
		out = append(out, &parse.Error{Pos: v.At, Text: r.Text, Word: r.Text[min(int(v.At), end):end], Kind: parse.Unsupported,
			Msg: option + " " + v.Text + " is a reversed " + what + " range, which holds " + none +
				": the option is never true, and with ! true for " + negated,
			Hint: "the translation does the same, exactly; if the range was meant the other way round, write it low to high; said once, at the first such range; see docs/semantics.md, \"Reversed ranges\""})
	}
	for _, m := range r.Matches {
		switch m := m.(type) {
		case *parse.Conntrack:
			for _, o := range m.Options {
				if !(o.Kind.IsPort() || o.Kind == parse.OptExpire) || o.Lo <= o.Hi {
					continue
				}
				what, none := "port", "no port"
				if o.Kind == parse.OptExpire {
					what, none = "time", "no time"
				}
				say("--"+o.Kind.String(), o.Value, what, none, "every packet with a conntrack (iptables 1.8.9 loads and saves such a range, 1.8.13 refuses it)")
			}
		case *parse.Length:
			if o := m.Option; o != nil && o.Min > o.Max {
				say("--length", o.Value, "length", "no length", "every packet")
			}
		case *parse.IPRange:
			for _, o := range []struct {
				name string
				o    *parse.IPRangeOption
			}{{"--src-range", m.Src}, {"--dst-range", m.Dst}} {
				if o.o != nil && o.o.Hi.Less(o.o.Lo) {
					say(o.name, o.o.Value, "address", "no address", "every packet (iptables says \"is reversed and will never match\")")
				}
			}
		}
	}
	return out
}
