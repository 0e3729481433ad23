package compile

import (
	"fmt"
	"strings"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/parse"
)

// This file compiles the target extensions to nft statements, and back.
// Each xt target and its nft statement call the same kernel function, so the
// translation is exact (docs/semantics.md, "Targets"):
//
//   - REJECT: ipt_REJECT's reject_tg and nft_reject_ipv4_eval both call
//     nf_send_unreach(skb, code, hook) or nf_send_reset(net, sk, skb, hook),
//     ip6t_REJECT and nft_reject_ipv6_eval nf_send_unreach6 and
//     nf_send_reset6 (nft_reject_inet_eval dispatches on the packet's family
//     to the same), then drop. "reject with icmp type port-unreachable",
//     "reject with icmpv6 type admin-prohibited", "reject with tcp reset".
//   - MASQUERADE: masquerade_tg and nft_masq_ipv4_eval both call
//     nf_nat_masquerade_ipv4(skb, hook, range, out) (IPv6: ..._ipv6), the
//     range's flags from the rule: "masquerade to :1024-2000 random".
//   - SNAT, DNAT: xt_snat_target_v* and nft_nat_eval both call
//     nf_nat_setup_info(ct, range, manip): "snat to 10.0.0.1-10.0.0.9:80-90
//     persistent", "dnat to [2001:db8::1]:80".
//   - REDIRECT: redirect_tg4 and nft_redir_ipv4_eval both call
//     nf_nat_redirect_ipv4 (IPv6: nf_nat_redirect_ipv6): "redirect to :8080".
//
// The range flags map one to one: --random NF_NAT_RANGE_PROTO_RANDOM
// ("random"), --random-fully NF_NAT_RANGE_PROTO_RANDOM_FULLY
// ("fully-random"), --persistent NF_NAT_RANGE_PERSISTENT ("persistent"); a
// port NF_NAT_RANGE_PROTO_SPECIFIED, an address NF_NAT_RANGE_MAP_IPS, which
// both nft and the kernel's nft_nat_init set as iptables does.

// targetStmts returns the statements of r's target extension, or nil; for
// NETMAP, whose chain says its direction, an Unsupported error when the
// chain is not a built-in one (netmapStmts).
func targetStmts(r *parse.Rule, o Options) ([]expr.Stmt, error) {
	t := r.Target
	if t == nil || t.Kind != parse.TargetExtension {
		return nil, nil
	}
	if t.Name == "NETMAP" {
		return netmapStmts(r, o)
	}
	return extensionStmts(t, o.Family), nil
}

// extensionStmts returns the statements of a target extension that needs
// no more than its options and the family.
func extensionStmts(t *parse.Target, fam parse.Family) []expr.Stmt {
	switch t.Name {
	case "REJECT":
		w := parse.RejectPortUnreachable
		if fam == parse.IPv6 {
			w = parse.Reject6PortUnreachable
		}
		if o := t.Option(parse.OptRejectWith); o != nil {
			w = o.Reject
		}
		if w == parse.RejectTCPReset {
			return []expr.Stmt{expr.Reject{Type: expr.RejectTCPReset}}
		}
		code, _ := w.ICMPCode()
		f := familyTable(fam)
		return []expr.Stmt{expr.Reject{Type: expr.RejectICMP, Family: f, Code: code}}
	case "MASQUERADE":
		return []expr.Stmt{expr.Masquerade{Ports: natPorts(t, parse.OptToPorts), Flags: natFlags(t)}}
	case "REDIRECT":
		return []expr.Stmt{expr.Redirect{Ports: natPorts(t, parse.OptToPorts), Flags: natFlags(t)}}
	case "SNAT", "DNAT":
		k, typ := parse.OptToSource, expr.SNAT
		if t.Name == "DNAT" {
			k, typ = parse.OptToDestination, expr.DNAT
		}
		o := t.Option(k)
		return []expr.Stmt{expr.NAT{Type: typ, Addr: o.Addr, AddrMax: o.AddrMax, Ports: natPorts(t, k), Flags: natFlags(t)}}
	case "LOG", "NFLOG":
		return logStmts(t)
	case "MARK", "CONNMARK":
		return markStmts(t)
	case "CT", "NOTRACK":
		return ctStmts(t)
	case "DSCP":
		return dscpStmts(t, fam)
	}
	return nil
}

func natPorts(t *parse.Target, k parse.TargetOptionKind) expr.Ports {
	if o := t.Option(k); o != nil && o.PortMin != 0 {
		return expr.Ports{Min: o.PortMin, Max: o.PortMax}
	}
	return expr.Ports{}
}

func natFlags(t *parse.Target) expr.NATFlags {
	var f expr.NATFlags
	if t.Option(parse.OptRandom) != nil {
		f |= expr.NATRandom
	}
	if t.Option(parse.OptRandomFully) != nil {
		f |= expr.NATFullyRandom
	}
	if t.Option(parse.OptPersistent) != nil {
		f |= expr.NATPersistent
	}
	return f
}

// stmtWords returns the iptables target words of a rule's statements and
// verdict: "" for none, the verdict's words, or a target extension's.
func stmtWords(r expr.Rule, fam parse.Family) (string, error) {
	if len(r.Stmts) == 0 {
		return targetWords(r.Verdict)
	}
	if len(r.Stmts) > 1 || r.Verdict.Kind != expr.VerdictNone {
		return "", fmt.Errorf("%w: statements %q are not one iptables target", ErrNotUnderstood, r.String())
	}
	var w []string
	flags := func(f expr.NATFlags, allowed expr.NATFlags) bool {
		if f&^allowed != 0 {
			return false
		}
		if f&expr.NATRandom != 0 {
			w = append(w, "--random")
		}
		if f&expr.NATFullyRandom != 0 {
			w = append(w, "--random-fully")
		}
		if f&expr.NATPersistent != 0 {
			w = append(w, "--persistent")
		}
		return true
	}
	ports := func(p expr.Ports) string {
		s := fmt.Sprint(p.Min)
		if p.Max != p.Min {
			s += fmt.Sprintf("-%d", p.Max)
		}
		return s
	}
	ok := true
	switch s := r.Stmts[0].(type) {
	case expr.Reject:
		with, found := rejectWith(s, fam)
		if !found {
			ok = false
			break
		}
		w = append(w, "-j", "REJECT", "--reject-with", with.String())
	case expr.Masquerade:
		w = append(w, "-j", "MASQUERADE")
		if !s.Ports.IsZero() {
			w = append(w, "--to-ports", ports(s.Ports))
		}
		ok = flags(s.Flags, expr.NATRandom|expr.NATFullyRandom)
	case expr.Redirect:
		w = append(w, "-j", "REDIRECT")
		if !s.Ports.IsZero() {
			w = append(w, "--to-ports", ports(s.Ports))
		}
		ok = flags(s.Flags, expr.NATRandom)
	case expr.NAT:
		o := &parse.TargetOption{Kind: parse.OptToSource, Addr: s.Addr, AddrMax: s.AddrMax, PortMin: s.Ports.Min, PortMax: s.Ports.Max}
		allowed := expr.NATRandom | expr.NATFullyRandom | expr.NATPersistent
		if s.Type == expr.DNAT {
			w = append(w, "-j", "DNAT", "--to-destination")
			allowed &^= expr.NATFullyRandom
		} else {
			w = append(w, "-j", "SNAT", "--to-source")
		}
		w = append(w, o.ValueString())
		ok = flags(s.Flags, allowed)
	case expr.Log, expr.LogGroup:
		w, ok = logWords(s)
	case expr.SetMark:
		w, ok = markWords(s)
	case expr.CombineMarks:
		w, ok = combinedMarkWords(s)
	case expr.Notrack:
		w = []string{"-j", "CT", "--notrack"}
	case expr.SetCtZone:
		w, ok = ctZoneWords(s)
	case expr.SetDSCP:
		w = []string{"-j", "DSCP", "--set-dscp", fmt.Sprintf("0x%02x", s.DSCP)}
		ok = (s.Family == expr.FamilyIP6) == (fam == parse.IPv6)
	case expr.Netmap:
		w, ok = netmapWords(s, fam)
	default:
		ok = false
	}
	if !ok {
		return "", fmt.Errorf("%w: no iptables target runs %q", ErrNotUnderstood, r.String())
	}
	return strings.Join(w, " "), nil
}

// rejectWith returns the --reject-with of a reject statement in rules of
// the family.
func rejectWith(s expr.Reject, fam parse.Family) (parse.RejectWith, bool) {
	if s.Type == expr.RejectTCPReset {
		return parse.RejectTCPReset, true
	}
	for w := parse.RejectNetUnreachable; w <= parse.Reject6RejectRoute; w++ {
		code, icmp := w.ICMPCode()
		if icmp && code == s.Code && w.IPv6() == (fam == parse.IPv6) && (s.Family == expr.FamilyIP6) == w.IPv6() {
			return w, true
		}
	}
	return 0, false
}

// familyTable returns the table family of the family's own table (ip for
// IPv4, ip6 for IPv6), as nft's statements name the family they act in.
func familyTable(fam parse.Family) expr.Family {
	if fam == parse.IPv6 {
		return expr.FamilyIP6
	}
	return expr.FamilyIP
}
