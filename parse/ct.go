package parse

// This file reads the raw table's conntrack targets, as iptables 1.8.9
// reads them (extensions/libxt_CT.c): ctmatch translates
//
//	-j CT --notrack
//	-j NOTRACK
//
// and refuses, as unsupported, CT's other options (--helper, --ctevents,
// --expevents, --zone, --zone-orig, --zone-reply, --timeout), with or
// without --notrack, and CT without options.

// OptNotrack is CT's --notrack; it follows the options of mark.go.
const OptNotrack TargetOptionKind = 96

func init() {
	extOptionNames[OptNotrack] = "notrack"
	unsupported := func(name, why string) optSpec {
		return optSpec{long: name, unsupported: "CT's --" + name + ": " + why, args: 1}
	}
	// nft's ct helper set and ct event set act on the packet's conntrack
	// entry (nft_ct_helper_obj_eval, nft_ct_set_eval return without one),
	// which does not exist yet in the raw table's chains, before conntrack:
	// xt_CT attaches a template there that conntrack then uses.
	const noEntry = "nft's statement acts on the conntrack entry, which does not exist yet in a raw chain (before conntrack), where xt_CT attaches a template instead"
	targetSpecs["CT"] = []optSpec{
		{long: "notrack", target: OptNotrack},
		unsupported("helper", noEntry+"; it also needs a named ct helper object, which ctmatch does not load yet"),
		unsupported("ctevents", noEntry),
		unsupported("expevents", noEntry),
		unsupported("zone", zoneWhy("ct zone set N")),
		unsupported("zone-orig", zoneWhy("ct original zone set N")),
		unsupported("zone-reply", zoneWhy("ct reply zone set N")),
		unsupported("timeout", "nft needs a named ct timeout object, which ctmatch does not load"),
	}
	targetSpecs["NOTRACK"] = []optSpec{}
}

// zoneWhy says why CT's zone options are refused (docs/semantics.md,
// "Targets: CT --notrack and NOTRACK", point 3). With a number, nft's set
// statement alone is not the same: nft_ct_set_zone_eval returns only for a
// packet with an entry or a template, so it attaches its template to an
// untracked packet too, where xt_ct_target returns for any skb->_nfct; the
// guard "ct state != untracked" makes them equal, but ctmatch does not
// generate that rule yet. With "mark", xt_CT flags its template
// NF_CT_FLAG_MARK and conntrack takes the zone from skb->mark when it runs
// (nf_ct_zone_tmpl), after any later rule changed the mark; nft reads the
// mark only when its rule runs and cannot flag its template.
func zoneWhy(set string) string {
	return "with a zone number the exact nft form is \"ct state != untracked " + set +
		"\" (the guard keeps an untracked packet untracked, as xt_CT does), which ctmatch does not generate yet; " +
		"with mark, xt_CT takes the zone from the packet mark when conntrack runs, after the rules that follow may have changed the mark, " +
		"and no nft rule reads the mark then"
}

// checkCT refuses a CT without --notrack: it attaches a conntrack template
// with nothing set, which ctmatch does not translate.
func (p *parser) checkCT(t *Target) error {
	if t.Option(OptNotrack) == nil && p.unsupported == nil {
		p.unsupported = &Error{Pos: t.NamePos, Word: t.Name, Text: p.text, Kind: Unsupported,
			Msg: "-j CT without --notrack is valid iptables, but ctmatch translates CT --notrack alone for now"}
	}
	return nil
}

// ctOptions writes CT's options as iptables-save prints them.
func (p *printer) ctOptions(t *Target) {
	if t.Option(OptNotrack) != nil {
		p.word("--notrack")
	}
}
