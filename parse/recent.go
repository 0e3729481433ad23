package parse

import (
	"fmt"
	"math"
	"net/netip"
	"strings"
)

// This file reads the recent match ("-m recent --set|--rcheck|--update|
// --remove …"), as iptables 1.8.9 reads it (extensions/libxt_recent.c,
// revision 1: every option at most once; one of the four modes, each
// invertible; --seconds a number 1-4294967295, --reap only with --seconds,
// --hitcount a number, --rttl not with --set or --remove, --name a string
// cut to 199 bytes, --rsource or --rdest, --mask an address of the rule's
// family) and as iptables-save prints it (the mode, --seconds, --reap,
// --hitcount, --rttl, then always --name, --mask and the side:
// "-m recent --set --name DEFAULT --mask 255.255.255.255 --rsource").
//
// The kernel's xt_recent keeps a list of addresses per name and network
// namespace. Only "--set" is translated: it adds the address to the list
// and matches every packet, so in a ruleset where nothing reads the list
// the rule is the rule without the match (compile/recent.go). The modes
// that read the list, and "! --set", which matches no packet, are valid
// iptables that ctmatch refuses.

// RecentMode is the mode of a recent match: what it does with its list.
type RecentMode uint8

// The modes of the recent match.
const (
	RecentSet    RecentMode = iota + 1 // --set: add or refresh the address, match
	RecentCheck                        // --rcheck: match when the address is in the list
	RecentUpdate                       // --update: as --rcheck, and refresh the address when it matches
	RecentRemove                       // --remove: match when the address is in the list, and remove it
)

// String returns the mode's option: "--set", "--rcheck", "--update" or
// "--remove".
func (k RecentMode) String() string {
	switch k {
	case RecentSet:
		return "--set"
	case RecentCheck:
		return "--rcheck"
	case RecentUpdate:
		return "--update"
	case RecentRemove:
		return "--remove"
	}
	return fmt.Sprintf("RecentMode(%d)", uint8(k))
}

// MarshalText gives the mode's name in the JSON syntax tree: "set",
// "rcheck", "update" or "remove".
func (k RecentMode) MarshalText() ([]byte, error) {
	switch k {
	case RecentSet, RecentCheck, RecentUpdate, RecentRemove:
		return []byte(k.String()[2:]), nil
	}
	return nil, fmt.Errorf("parse: unknown recent mode %d", uint8(k))
}

// RecentDefaultName is the list a recent match without --name uses.
const RecentDefaultName = "DEFAULT"

// MaxRecentName is the longest list name iptables keeps, in bytes: the
// kernel's XT_RECENT_NAME_LEN (200) less the terminating NUL. iptables
// 1.8.9 cuts a longer one to this length without a word, and so does
// ctmatch.
const MaxRecentName = 199

// maxRecentHitcount is the largest --hitcount the kernel takes
// (XT_RECENT_MAX_NSTAMPS less one since Linux 6.11; 255 before).
const maxRecentHitcount = 65535

// Recent is "-m recent": a mode, the list's name, the side of the packet
// whose address goes into the list, and the mask applied to it.
type Recent struct {
	Module  string `json:"module"`   // "recent"
	Flag    Pos    `json:"pos"`      // the -m word
	NamePos Pos    `json:"name_pos"` // the "recent" word

	Mode     RecentMode `json:"mode"`     // 0 until a mode option is read
	ModePos  Pos        `json:"mode_pos"` // the mode's option word
	Negated  bool       `json:"negated"`  // "!" before the mode
	NegPos   Pos        `json:"neg_pos"`  // NoPos when not negated
	Seconds  uint32     `json:"seconds"`  // --seconds; 0 when not given
	Reap     bool       `json:"reap"`     // --reap
	Hitcount uint32     `json:"hitcount"` // --hitcount; 0 when not given (or given as 0)
	RTTL     bool       `json:"rttl"`     // --rttl
	// List is the list's name: --name's value cut to MaxRecentName bytes,
	// or RecentDefaultName.
	List string `json:"list"`
	// Dest says the packet's destination address goes into the list
	// (--rdest); otherwise its source (--rsource, the default).
	Dest bool `json:"dest"`
	// Mask is applied to the address (--mask); every bit of the family
	// when not given.
	Mask netip.Addr `json:"mask"`

	given map[string]Pos // where each option given starts, by name
	end   Pos
	// refused is the rule's Unsupported error when this match's mode was
	// the rule's first word ctmatch does not take; check fills it in once
	// the list's name is known.
	refused *Error
}

func (*Recent) isMatch() {}

// Pos returns the position of -m.
func (m *Recent) Pos() Pos { return m.Flag }

// ModeWord returns the mode's option word (--set, or as it was abbreviated
// or given with "=") of text, the rule's text, and its position; the
// "recent" word when no mode was read.
func (m *Recent) ModeWord(text string) (string, Pos) {
	at := m.ModePos
	if at == NoPos {
		at = m.NamePos
	}
	if at < 0 || int(at) >= len(text) {
		return "", at
	}
	end := int(at)
	for end < len(text) && text[end] != ' ' && text[end] != '\t' {
		end++
	}
	return text[at:end], at
}

// End returns the end of the match's last word.
func (m *Recent) End() Pos { return m.end }

func (m *Recent) module() string { return "recent" }

// String returns the match in canonical iptables-save form, e.g.
// "-m recent --set --name DEFAULT --mask 255.255.255.255 --rsource".
func (m *Recent) String() string {
	var p printer
	m.print(&p)
	return p.b.String()
}

// SetOnly reports whether the match is "--set" without "!": the one form
// whose effect on the packets of a ruleset that never reads the list is
// none (it adds the address to the list and matches every packet).
func (m *Recent) SetOnly() bool { return m.Mode == RecentSet && !m.Negated }

func init() {
	flag := func(name string, inv bool) optSpec {
		return optSpec{long: name, ext: "recent", invertible: inv}
	}
	extModules["recent"] = &extModule{
		specs: []optSpec{
			flag("set", true), flag("rcheck", true), flag("update", true), flag("remove", true),
			{long: "seconds", what: "a number of seconds", ext: "recent"},
			flag("reap", false),
			{long: "hitcount", what: "a number of hits", ext: "recent"},
			flag("rttl", false),
			{long: "name", what: "a list name", ext: "recent"},
			flag("rsource", false), flag("rdest", false),
			{long: "mask", what: "a mask", ext: "recent"},
		},
		load: func(p *parser, w, v word) (extMatch, error) {
			m := &Recent{Module: "recent", Flag: w.pos, NamePos: v.pos, NegPos: NoPos, ModePos: NoPos, List: RecentDefaultName, end: v.end}
			m.Mask = netip.IPv4Unspecified()
			if p.opts.Family == IPv6 {
				m.Mask = netip.IPv6Unspecified()
			}
			m.Mask = onesPrefix(m.Mask, m.Mask.BitLen())
			return m, nil
		},
	}
}

func (m *Recent) option(p *parser, w word, neg *word, spec *optSpec, v word) error {
	if _, ok := m.given[spec.long]; ok {
		return p.errorf(w, "recent: option \"--%s\" can only be used once", spec.long)
	}
	if m.given == nil {
		m.given = map[string]Pos{}
	}
	m.given[spec.long] = w.pos
	end := w.end
	if spec.what != "" {
		end = v.end
	}
	switch spec.long {
	case "set", "rcheck", "update", "remove":
		if m.Mode == 0 {
			m.Mode = map[string]RecentMode{"set": RecentSet, "rcheck": RecentCheck, "update": RecentUpdate, "remove": RecentRemove}[spec.long]
			m.ModePos = w.pos
			if neg != nil {
				m.Negated, m.NegPos = true, neg.pos
			}
			// A mode ctmatch does not take is the rule's refusal when
			// nothing before it was refused: the words after it (another
			// refused match) do not take its place.
			if !m.SetOnly() && p.unsupported == nil {
				m.refused = &Error{}
				p.unsupported = m.refused
			}
		}
	case "seconds":
		n, ok := parseCNumber(v.val, math.MaxUint32)
		if !ok || n == 0 {
			e := p.errorf(v, "recent: bad value %q for option \"--seconds\", or out of range (1-4294967295)", v.val)
			e.Hint = "expected a number of seconds 1-4294967295"
			return e
		}
		m.Seconds = uint32(n)
	case "hitcount":
		n, ok := parseCNumber(v.val, math.MaxUint32)
		if !ok {
			e := p.errorf(v, "recent: bad value %q for option \"--hitcount\", or out of range (0-4294967295)", v.val)
			e.Hint = "expected a number of hits"
			return e
		}
		if n > maxRecentHitcount {
			return p.errorf(v, "recent: a hitcount of %d: the kernel's xt_recent refuses one above %d (255 before Linux 6.11)", n, maxRecentHitcount)
		}
		m.Hitcount = uint32(n)
	case "reap":
		m.Reap = true
	case "rttl":
		m.RTTL = true
	case "name":
		name := v.val
		if len(name) > MaxRecentName {
			// xtopt_parse_string copies at most size-1 bytes.
			name = name[:MaxRecentName]
		}
		if name == "" || name == "." || name == ".." || strings.IndexByte(name, '/') >= 0 {
			return p.errorf(v, "recent: list name %q: the kernel's xt_recent refuses it (the name is a file in /proc/net/xt_recent: not empty, not \".\" or \"..\", no \"/\")", name)
		}
		m.List = name
	case "rsource":
		m.Dest = false
	case "rdest":
		m.Dest = true
	case "mask":
		a, err := p.host(v, v.val)
		if err != nil {
			return err
		}
		m.Mask = a
	}
	if end > m.end {
		m.end = end
	}
	return nil
}

// recentModes are the mode options in iptables' order.
var recentModes = []string{"set", "rcheck", "update", "remove"}

// check checks what iptables' final check and the kernel's checkentry
// check once every word is read, and refuses the forms ctmatch does not
// translate.
func (m *Recent) check(p *parser) error {
	n := 0
	for _, c := range recentModes {
		if _, ok := m.given[c]; ok {
			n++
		}
	}
	_, seconds := m.given["seconds"]
	switch {
	case n > 1:
		// iptables names the first two in its order of the modes, at the
		// later of the two words.
		var two []string
		for _, c := range recentModes {
			if _, ok := m.given[c]; ok {
				two = append(two, c)
			}
		}
		at := max(m.given[two[0]], m.given[two[1]])
		return p.errorf(p.wordStarting(at), "recent: option \"--%s\" cannot be used together with \"--%s\"", two[0], two[1])
	case m.Reap && !seconds:
		return p.matchError(m.NamePos, m.Module, "recent: option \"--reap\" also requires \"--seconds\"")
	case m.RTTL && (m.Mode == RecentSet || m.Mode == RecentRemove):
		return p.matchError(m.NamePos, m.Module, fmt.Sprintf("recent: option \"--rttl\" cannot be used together with \"%s\"", m.Mode))
	case n == 0:
		return p.matchError(m.NamePos, m.Module, "recent: you must specify one of `--set', `--rcheck' `--update' or `--remove'")
	}
	if m.Mode == RecentSet || m.Mode == RecentRemove {
		// recent_mt_check: the modes that do not read the time stamps
		// take no --seconds, --hitcount (but 0) or --reap.
		for _, o := range []string{"seconds", "hitcount", "reap"} {
			at, ok := m.given[o]
			if !ok || o == "hitcount" && m.Hitcount == 0 {
				continue
			}
			return p.errorf(p.wordStarting(at), "recent: option \"--%s\" with %s: the kernel's xt_recent refuses it (it is for --rcheck and --update)", o, m.Mode)
		}
	}
	switch {
	case m.refused != nil && p.unsupported == m.refused:
		*m.refused = *m.Refusal(p.text)
	case p.unsupported == nil:
		p.unsupported = m.Refusal(p.text)
	}
	return nil
}

// Refusal returns why ctmatch does not translate the match, an Unsupported
// error at the mode's word of text (the rule's text), or nil for --set
// without "!", the one form it translates.
func (m *Recent) Refusal(text string) *Error {
	if m.SetOnly() {
		return nil
	}
	word, at := m.ModeWord(text)
	e := &Error{Pos: at, Word: word, Text: text, Kind: Unsupported}
	if m.Mode == RecentSet {
		e.Msg = fmt.Sprintf("-m recent ! --set is valid iptables, but ctmatch does not translate it: it adds the address to the list %s and matches no packet", SaveString(m.List))
		e.Hint = "leave out the rule (it matches nothing), or keep it in iptables"
		return e
	}
	neg := ""
	if m.Negated {
		neg = "! "
	}
	e.Msg = fmt.Sprintf("-m recent %s%s is valid iptables, but ctmatch cannot translate it exactly: it reads the list %s, which lives in the kernel's xt_recent (/proc/net/xt_recent), and an nft set neither holds nor forgets addresses as that list does", neg, m.Mode, SaveString(m.List))
	e.Hint = "keep the rules that read the list, and those that fill it, in iptables; or rewrite them by hand with an nft set (add @NAME { ip saddr } and ip saddr @NAME)"
	return e
}

// recentName returns a list name as a word iptables-restore reads back:
// as iptables-save prints it (as it is) when it is one word without a
// quote or backslash, and otherwise quoted as SaveString quotes.
func recentName(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\n\v\f\r\"'\\") {
		return s
	}
	return SaveString(s)
}

func (m *Recent) print(p *printer) {
	p.word("-m")
	p.word("recent")
	if m.Mode != 0 {
		if m.Negated {
			p.word("!")
		}
		p.word(m.Mode.String())
	}
	if m.Seconds != 0 {
		p.word("--seconds")
		p.word(uitoa(uint64(m.Seconds)))
	}
	if m.Reap {
		p.word("--reap")
	}
	if m.Hitcount != 0 {
		p.word("--hitcount")
		p.word(uitoa(uint64(m.Hitcount)))
	}
	if m.RTTL {
		p.word("--rttl")
	}
	p.word("--name")
	p.word(recentName(m.List))
	p.word("--mask")
	p.word(m.Mask.String())
	if m.Dest {
		p.word("--rdest")
	} else {
		p.word("--rsource")
	}
}

// wordStarting returns the word of the rule that starts at pos.
func (p *parser) wordStarting(pos Pos) word {
	for _, w := range p.words {
		if w.pos == pos {
			return w
		}
	}
	return word{pos: pos, end: pos}
}
