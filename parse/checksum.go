package parse

import "fmt"

// This file holds the targets ctmatch refuses for good, with the reason, as
// refused.go holds such matches: the target is refused (Unsupported) at its
// name, and its options are still read as iptables 1.8.9 reads them, so
// that an invalid word anywhere in the rule still makes it Invalid. The
// first such target is CHECKSUM (extensions/libxt_CHECKSUM.c):
//
//	-j CHECKSUM --checksum-fill
//
// xt_CHECKSUM's checksum_tg calls skb_checksum_help for a packet whose
// checksum is left to the device (ip_summed CHECKSUM_PARTIAL, not GSO):
// the stack computes the transport checksum there and then. No nft
// statement does that: a payload write with csum_type inet updates the
// checksum field by the difference of what it writes (nft_payload.c
// nft_payload_l4csum_update), and "udp checksum set" writes a value.
//
// TCPMSS (tcpmss.go) and TOS (tos.go) add themselves to refusedTargets,
// with the values of their options read as iptables reads them.

// refusedTarget is a target ctmatch refuses: as a refused match, and the
// table its registration (the xt_target's .table) allows it in.
type refusedTarget struct {
	refusedModule
	table  string // the one table the kernel takes it in; "" for any
	source string // the kernel's registration, for the message
	// options, when set, is iptables' check of the options as a whole
	// that check does not make (which exclude each other), and kernel the
	// kernel's checks of the rule (its protocol; the hooks are hooks.go's):
	// each returns an Invalid error or nil, options before the table is
	// checked and kernel after it, in the order iptables reports them.
	options, kernel func(p *parser, u *refusedUse) error
}

var refusedTargets = map[string]*refusedTarget{
	"CHECKSUM": {
		refusedModule: refusedModule{
			once:  true,
			why:   "xt_CHECKSUM fills in the checksum of a packet whose checksum is left to the device (CHECKSUM_PARTIAL, through skb_checksum_help), and no nft statement computes a checksum (nft's payload writes only adjust it by what they change)",
			hint:  "keep this rule in iptables (the target exists for old DHCP clients that read, from virtual devices, packets whose checksum is not filled in yet)",
			specs: refusedSpecs("CHECKSUM", "-j CHECKSUM", "checksum-fill/0"),
			check: oneOf(`CHECKSUM: option "--checksum-fill" must be specified`, "checksum-fill"),
		},
		table:  "mangle",
		source: "xt_CHECKSUM",
	},
}

// mod returns the refused match or target u loads.
func (u *refusedUse) mod() *refusedModule {
	if t := refusedTargets[u.module]; t != nil {
		return &t.refusedModule
	}
	return refusedModules[u.module]
}

// refusedTargetLoad reads -j NAME of a refused target: it is valid iptables
// that ctmatch refuses, with the reason, and its options are read from now
// on.
func (p *parser) refusedTargetLoad(v word) error {
	t := refusedTargets[v.val]
	p.refused = append(p.refused, &refusedUse{module: v.val, name: v, given: map[string]bool{}})
	e := p.unsupportedf(v, "target %s is valid iptables, but ctmatch does not translate it: %s", v.val, t.why)
	e.Hint = t.hint
	return e
}

// checkRefusedTarget checks, once every word is read, what iptables and the
// kernel require of a refused target beyond its options' check: the
// target's own options check, its table, and the kernel's checkentry.
func (p *parser) checkRefusedTarget(u *refusedUse) error {
	t := refusedTargets[u.module]
	if t == nil {
		return nil
	}
	if t.options != nil {
		if err := t.options(p, u); err != nil {
			return err
		}
	}
	if err := p.checkRefusedTable(u); err != nil {
		return err
	}
	if t.kernel != nil {
		return t.kernel(p, u)
	}
	return nil
}

// checkRefusedTable refuses a refused target in a table (-t, when the
// words give it) that the kernel refuses it in (xt_check_target: "only
// valid in table"), as compile.CheckTargetPlace does for the targets
// ctmatch translates.
func (p *parser) checkRefusedTable(u *refusedUse) error {
	t := refusedTargets[u.module]
	if t == nil || t.table == "" || p.rule.Table == nil || p.rule.Table.Name == t.table {
		return nil
	}
	e := p.errorf(u.name, "%s is valid only in the %s table (%s), not in -t %s", u.module, t.table, t.source, p.rule.Table.Name)
	e.Hint = fmt.Sprintf("write -t %s among the words", t.table)
	return e
}
