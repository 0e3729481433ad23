package ctmatch

import (
	"github.com/ctmatch/ctmatch/parse"
)

// reversedCaveats says, at the value of each conntrack port or --ctexpire
// option of the rule whose range is reversed (--ctorigsrcport 100:50), that
// the range holds no value. iptables 1.8.9 accepts such a range and
// iptables-save prints it as written (iptables 1.8.13 refuses it), and
// xt_conntrack then finds no value in it: the option is never true, and
// negated it is true for every packet with a conntrack. The translation
// does the same (compile's ctPort and ctExpire); the warning is there
// because the range is most likely written the wrong way round. The hint is
// the same for every such option, so that a run says it once.
func reversedCaveats(r *parse.Rule) []*parse.Error {
	var out []*parse.Error
	for _, m := range r.Matches {
		ct, ok := m.(*parse.Conntrack)
		if !ok {
			continue
		}
		for _, o := range ct.Options {
			if !(o.Kind.IsPort() || o.Kind == parse.OptExpire) || o.Lo <= o.Hi {
				continue
			}
			what, none := "port", "no port"
			if o.Kind == parse.OptExpire {
				what, none = "time", "no time"
			}
			end := min(int(o.Value.End()), len(r.Text))
			out = append(out, &parse.Error{Pos: o.Value.At, Text: r.Text, Word: r.Text[min(int(o.Value.At), end):end], Kind: parse.Unsupported,
				Msg: "--" + o.Kind.String() + " " + o.ValueString() + " is a reversed " + what + " range, which holds " + none +
					": the option is never true, and with ! true for every packet with a conntrack (iptables 1.8.9 loads and saves such a range, 1.8.13 refuses it)",
				Hint: "the translation does the same, exactly; if the range was meant the other way round, write it LOW:HIGH; said once, at the first such range; see docs/semantics.md, \"Reversed ranges\""})
		}
	}
	return out
}
