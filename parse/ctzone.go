package parse

import (
	"math"
	"strconv"
	"strings"
)

// This file reads CT's zone options, as iptables 1.8.9 reads them
// (extensions/libxt_CT.c ct_parse_zone_id, ct_print_zone_id):
//
//	-j CT [--zone ID|mark] [--zone-orig ID|mark] [--zone-reply ID|mark]
//
// Each option comes at most once. Each one sets the zone id to its own
// value (0 for mark) and adds its flags: --zone-orig the original
// direction, --zone-reply the reply direction, mark the mark flag; so the
// last option gives the id, and the flags add up. ID is 0-65535 as
// xtables_strtoul reads it (blanks and + before it, no -), mark in any
// case. iptables-save prints nothing when the id is 0 and mark is not set,
// else --zone, --zone-orig when only the original direction is set,
// --zone-reply when only the reply one is, then mark or the id.
//
// ctmatch translates the zone id (docs/semantics.md, "Targets: CT --notrack
// and NOTRACK", point 4) and refuses mark.

// The zone options of CT; they follow --notrack.
const (
	OptZone      TargetOptionKind = iota + 97 // --zone
	OptZoneOrig                               // --zone-orig
	OptZoneReply                              // --zone-reply
)

// ZoneDir is the direction CT's zone applies to.
type ZoneDir uint8

// Zone directions.
const (
	ZoneBoth  ZoneDir = iota // --zone, or both --zone-orig and --zone-reply
	ZoneOrig                 // --zone-orig alone
	ZoneReply                // --zone-reply alone
)

func init() {
	extOptionNames[OptZone] = "zone"
	extOptionNames[OptZoneOrig] = "zone-orig"
	extOptionNames[OptZoneReply] = "zone-reply"
}

// zoneMark is the Mask of a zone option whose value is mark.
const zoneMark = 1

func isZoneOption(k TargetOptionKind) bool { return k >= OptZone && k <= OptZoneReply }

// zoneValue reads the value of a zone option into Num (the id) or Mask
// (zoneMark for mark).
func (p *parser) zoneValue(v word, o *TargetOption) error {
	if strings.EqualFold(v.val, "mark") {
		o.Mask = zoneMark
		return nil
	}
	n, ok := parseStrtoumax(v.val, math.MaxUint16)
	if !ok {
		return p.errorf(v, "Cannot parse %s as a zone ID", v.val)
	}
	o.Num = uint32(n)
	return nil
}

// CTZone returns the zone CT's zone options give, as libxt_CT adds them
// up: the id of the last one, its direction, whether mark was given to any
// of them, and whether any zone option was given at all.
func (t *Target) CTZone() (id uint16, dir ZoneDir, mark, ok bool) {
	var orig, reply bool
	for _, o := range t.Options {
		if !isZoneOption(o.Kind) {
			continue
		}
		ok = true
		id = uint16(o.Num)
		mark = mark || o.Mask == zoneMark
		orig = orig || o.Kind == OptZoneOrig
		reply = reply || o.Kind == OptZoneReply
	}
	switch {
	case orig && !reply:
		dir = ZoneOrig
	case reply && !orig:
		dir = ZoneReply
	}
	return id, dir, mark, ok
}

// zoneOptions writes the zone as iptables-save prints it.
func (p *printer) zoneOptions(t *Target) {
	id, dir, mark, _ := t.CTZone()
	if !mark && id == 0 {
		return
	}
	switch dir {
	case ZoneOrig:
		p.word("--zone-orig")
	case ZoneReply:
		p.word("--zone-reply")
	default:
		p.word("--zone")
	}
	if mark {
		p.word("mark")
	} else {
		p.word(strconv.Itoa(int(id)))
	}
}
