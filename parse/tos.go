package parse

import "strings"

// This file reads the TOS target, which ctmatch refuses (checksum.go's
// refusedTargets), as iptables 1.8.9 reads it (extensions/libxt_TOS.c,
// revision 1, in iptables and ip6tables alike; libxtables' XTTYPE_TOSMASK
// and XTTYPE_UINT8):
//
//	-j TOS --set-tos VALUE[/MASK] | --set-tos NAME
//	       | --and-tos BITS | --or-tos BITS | --xor-tos BITS
//
// Numbers are read as xtables_strtoul reads them (leading blanks and a "+"
// taken, 0x hex, leading-0 octal), each 0-255. --set-tos reads a number at
// the start of its value: when there is one of 0-255, what follows must be
// nothing or "/" and a MASK of 0-255 ("Illegal value" otherwise); when there
// is none, the whole value must be one of the names, in any case
// (Minimize-Delay 0x10, Maximize-Throughput 0x08, Maximize-Reliability
// 0x04, Minimize-Cost 0x02, Normal-Service 0x00, with the mask 0x3f:
// "Symbolic name ... is unknown" otherwise). --and-tos, --or-tos and
// --xor-tos take a whole number 0-255. Each option at most once, none
// after "!"; exactly one of the four (libxt_TOS.c's tos_tg_check: "An action
// is required", then libxtables' exclusions: the first of the two in the
// table's order, set, and, or, xor, is named first). The kernel registers
// TOS (net/netfilter/xt_DSCP.c) for the mangle table only.

// tosOptions are TOS's options in libxt_TOS.c's table order.
var tosOptions = []string{"set-tos", "and-tos", "or-tos", "xor-tos"}

// tosNames are libxtables' TOS names (tos_symbol_names), as --set-tos takes
// them, in any case.
var tosNames = map[string]uint8{
	"minimize-delay": 0x10, "maximize-throughput": 0x08, "maximize-reliability": 0x04,
	"minimize-cost": 0x02, "normal-service": 0x00,
}

func init() {
	refusedTargets["TOS"] = &refusedTarget{
		refusedModule: refusedModule{
			once:  true,
			why:   "it is not translated yet",
			hint:  "keep this rule in iptables (--set-tos V/M rewrites the whole TOS byte under its mask, ECN bits included; -j DSCP, which ctmatch translates, sets only the DSCP bits)",
			specs: refusedSpecs("TOS", "-j TOS", "set-tos/1", "and-tos/1", "or-tos/1", "xor-tos/1"),
			check: oneOf("TOS: An action is required", tosOptions...),
			value: tosValue,
		},
		table:   "mangle",
		source:  "xt_DSCP",
		options: checkTOSOptions,
	}
}

// tosValue reads the value of one of TOS's options.
func tosValue(p *parser, opt string, v word) error {
	s := v.val
	if opt != "set-tos" {
		if _, ok := parseStrtoumax(s, 0xff); ok {
			return nil
		}
		e := p.errorf(v, "TOS: bad value for option \"--%s\", or out of range (0-255).", opt)
		e.Hint = "expected a number 0-255 (decimal, 0x hex or leading-0 octal)"
		return e
	}
	const hint = "expected VALUE or VALUE/MASK, each a number 0-255 (decimal, 0x hex or leading-0 octal), or a name: Minimize-Delay, Maximize-Throughput, Maximize-Reliability, Minimize-Cost, Normal-Service"
	n, end, ok := xtStrtoul(s)
	if !ok || n > 0xff {
		if _, ok := tosNames[strings.ToLower(s)]; ok {
			return nil
		}
		e := p.errorf(v, "Symbolic name %q is unknown", s)
		e.Hint = hint
		return e
	}
	if end < len(s) && s[end] == '/' {
		m, mend, ok := xtStrtoul(s[end+1:])
		if !ok || m > 0xff {
			e := p.itemError(v, end+1, s[end+1:], "Illegal value: %q", s)
			e.Hint = hint
			return e
		}
		end += 1 + mend
	}
	if end < len(s) {
		e := p.itemError(v, end, s[end:], "Illegal value: %q", s)
		e.Hint = hint
		return e
	}
	return nil
}

// checkTOSOptions refuses two of TOS's options together, as libxtables'
// xtables_options_fcheck does (every option excludes the others), at the
// one of the two written later.
func checkTOSOptions(p *parser, u *refusedUse) error {
	var given []string
	for _, o := range tosOptions {
		if u.given[o] {
			given = append(given, o)
		}
	}
	if len(given) < 2 {
		return nil
	}
	w := u.at[given[0]]
	if later := u.at[given[1]]; later.pos > w.pos {
		w = later
	}
	e := p.errorf(w, "TOS: option \"--%s\" cannot be used together with \"--%s\".", given[0], given[1])
	e.Hint = "give one of --set-tos, --and-tos, --or-tos and --xor-tos"
	return e
}
