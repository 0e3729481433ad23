package parse

import (
	"fmt"
	"math"
	"strings"
)

// This file reads the mark targets, as iptables 1.8.9 reads them
// (extensions/libxt_MARK.c revision 2, libxt_CONNMARK.c revisions 1 and 2):
//
//	-j MARK --set-xmark V[/M] | --set-mark V[/M] | --and-mark V | --or-mark V | --xor-mark V
//	-j CONNMARK --set-xmark V[/M] | --set-mark V[/M] | --and-mark V | --or-mark V | --xor-mark V
//	-j CONNMARK --save-mark | --restore-mark [--nfmask M] [--ctmask M] [--mask M]
//
// Every operation is the kernel's (mark & ~mask) ^ value: iptables turns
// each option into that pair as it reads it, in the order written
// (MarkInfo replays it), and iptables-save prints the pair as --set-xmark
// V/M. --mask sets both masks, so it may overwrite the mask of a --set-mark
// written before it (and --set-mark written after it overwrites it back).
// Numbers are as strtoul with base 0 reads them, up to 2^32-1; an absent
// mask is 0xffffffff.

// The options of MARK and CONNMARK; they follow the options of log.go.
const (
	OptSetXMark    TargetOptionKind = iota + 64 // --set-xmark V[/M]
	OptSetMark                                  // --set-mark V[/M]
	OptAndMark                                  // --and-mark V
	OptOrMark                                   // --or-mark V
	OptXorMark                                  // --xor-mark V
	OptSaveMark                                 // --save-mark (CONNMARK)
	OptRestoreMark                              // --restore-mark (CONNMARK)
	OptNfMask                                   // --nfmask M (CONNMARK)
	OptCtMask                                   // --ctmask M (CONNMARK)
	OptMask                                     // --mask M (CONNMARK)
)

var markOptionNames = map[TargetOptionKind]string{
	OptSetXMark: "set-xmark", OptSetMark: "set-mark", OptAndMark: "and-mark", OptOrMark: "or-mark",
	OptXorMark: "xor-mark", OptSaveMark: "save-mark", OptRestoreMark: "restore-mark",
	OptNfMask: "nfmask", OptCtMask: "ctmask", OptMask: "mask",
}

func init() {
	for k, v := range markOptionNames {
		extOptionNames[k] = v
	}
	ops := []optSpec{
		{long: "set-xmark", what: "a value[/mask]", target: OptSetXMark},
		{long: "set-mark", what: "a value[/mask]", target: OptSetMark},
		{long: "and-mark", what: "a value", target: OptAndMark},
		{long: "or-mark", what: "a value", target: OptOrMark},
		{long: "xor-mark", what: "a value", target: OptXorMark},
	}
	targetSpecs["MARK"] = ops
	targetSpecs["CONNMARK"] = append(append([]optSpec(nil), ops...),
		optSpec{long: "save-mark", target: OptSaveMark},
		optSpec{long: "restore-mark", target: OptRestoreMark},
		optSpec{long: "nfmask", what: "a mask", target: OptNfMask},
		optSpec{long: "ctmask", what: "a mask", target: OptCtMask},
		optSpec{long: "mask", what: "a mask", target: OptMask},
		optSpec{long: "left-shift-mark", unsupported: "CONNMARK's --left-shift-mark: nft 1.0.6 cannot shift a mark between the packet and the connection", args: 1},
		optSpec{long: "right-shift-mark", unsupported: "CONNMARK's --right-shift-mark: nft 1.0.6 cannot shift a mark between the packet and the connection", args: 1},
	)
}

// isMarkOption reports whether k is an option of MARK or CONNMARK.
func isMarkOption(k TargetOptionKind) bool { return markOptionNames[k] != "" }

// MarkMode is what a MARK or CONNMARK rule does (XT_CONNMARK_*).
type MarkMode uint8

// Mark modes.
const (
	MarkSet     MarkMode = iota + 1 // mark = (mark & ~Mask) ^ Value: MARK, CONNMARK's --set-*
	MarkSave                        // CONNMARK --save-mark: ctmark = (ctmark & ~CtMask) ^ (mark & NfMask)
	MarkRestore                     // CONNMARK --restore-mark: mark = (mark & ~NfMask) ^ (ctmark & CtMask)
)

// MarkInfo is the kernel's view of a MARK or CONNMARK target (struct
// xt_mark_tginfo2, xt_connmark_tginfo1).
type MarkInfo struct {
	Mode           MarkMode
	Value, Mask    uint32 // MarkSet; 0 otherwise
	NfMask, CtMask uint32 // MarkSave, MarkRestore; 0 for MarkSet
}

// MarkInfo replays the options of a MARK or CONNMARK target in the order
// written, as libxt_MARK and libxt_CONNMARK fill the kernel's structure.
func (t *Target) MarkInfo() MarkInfo {
	m := MarkInfo{NfMask: math.MaxUint32, CtMask: math.MaxUint32}
	for _, o := range t.Options {
		switch o.Kind {
		case OptSetXMark:
			m.Mode, m.Value, m.Mask = MarkSet, o.Num, o.Mask
		case OptSetMark:
			m.Mode, m.Value, m.Mask = MarkSet, o.Num, o.Num|o.Mask
		case OptAndMark:
			m.Mode, m.Value, m.Mask = MarkSet, 0, ^o.Num
		case OptOrMark:
			m.Mode, m.Value, m.Mask = MarkSet, o.Num, o.Num
		case OptXorMark:
			m.Mode, m.Value, m.Mask = MarkSet, o.Num, 0
		case OptSaveMark:
			m.Mode = MarkSave
		case OptRestoreMark:
			m.Mode = MarkRestore
		case OptMask:
			m.NfMask, m.CtMask = o.Num, o.Num
		case OptNfMask:
			m.NfMask = o.Num
		case OptCtMask:
			m.CtMask = o.Num
		}
		// CONNMARK keeps the set operation's mask in ctmask, which --mask
		// and --ctmask also write.
		if t.Name == "CONNMARK" {
			switch o.Kind {
			case OptSetXMark, OptSetMark, OptAndMark, OptOrMark, OptXorMark:
				m.CtMask = m.Mask
			case OptMask, OptCtMask:
				m.Mask = m.CtMask
			}
		}
	}
	// Only what the mode uses.
	if m.Mode == MarkSet {
		m.NfMask, m.CtMask = 0, 0
	} else {
		m.Value, m.Mask = 0, 0
	}
	return m
}

// markTargetValue reads the value of a MARK or CONNMARK option.
func (p *parser) markTargetValue(v word, o *TargetOption) error {
	name := p.rule.Target.Name
	switch o.Kind {
	case OptSetXMark, OptSetMark:
		val, mask, hasMask := v.val, "", false
		if i := strings.IndexByte(val, '/'); i >= 0 {
			val, mask, hasMask = val[:i], val[i+1:], true
			if strings.IndexByte(mask, '/') >= 0 {
				return p.errorf(v, "%s: trailing garbage after value for option \"--%s\".", name, o.Kind)
			}
		}
		n, ok := parseCNumber(val, math.MaxUint32)
		if !ok {
			return p.errorf(v, "%s: bad integer value for option \"--%s\", or out of range.", name, o.Kind)
		}
		o.Num, o.Mask = uint32(n), math.MaxUint32
		if hasMask {
			m, ok := parseCNumber(mask, math.MaxUint32)
			if !ok {
				return p.errorf(v, "%s: bad integer value for option \"--%s\", or out of range.", name, o.Kind)
			}
			o.Mask = uint32(m)
		}
		return nil
	}
	n, ok := parseCNumber(v.val, math.MaxUint32)
	if !ok {
		return p.errorf(v, "%s: bad value for option \"--%s\", or out of range (0-4294967295).", name, o.Kind)
	}
	o.Num = uint32(n)
	return nil
}

// markOps are the options of one group that exclude each other, in the
// order of libxt_MARK's and libxt_CONNMARK's tables (iptables names the
// pair in that order).
var (
	markOps     = []TargetOptionKind{OptSetXMark, OptSetMark, OptAndMark, OptOrMark, OptXorMark}
	connmarkOps = []TargetOptionKind{OptSetXMark, OptSaveMark, OptRestoreMark, OptAndMark, OptOrMark, OptXorMark, OptSetMark}
)

// checkMarkTarget checks a MARK or CONNMARK target as a whole, as iptables does
// once every word is read: one operation, --mask not with --nfmask or
// --ctmask.
func (p *parser) checkMarkTarget(t *Target) error {
	ops := markOps
	if t.Name == "CONNMARK" {
		ops = connmarkOps
	}
	var seen []*TargetOption
	for _, k := range ops {
		if o := t.Option(k); o != nil {
			seen = append(seen, o)
		}
	}
	excl := func(a, b *TargetOption) error {
		later := b
		if a.Flag > b.Flag {
			later = a
		}
		return &Error{Pos: later.Flag, Word: p.wordAt(later.Flag, "--"+later.Kind.String()), Text: p.text,
			Msg: fmt.Sprintf("%s: option \"--%s\" cannot be used together with \"--%s\".", t.Name, a.Kind, b.Kind)}
	}
	if len(seen) > 1 {
		return excl(seen[0], seen[1])
	}
	if m := t.Option(OptMask); m != nil {
		for _, k := range []TargetOptionKind{OptNfMask, OptCtMask} {
			if o := t.Option(k); o != nil {
				return excl(o, m)
			}
		}
	}
	if len(seen) == 0 {
		e := &Error{Pos: t.NamePos, Word: t.Name, Text: p.text}
		if t.Name == "MARK" {
			e.Msg = "MARK: One of the --set-xmark, --{and,or,xor,set}-mark options is required"
		} else {
			e.Msg = "CONNMARK target: No operation specified"
		}
		return e
	}
	return nil
}

// markOptions writes MARK's and CONNMARK's options as iptables-save prints
// them (mark_tg_save, connmark_tg_save): --set-xmark V/M for every set,
// --save-mark or --restore-mark with both masks.
func (p *printer) markOptions(t *Target) {
	m := t.MarkInfo()
	switch m.Mode {
	case MarkSet:
		p.word("--set-xmark")
		p.word(fmt.Sprintf("0x%x/0x%x", m.Value, m.Mask))
	case MarkSave, MarkRestore:
		p.word(map[MarkMode]string{MarkSave: "--save-mark", MarkRestore: "--restore-mark"}[m.Mode])
		p.word("--nfmask")
		p.word(fmt.Sprintf("0x%x", m.NfMask))
		p.word("--ctmask")
		p.word(fmt.Sprintf("0x%x", m.CtMask))
	}
}

// wordAt returns the text of the word that starts at pos, or fallback.
func (p *parser) wordAt(pos Pos, fallback string) string {
	for _, w := range p.words {
		if w.pos == pos {
			return p.text[w.pos:w.end]
		}
	}
	return fallback
}
