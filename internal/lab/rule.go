package lab

import (
	"fmt"
	"slices"
	"strings"

	"github.com/ctmatch/ctmatch/parse"
)

// What a case's words hold decides which xt side runs them.
//
// A case of conntrack (and state) matches alone runs through iptables-nft,
// which stores each match as an xt expression (checked by xtOnly) and whose
// rules the lab can patch where iptables cannot say a mask. A case with any
// other word (-p, ports, -s/-d, -i/-o, other matches) runs through
// iptables-legacy: iptables-nft stores -p, ports, addresses and interfaces
// as native nft expressions, which would compare nft with nft; the legacy
// tables are the kernel's ip_tables and ip6_tables, run by
// ip_packet_match/ip6_packet_match and the xt matches.

// backend is an xt side: iptables-nft or iptables-legacy.
type backend uint8

const (
	xtNFT backend = iota
	xtLegacy
)

func (b backend) String() string {
	if b == xtLegacy {
		return "legacy"
	}
	return "nft"
}

// tool returns the program of backend b for family f: iptables-save,
// ip6tables-legacy-restore, ….
func (b backend) tool(f Family, suffix string) string {
	if b == xtLegacy {
		return xtTool(f, "-legacy"+suffix)
	}
	return xtTool(f, suffix)
}

// wordsInfo is what the lab needs to know of a case's words.
type wordsInfo struct {
	whole     bool // a word besides conntrack and state matches
	conntrack bool // a conntrack or state match
	outIface  bool // -o: not at an input hook
	inIface   bool // -i: not at an output hook
}

func readWords(c Case) (wordsInfo, error) {
	fam := parse.IPv4
	if c.Family == IPv6 {
		fam = parse.IPv6
	}
	r, err := parse.ParseText(c.Words, parse.Options{Family: fam})
	if err != nil {
		if c.Translation == nil {
			return wordsInfo{}, fmt.Errorf("case %s: %w", c.Name, err)
		}
		// Words ctmatch does not read yet, with a translation of the
		// test's own (a match of iptables ctmatch does not support):
		// what they hold is read from the words themselves.
		return scanWords(c.Words), nil
	}
	var w wordsInfo
	w.whole = r.Src != nil || r.Dst != nil || r.InIface != nil || r.OutIface != nil || r.Protocol != nil || r.Fragment != nil
	w.outIface = r.OutIface != nil
	w.inIface = r.InIface != nil
	for _, m := range r.Matches {
		if _, ok := m.(*parse.Conntrack); ok {
			w.conntrack = true
		} else {
			w.whole = true
		}
	}
	return w, nil
}

// backendOf returns the xt side that runs a case.
func backendOf(w wordsInfo) backend {
	if w.whole {
		return xtLegacy
	}
	return xtNFT
}

// at reports whether a case runs at point pt: at the points it names, or,
// when it names none, at every point whose hook its words may be used in
// (iptables refuses -o in INPUT and -i in OUTPUT).
func (c Case) at(pt Point, w wordsInfo) bool {
	if c.Points != nil {
		return slices.Contains(c.Points, pt.Name)
	}
	return !(w.outIface && pt.XTChain == "INPUT" || w.inIface && pt.XTChain == "OUTPUT")
}

// scanWords tells from the words alone what readWords tells from the parsed
// rule.
func scanWords(words string) wordsInfo {
	var w wordsInfo
	f := strings.Fields(words)
	for i, x := range f {
		switch x {
		case "-p", "--protocol", "-s", "--source", "-d", "--destination", "-f", "--fragment":
			w.whole = true
		case "-i", "--in-interface":
			w.whole, w.inIface = true, true
		case "-o", "--out-interface":
			w.whole, w.outIface = true, true
		case "-m", "--match":
			if i+1 < len(f) && (f[i+1] == "conntrack" || f[i+1] == "state") {
				w.conntrack = true
			} else {
				w.whole = true
			}
		}
	}
	return w
}
