package parse

import (
	"math"
	"strings"
)

// This file reads the owner match ("-m owner [!] --uid-owner USER[-USER]
// [!] --gid-owner GROUP[-GROUP] [--suppl-groups] [!] --socket-exists"), as
// iptables 1.8.9 reads it (extensions/libxt_owner.c, revision 1): each
// option at most once, at least one of the first three; a user or group is
// a name (looked up first) or a number 0-4294967294 as strtoul with base 0
// reads it, or a range of two numbers joined by "-" or ":"; --suppl-groups
// only after --gid-owner and never negated. iptables-save prints the
// options in the order --socket-exists, --uid-owner, --gid-owner,
// --suppl-groups, names as their numbers.

// UserResolver is a Resolver that also looks up user and group names, for
// the owner match. A Resolver that is not one (Builtin) looks up none:
// a name is then refused as unsupported, a number always works.
type UserResolver interface {
	// User returns the user id of a user name; ok is false when there is
	// no such user.
	User(name string) (uid uint32, ok bool)
	// Group returns the group id of a group name; ok is false when there
	// is no such group.
	Group(name string) (gid uint32, ok bool)
}

// Owner is "-m owner …": the user, the group or the existence of the
// socket that sent the packet (xt_owner).
type Owner struct {
	Module       string      `json:"module"`   // "owner"
	Flag         Pos         `json:"pos"`      // the -m word
	NamePos      Pos         `json:"name_pos"` // the match name
	SocketExists *OwnerFlag  `json:"socket_exists,omitempty"`
	UID          *OwnerRange `json:"uid_owner,omitempty"`
	GID          *OwnerRange `json:"gid_owner,omitempty"`
	SupplGroups  *OwnerFlag  `json:"suppl_groups,omitempty"`
	end          Pos
}

func (*Owner) isMatch() {}

// Pos returns the position of -m.
func (m *Owner) Pos() Pos { return m.Flag }

// End returns the end of the match's last word.
func (m *Owner) End() Pos { return m.end }

// OwnerRange is "[!] --uid-owner USER" or "[!] --gid-owner GROUP": the ids
// Min to Max (the same for one id or a name).
type OwnerRange struct {
	Flag    Pos    `json:"pos"`
	Negated bool   `json:"negated"`
	NegPos  Pos    `json:"neg_pos"`
	Value   Word   `json:"value"`
	Min     uint32 `json:"min"`
	Max     uint32 `json:"max"`
}

// Pos returns the start of the option: its "!" when negated.
func (o *OwnerRange) Pos() Pos {
	if o.Negated {
		return o.NegPos
	}
	return o.Flag
}

// End returns the end of the option's value.
func (o *OwnerRange) End() Pos { return o.Value.End() }

// String returns the ids as iptables-save prints them: "1000", "1000-2000".
func (o *OwnerRange) String() string {
	if o.Min == o.Max {
		return uitoa(uint64(o.Min))
	}
	return uitoa(uint64(o.Min)) + "-" + uitoa(uint64(o.Max))
}

// OwnerFlag is "[!] --socket-exists" or "--suppl-groups".
type OwnerFlag struct {
	Flag    Pos  `json:"pos"`
	Negated bool `json:"negated"`
	NegPos  Pos  `json:"neg_pos"`
	end     Pos
}

// Pos returns the start of the option: its "!" when negated.
func (o *OwnerFlag) Pos() Pos {
	if o.Negated {
		return o.NegPos
	}
	return o.Flag
}

// End returns the end of the option.
func (o *OwnerFlag) End() Pos { return o.end }

// ownerOpt says which option of the owner match a spec is.
type ownerOpt uint8

const (
	ownerUID ownerOpt = iota + 1
	ownerGID
	ownerSocketExists
	ownerSupplGroups
)

var ownerSpecs = []optSpec{
	{long: "uid-owner", what: "a user name or id", owner: ownerUID},
	{long: "gid-owner", what: "a group name or id", owner: ownerGID},
	{long: "socket-exists", owner: ownerSocketExists},
	{long: "suppl-groups", owner: ownerSupplGroups},
}

// ownerMatch reads -m owner.
func (p *parser) ownerMatch(w, v word) error {
	m := &Owner{Module: "owner", Flag: w.pos, NamePos: v.pos, end: v.end}
	p.rule.Matches = append(p.rule.Matches, m)
	p.lastOwner = m
	return nil
}

// ownerOption reads an option of the last owner match.
func (p *parser) ownerOption(w word, neg *word, spec *optSpec, attached string, hasValue bool) error {
	m := p.lastOwner
	name := "--" + spec.long
	switch spec.owner {
	case ownerSocketExists, ownerSupplGroups:
		if hasValue {
			return p.errorf(w, "option %s takes no value", name)
		}
		slot := &m.SocketExists
		if spec.owner == ownerSupplGroups {
			slot = &m.SupplGroups
			if neg != nil {
				return p.errorf(*neg, "owner: option \"--suppl-groups\" cannot be inverted")
			}
		}
		if *slot != nil {
			return p.errorf(w, "owner: option \"%s\" can only be used once", name)
		}
		if spec.owner == ownerSupplGroups && m.GID == nil {
			return p.errorf(w, "owner: Bad value for \"--suppl-groups\" option: \"you need to use --gid-owner first\"")
		}
		f := &OwnerFlag{Flag: w.pos, NegPos: NoPos, end: w.end}
		if neg != nil {
			f.Negated, f.NegPos = true, neg.pos
		}
		*slot = f
		m.end = max(m.end, w.end)
		return nil
	}
	slot := &m.UID
	if spec.owner == ownerGID {
		slot = &m.GID
	}
	if *slot != nil {
		return p.errorf(w, "owner: option \"%s\" can only be used once", name)
	}
	v, err := p.value(w, spec, attached, hasValue)
	if err != nil {
		return err
	}
	o := &OwnerRange{Flag: w.pos, NegPos: NoPos, Value: Word{Text: p.text[v.pos:v.end], At: v.pos}}
	if neg != nil {
		o.Negated, o.NegPos = true, neg.pos
	}
	if err := p.ownerIDs(v, spec.owner == ownerGID, name, o); err != nil {
		return err
	}
	*slot = o
	m.end = max(m.end, v.end)
	return nil
}

// ownerIDs reads a user or group: a name the resolver knows, a number, or
// a range of two numbers.
func (p *parser) ownerIDs(v word, group bool, name string, o *OwnerRange) error {
	if ur, ok := p.opts.Resolver.(UserResolver); ok && v.val != "" {
		lookup := ur.User
		if group {
			lookup = ur.Group
		}
		if id, ok := lookup(v.val); ok {
			o.Min, o.Max = id, id
			return nil
		}
	}
	bad := func() *Error {
		e := p.errorf(v, "owner: Bad value for %q option: %q", name, v.val)
		e.Hint = "expected a name, a number 0-4294967294 or a range N-M"
		return e
	}
	lo, hi, isRange := v.val, "", false
	if i := strings.IndexAny(v.val, "-:"); i >= 0 {
		lo, hi, isRange = v.val[:i], v.val[i+1:], true
	}
	min, ok := parseCNumber(lo, math.MaxUint32-1)
	if !ok {
		if !isRange && isOwnerName(v.val) {
			if _, ok := p.opts.Resolver.(UserResolver); !ok {
				what := "user"
				if group {
					what = "group"
				}
				e := p.unsupportedf(v, "%s name %q: ctmatch looks names up only with the system's user database", what, v.val)
				e.Hint = "give the id as a number, or use the ctmatch command, which reads the system's user and group names"
				p.keepUnsupported(e)
				o.Min, o.Max = 0, 0
				return nil
			}
		}
		return bad()
	}
	max := min
	if isRange {
		if max, ok = parseCNumber(hi, math.MaxUint32-1); !ok {
			return bad()
		}
		if max < min {
			e := p.errorf(v, "owner: reversed range %q for option %q: the kernel refuses it (xt_owner's owner_check)", v.val, name)
			e.Hint = "write the lower id first"
			return e
		}
	}
	o.Min, o.Max = uint32(min), uint32(max)
	return nil
}

// isOwnerName reports whether s could be a user or group name: a word
// that does not start with a digit.
func isOwnerName(s string) bool {
	return s != "" && (s[0] < '0' || s[0] > '9') && s[0] != '+' && s[0] != '-' && !strings.ContainsAny(s, " \t")
}

// checkOwner checks, once every word is read, that the match got an option
// (owner_mt_check), and says what ctmatch cannot translate exactly.
func (p *parser) checkOwner(m *Owner) error {
	if m.UID == nil && m.GID == nil && m.SocketExists == nil {
		return &Error{Pos: m.NamePos, Word: p.text[m.NamePos:min(int(m.NamePos)+len(m.Module), len(p.text))], Text: p.text,
			Msg: "owner: At least one of --uid-owner, --gid-owner or --socket-exists is required"}
	}
	if p.unsupported != nil {
		return nil
	}
	switch {
	case m.SocketExists != nil:
		e := &Error{Pos: m.SocketExists.Pos(), Word: p.text[m.SocketExists.Pos():m.SocketExists.End()], Text: p.text, Kind: Unsupported,
			Msg: "owner: --socket-exists is valid iptables, but nft has no test of it: xt_owner takes a socket without a file (a kernel socket) as existing, and nft's meta skuid stops the rule there"}
		e.Hint = "leave it out where every packet of the rule has a user's socket, or keep the rule in iptables"
		p.unsupported = e
	case m.SupplGroups != nil:
		e := &Error{Pos: m.SupplGroups.Flag, Word: p.text[m.SupplGroups.Flag:m.SupplGroups.End()], Text: p.text, Kind: Unsupported,
			Msg: "owner: --suppl-groups is valid iptables, but nft has no test of a socket's supplementary groups"}
		e.Hint = "match the users with --uid-owner instead"
		p.unsupported = e
	default:
		for _, o := range []*OwnerRange{m.UID, m.GID} {
			if o == nil || !o.Negated {
				continue
			}
			e := &Error{Pos: o.NegPos, Word: p.text[o.NegPos:o.End()], Text: p.text, Kind: Unsupported,
				Msg: "owner: a negated id is valid iptables, but xt_owner matches it for packets without a user's socket too (replies and errors the kernel sends), and nft's meta skuid and skgid stop the rule on them"}
			e.Hint = "write the accepted ids positively, or keep the rule in iptables"
			p.unsupported = e
			break
		}
	}
	return nil
}

// owner prints the match as iptables-save does:
// "-m owner ! --socket-exists --uid-owner 0 --gid-owner 0-10 --suppl-groups".
func (p *printer) owner(m *Owner) {
	p.word("-m")
	p.word(m.Module)
	if f := m.SocketExists; f != nil {
		if f.Negated {
			p.word("!")
		}
		p.word("--socket-exists")
	}
	for _, o := range []struct {
		name string
		o    *OwnerRange
	}{{"--uid-owner", m.UID}, {"--gid-owner", m.GID}} {
		if o.o == nil {
			continue
		}
		if o.o.Negated {
			p.word("!")
		}
		p.word(o.name)
		p.word(o.o.String())
	}
	if m.SupplGroups != nil {
		p.word("--suppl-groups")
	}
}

// String returns the match in canonical iptables-save form.
func (m *Owner) String() string {
	var p printer
	p.owner(m)
	return p.b.String()
}
