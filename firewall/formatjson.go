package firewall

import (
	"bufio"
	"encoding/json"
	"strconv"
	"unicode/utf8"

	"github.com/ctmatch/ctmatch"
	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/kernel"
)

// ListJSON is the form Listing.Write writes as libnftables JSON, in the
// shape nft -j list ruleset prints ({"nftables": [{"table": …},
// {"chain": …}, {"rule": …}]}), which nft -j -f loads back (each object an
// add): every rule with its counter's values, times in milliseconds
// ("28000ms", which nft 1.0.6 reads exactly and lists in whole seconds).
// Each rule carries, under "ctmatch" (a key nft ignores), its place in its
// group and, on the group's first piece, the iptables words and their
// family ("ipv4", "ipv6" or "both"), and a table ctmatch owns says so: what
// ctmatch apply -f of the listing reads to load it again with its group
// records. A rule ctmatch does not understand has no JSON form: it is written as a
// {"ctmatch-not-decompiled": …} object, which nft refuses, so that a
// reload never leaves it out silently.
const ListJSON ListFormat = 100

func writeJSONListing(w *bufio.Writer, l *Listing, o ListText) {
	w.WriteString(`{"nftables":[`)
	first := true
	obj := func(b []byte) {
		if !first {
			w.WriteByte(',')
		}
		first = false
		w.WriteString("\n")
		w.Write(b)
	}
	for _, t := range l.Tables {
		b := append([]byte(`{"table":{"family":`), jsonStr(t.Family.String())...)
		b = append(append(b, `,"name":`...), jsonStr(t.Name)...)
		if o.Handles {
			b = strconv.AppendUint(append(b, `,"handle":`...), t.Handle, 10)
		}
		if t.Dormant {
			// (libnftables' schema; nft reads it from 1.1.0 on: 1.0.6
			// ignores a table's flags in JSON.)
			b = append(b, `,"flags":["dormant"]`...)
		}
		if t.Owned {
			// ctmatch's ownership record, which nft ignores.
			b = append(b, `,"ctmatch":{"owned":true}`...)
		}
		obj(append(b, "}}"...))
		for _, ch := range t.Chains {
			obj(jsonChain(t, ch, o))
		}
		for _, ch := range t.Chains {
			for _, g := range ch.Groups {
				for i, p := range g.Pieces {
					obj(jsonRule(t, ch, g, i, p, o))
				}
			}
		}
	}
	w.WriteString("\n]}\n")
}

func jsonStr(s string) []byte {
	b, err := json.Marshal(s)
	if err != nil {
		return []byte(`""`)
	}
	return b
}

func jsonChain(t ListedTable, ch ListedChain, o ListText) []byte {
	b := append([]byte(`{"chain":{"family":`), jsonStr(t.Family.String())...)
	b = append(append(b, `,"table":`...), jsonStr(t.Name)...)
	b = append(append(b, `,"name":`...), jsonStr(ch.Name)...)
	if o.Handles {
		b = strconv.AppendUint(append(b, `,"handle":`...), ch.Handle, 10)
	}
	if bc := ch.Base; bc != nil {
		b = append(append(b, `,"type":`...), jsonStr(bc.TypeName())...)
		b = append(append(b, `,"hook":`...), jsonStr(bc.Hook.String())...)
		if bc.Device != "" {
			b = append(append(b, `,"dev":`...), jsonStr(bc.Device)...)
		}
		b = strconv.AppendInt(append(b, `,"prio":`...), int64(bc.Priority), 10)
		b = append(append(b, `,"policy":`...), jsonStr(bc.Policy.String())...)
	}
	return append(b, "}}"...)
}

func jsonRule(t ListedTable, ch ListedChain, g ListedGroup, i int, p Piece, o ListText) []byte {
	reason := ""
	switch {
	case g.Rule == nil:
		reason = notDecompiledReason(g)
	case !utf8.ValidString(p.Comment) || !utf8.ValidString(ctmatch.Words(g.Rule)):
		// A JSON string cannot carry such bytes: an encoder writes U+FFFD
		// in their place, and a reload would load other bytes.
		reason = "its comment or words hold bytes that are not UTF-8, which JSON cannot carry (list -o nft keeps them)"
	}
	if reason != "" {
		lines := p.DebugLines()
		b := append([]byte(`{"ctmatch-not-decompiled":{"family":`), jsonStr(t.Family.String())...)
		b = append(append(b, `,"table":`...), jsonStr(t.Name)...)
		b = append(append(b, `,"chain":`...), jsonStr(ch.Name)...)
		b = strconv.AppendUint(append(b, `,"handle":`...), p.Handle, 10)
		b = append(append(b, `,"reason":`...), jsonStr(reason)...)
		dl, _ := json.Marshal(lines)
		b = append(append(b, `,"expressions":`...), dl...)
		return append(b, "}}"...)
	}
	b := append([]byte(`{"rule":{"family":`), jsonStr(t.Family.String())...)
	b = append(append(b, `,"table":`...), jsonStr(t.Name)...)
	b = append(append(b, `,"chain":`...), jsonStr(ch.Name)...)
	if o.Handles {
		b = strconv.AppendUint(append(b, `,"handle":`...), p.Handle, 10)
	}
	if p.Comment != "" {
		b = append(append(b, `,"comment":`...), jsonStr(p.Comment)...)
	}
	c := kernel.Counter{}
	if p.Counter != nil {
		c = *p.Counter
	}
	r := expr.Rule{Matches: p.Rule.Matches, Counter: p.Rule.Counter, Stmts: p.Rule.Stmts, Verdict: p.Rule.Verdict}
	b = r.AppendJSONCounted(append(b, `,"expr":`...), c.Packets, c.Bytes)
	// ctmatch's record of the group, which nft ignores and ctmatch apply
	// reads: the iptables words on the first piece.
	b = strconv.AppendInt(append(b, `,"ctmatch":{"piece":`...), int64(i), 10)
	b = strconv.AppendInt(append(b, `,"pieces":`...), int64(len(g.Pieces)), 10)
	if i == 0 {
		fam := "ipv4"
		switch {
		case g.Both:
			fam = "both"
		case g.IPv6:
			fam = "ipv6"
		}
		b = append(append(b, `,"family":`...), jsonStr(fam)...)
		b = append(append(b, `,"words":`...), jsonStr(ctmatch.Words(g.Rule))...)
	}
	return append(b, "}}}"...)
}
