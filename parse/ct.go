package parse

// This file reads the raw table's conntrack targets, as iptables 1.8.9
// reads them (extensions/libxt_CT.c): ctmatch translates
//
//	-j CT --notrack
//	-j NOTRACK
//
//	-j CT [--zone ID] [--zone-orig ID] [--zone-reply ID] (ctzone.go)
//
// and refuses, as unsupported, CT's other options (--helper, --ctevents,
// --expevents, --timeout, a zone from the mark), and --notrack with
// a zone.

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
		unsupported("helper", noEntry+"; its nft form, a ct helper object and ct helper set, acts only in a chain after conntrack, which is not the raw table's"),
		unsupported("ctevents", noEntry),
		unsupported("expevents", noEntry),
		{long: "zone", what: "a zone id (0-65535) or mark", target: OptZone},
		{long: "zone-orig", what: "a zone id (0-65535) or mark", target: OptZoneOrig},
		{long: "zone-reply", what: "a zone id (0-65535) or mark", target: OptZoneReply},
		unsupported("timeout", "nft needs a named ct timeout object, which ctmatch does not load"),
	}
	targetSpecs["NOTRACK"] = []optSpec{}
}

// checkCT refuses CT --notrack with a zone (the kernel ignores the zone
// then, and ctmatch does not drop words) and a zone from the mark (no nft
// rule reads the mark when conntrack runs; docs/semantics.md, "Targets: CT
// --notrack and NOTRACK", point 4). CT with a zone id or without options
// (a template with zone 0) is translated.
func (p *parser) checkCT(t *Target) error {
	if p.unsupported != nil {
		return nil
	}
	for _, o := range t.Options {
		if !isZoneOption(o.Kind) {
			continue
		}
		switch {
		case t.Option(OptNotrack) != nil:
			p.unsupported = &Error{Pos: o.Flag, Word: p.wordAt(o.Flag, "--"+o.Kind.String()), Text: p.text, Kind: Unsupported,
				Msg:  "CT's --" + o.Kind.String() + " with --notrack is valid iptables, but the kernel ignores the zone then (xt_ct_tg_check attaches no template), and ctmatch does not drop it",
				Hint: "leave out the zone option"}
			return nil
		case o.Mask == zoneMark:
			p.unsupported = &Error{Pos: o.Value.At, Word: o.Value.Text, Text: p.text, Kind: Unsupported,
				Msg:  "CT's --" + o.Kind.String() + " mark is valid iptables, but xt_CT takes the zone from the packet mark when conntrack runs, after the rules that follow may have changed the mark, and no nft rule reads the mark then",
				Hint: "set a zone id with --zone N, or the nft rule \"ct state != untracked ct zone set N\""}
			return nil
		}
	}
	return nil
}

// ctOptions writes CT's options as iptables-save prints them.
func (p *printer) ctOptions(t *Target) {
	if t.Option(OptNotrack) != nil {
		p.word("--notrack")
	}
	p.zoneOptions(t)
}
