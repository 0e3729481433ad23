package parse

import "strconv"

// This file reads the TCPMSS target, which ctmatch refuses (checksum.go's
// refusedTargets), as iptables 1.8.9 reads it (extensions/libxt_TCPMSS.c)
// and the kernel checks it (net/netfilter/xt_TCPMSS.c):
//
//	-j TCPMSS --set-mss N | --clamp-mss-to-pmtu
//
// N is 0-65515 in iptables (65535 less the IPv4 header), 0-65495 in
// ip6tables (less the IPv6 header), as xtables_strtoul reads it: leading
// blanks and a "+" taken, 0x hex, leading-0 octal. Each option at most
// once, neither after "!", one of them at least. The two do not exclude
// each other, whatever the help says: both set the one MSS field, the
// clamp as 0xffff, and the one written last wins.
//
// The kernel registers TCPMSS with .proto IPPROTO_TCP: xt_check_target
// refuses it in a rule without -p tcp, or with ! -p tcp ("only valid for
// protocol 6"). Its checkentry refuses --clamp-mss-to-pmtu reached from
// PREROUTING or INPUT ("path-MTU clamping only supported in FORWARD,
// OUTPUT and POSTROUTING hooks"); iptables-nft hands it the hook of a base
// chain only, so a rule in a user chain is loaded whatever jumps to it.
// iptables-legacy also refuses a TCPMSS rule without a SYN match (-p tcp
// --syn: "Only works on TCP SYN packets"), which the kernel skips for
// iptables-nft's rules (par->nft_compat): iptables 1.8.9 loads it, and so
// ctmatch calls it valid iptables (refused, exit 1, as every TCPMSS).

func init() {
	refusedTargets["TCPMSS"] = &refusedTarget{
		refusedModule: refusedModule{
			once: true,
			// xt_TCPMSS's tcpmss_mangle_packet adds an MSS option to a SYN
			// that has none (536 for IPv4, 1220 for IPv6, when the header
			// has room and the SYN no data); nft's "tcp option maxseg size
			// set" only rewrites an option that is there.
			why:   "xt_TCPMSS adds an MSS option to a SYN that has none, while nft's tcp option maxseg size set only rewrites one that is there",
			hint:  "keep this rule in iptables: nft's tcp option maxseg size set N (or set rt mtu) does the same only to SYNs that carry an MSS option",
			specs: refusedSpecs("TCPMSS", "-j TCPMSS", "set-mss/1", "clamp-mss-to-pmtu/0"),
			check: func(given map[string]bool) string {
				if len(given) == 0 {
					return "TCPMSS target: At least one parameter is required"
				}
				return ""
			},
			value: tcpmssValue,
		},
		source: "xt_TCPMSS",
		kernel: checkTCPMSS,
	}
}

// tcpmssValue reads the value of --set-mss.
func tcpmssValue(p *parser, opt string, v word) error {
	max := uint64(65535 - 20)
	if p.opts.Family == IPv6 {
		max = 65535 - 40
	}
	if _, ok := parseStrtoumax(v.val, max); ok {
		return nil
	}
	e := p.errorf(v, "TCPMSS: bad value for option \"--%s\", or out of range (0-%d).", opt, max)
	e.Hint = "expected a number 0-" + strconv.FormatUint(max, 10) + " (decimal, 0x hex or leading-0 octal)"
	return e
}

// checkTCPMSS checks what the kernel checks of a TCPMSS rule: -p tcp
// without "!". A --clamp-mss-to-pmtu that counts is kept in the rule, for
// the hooks check of hooks.go (parse's for the chain of -A or -I, add
// rule's and apply's for theirs).
func checkTCPMSS(p *parser, u *refusedUse) error {
	if pr := p.rule.Protocol; pr == nil || pr.Num != 6 || pr.Negated {
		e := p.errorf(u.name, "TCPMSS is valid only in a rule of -p tcp (without !): the kernel refuses it in a rule that may see other protocols (xt_check_target: \"TCPMSS target: only valid for protocol 6\")")
		e.Hint = "write -p tcp --syn among the words"
		return e
	}
	if u.last == "clamp-mss-to-pmtu" {
		w := u.at[u.last]
		p.rule.tcpmssClamp = &Word{Text: p.text[w.pos:w.end], At: w.pos}
	}
	return nil
}
