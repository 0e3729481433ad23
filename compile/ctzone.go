package compile

import (
	"strconv"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/parse"
)

// This file compiles CT with a zone id, and CT without options (a template
// with zone 0), to "ct state != untracked ct [original|reply] zone set N"
// (docs/semantics.md, "Targets: CT --notrack and NOTRACK", point 4):
// xt_ct_target attaches its template only to a packet conntrack has not
// seen (no entry, no template, not untracked); nft_ct_set_zone_eval skips
// a packet with an entry or a template but not an untracked one, which the
// guard skips. A zone from the mark is refused by parse.

// ctZoneStmt returns the zone statement of a CT target without --notrack.
func ctZoneStmt(t *parse.Target) expr.SetCtZone {
	id, dir, _, _ := t.CTZone()
	s := expr.SetCtZone{Zone: id}
	if id == 0 {
		// Zone 0 is the default zone in either direction
		// (nf_ct_zone_id), and iptables-save prints no zone then.
		return s
	}
	switch dir {
	case parse.ZoneOrig:
		s.Dir = expr.ZoneOriginal
	case parse.ZoneReply:
		s.Dir = expr.ZoneReply
	}
	return s
}

// ctZoneWords returns the CT target of a zone statement, as iptables-save
// prints it; false for a direction ctmatch does not know.
func ctZoneWords(s expr.SetCtZone) ([]string, bool) {
	w := []string{"-j", "CT"}
	switch s.Dir {
	case expr.ZoneBoth:
		if s.Zone != 0 {
			w = append(w, "--zone")
		}
	case expr.ZoneOriginal:
		w = append(w, "--zone-orig")
	case expr.ZoneReply:
		w = append(w, "--zone-reply")
	default:
		return nil, false
	}
	if len(w) > 2 {
		w = append(w, strconv.Itoa(int(s.Zone)))
	}
	return w, true
}
