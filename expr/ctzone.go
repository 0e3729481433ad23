package expr

import (
	"encoding/binary"
	"errors"
	"strconv"

	"github.com/ctmatch/ctmatch/internal/nfnl"
)

// SetCtZone is xt_CT's zone template in nft (docs/semantics.md, "Targets:
// CT --notrack and NOTRACK", point 4): "ct state != untracked ct zone set
// N", with "original" or "reply" before "zone" for one direction. nft's
// nft_ct_set_zone_eval attaches its template to a packet without an entry
// or a template, an untracked one included, where xt_ct_target returns for
// an untracked packet too; the guard (nft_ct_get_eval reads untracked only
// after notrack) makes them the same. The statement is the four
// expressions nft 1.0.6 sends for that text: ct load state, cmp neq
// untracked, immediate of the zone (2 bytes, host order), ct set zone with
// the direction.
type SetCtZone struct {
	Zone uint16
	Dir  ZoneDir
}

// ZoneDir is the direction of a zone: both, or the original or reply one
// (NFTA_CT_DIRECTION).
type ZoneDir uint8

// Zone directions.
const (
	ZoneBoth ZoneDir = iota
	ZoneOriginal
	ZoneReply
)

const ctZone = 17 // NFT_CT_ZONE

func (SetCtZone) isStmt() {}

func (s SetCtZone) check() error {
	if s.Dir > ZoneReply {
		return errors.New("a zone of an unknown direction")
	}
	return nil
}

func (s SetCtZone) dirName() string {
	switch s.Dir {
	case ZoneOriginal:
		return "original"
	case ZoneReply:
		return "reply"
	}
	return ""
}

func (s SetCtZone) appendText(b []byte) []byte {
	if err := s.check(); err != nil {
		return appendInvalid(b, err.Error())
	}
	b = append(b, "ct state != untracked ct "...)
	if d := s.dirName(); d != "" {
		b = append(append(b, d...), ' ')
	}
	return strconv.AppendUint(append(b, "zone set "...), uint64(s.Zone), 10)
}

func (s SetCtZone) lower(ae *nfnl.Encoder) {
	putCt(ae, CtState, nil)
	putCmp(ae, cmpNeq, binary.NativeEndian.AppendUint32(nil, uint32(StateUntracked)))
	reg := uint32(reg1)
	putImmediate(ae, &reg, binary.NativeEndian.AppendUint16(nil, s.Zone))
	at := ae.BeginExpr("ct")
	ae.U32(attrCtKey, ctZone)
	if s.Dir != ZoneBoth {
		// nft 1.0.6 sends the direction before the register.
		ae.U8(attrCtDirection, uint8(s.Dir-ZoneOriginal))
	}
	ae.U32(attrCtSreg, reg1)
	ae.EndExpr(at)
}

// ctZoneStmt reads a zone set starting at expression i: the guard, the
// immediate, the ct set zone; 0 expressions when none starts there (a ct
// set zone without the guard is not one: it is not what xt_CT does).
func (p *raiser) ctZoneStmt(i int) (Stmt, int, error) {
	if i+3 >= len(p.es) {
		return nil, 0, nil
	}
	ld, cmp, im, set := &p.es[i], &p.es[i+1], &p.es[i+2], &p.es[i+3]
	if set.name != "ct" || set.u == nil || set.u[attrCtKey] != ctZone || !set.has(attrCtSreg) {
		return nil, 0, nil
	}
	if ld.name != "ct" || ld.u == nil || ld.bad != "" || len(ld.extra) > 0 || len(ld.u) != 2 ||
		ld.u[attrCtKey] != uint64(CtState) || ld.u[attrCtDreg] != reg1 {
		return nil, 0, p.fail(i+3, "a ct zone set without the guard ct state != untracked before it")
	}
	cv := cmp.data[attrCmpData]
	if cmp.name != "cmp" || cmp.u == nil || cmp.bad != "" || len(cmp.extra) > 0 || len(cmp.u) != 2 ||
		cmp.u[attrCmpSreg] != reg1 || cmp.u[attrCmpOp] != cmpNeq || cv.verdict || len(cv.value) != 4 ||
		binary.NativeEndian.Uint32(cv.value) != uint32(StateUntracked) {
		return nil, 0, p.fail(i+3, "a ct zone set without the guard ct state != untracked before it")
	}
	d := im.data[attrImmediateData]
	if im.name != "immediate" || im.u == nil || im.bad != "" || len(im.extra) > 0 || len(im.u) != 1 ||
		im.u[attrImmediateDreg] != reg1 || d.verdict || len(d.value) != 2 {
		return nil, 0, p.fail(i+2, "a ct zone set whose value is not an immediate of 2 bytes in register 1")
	}
	if set.bad != "" || len(set.extra) > 0 || set.has(attrCtDreg) || set.u[attrCtSreg] != reg1 {
		return nil, 0, p.fail(i+3, "a ct zone set that does not read register 1")
	}
	s := SetCtZone{Zone: binary.NativeEndian.Uint16(d.value)}
	if set.has(attrCtDirection) {
		switch Dir(set.u[attrCtDirection]) {
		case DirOriginal:
			s.Dir = ZoneOriginal
		case DirReply:
			s.Dir = ZoneReply
		default:
			return nil, 0, p.fail(i+3, "a ct zone set of direction %d", set.u[attrCtDirection])
		}
	}
	return s, 4, nil
}

// appendJSON writes the guard {"match": {"op": "!=", "left": {"ct":
// {"key": "state"}}, "right": "untracked"}} and {"mangle": {"key": {"ct":
// {"key": "zone"[, "dir": DIR]}}, "value": N}}.
func (s SetCtZone) appendJSON(b []byte) []byte {
	if err := s.check(); err != nil {
		return appendJSONInvalid(b, err.Error())
	}
	b = appendJSONMatch(b, "!=", appendJSONKeyed(nil, "ct", "state", ""), appendJSONString(nil, "untracked"))
	b = appendJSONKeyed(append(b, `,{"mangle":{"key":`...), "ct", "zone", s.dirName())
	b = strconv.AppendUint(append(b, `,"value":`...), uint64(s.Zone), 10)
	return append(b, "}}"...)
}
