package parse

import (
	"sync"
	"unsafe"
)

// ruleAlloc holds a rule and room for the parts that most rules have, all
// allocated at once: a rule of a command, -p, a port, a conntrack match and
// a target takes one allocation for all of them rather than one each. A
// part the rule has more of than its room holds is allocated on its own.
type ruleAlloc struct {
	// What the parser took of the room. First: the parser reads these
	// before it writes them, and the object spans two or more pages. In
	// memory the process touches for the first time, a read maps the
	// kernel's zero page and the write after it then faults again and
	// flushes the other CPUs' TLBs (an IPI to each); here they share the
	// object's first page, where the allocator writes a header first.
	usedCommand, usedTarget, usedProtocol, usedPorts, usedConntrack bool
	nPortOpts                                                       int
	nItems                                                          int

	matches   [4]Match
	command   Command
	target    Target
	protocol  Protocol
	ports     Ports
	portOpts  [2]PortOption
	portPtrs  [2]*PortOption
	conntrack Conntrack
	options   [3]Option // (--ctstate with two more, or --sport, --dport and --ctstate, are common)
	optPtrs   [3]*Option

	items [4]Pos // the positions of the items of comma lists (--ctstate NEW,RELATED)

	// The rule last: newRuleAlloc writes it, so that the object's last
	// page, like its first (the allocator writes a header there), is
	// written before anything reads it. (The collector reads the whole
	// object, the room the parser has not written too.)
	rule Rule
}

// newRuleAlloc returns the room for a rule of text, with n options of the
// conntrack and state matches at most.
func newRuleAlloc(text string, counters *Counters) *ruleAlloc {
	a := roomPool.Get().(*ruleAlloc)
	a.rule = Rule{Text: text, Matches: a.matches[:0], Counters: counters}
	return a
}

// roomPool holds the rooms of released rules (Release), cleared.
var roomPool = sync.Pool{New: func() any { return new(ruleAlloc) }}

// Release gives the memory of a rule that the parser returned back, for a
// rule parsed after it: a program that parses many rules and drops each
// once it has compiled it (apply -f) parses them in the same few rooms
// instead of a new one each (1,280 bytes, most of what parsing a rule
// allocates), which the collector would have to find again.
//
// After Release, nothing may use r or anything reached through it (its
// addresses, matches, options, target): they are cleared and reused.
// Copies of r (Expand's, for a comma list of addresses) share those parts:
// a caller that made copies must not release r while they are in use. The
// strings read from r (its text, names, values) stay valid. Release of a
// copy, of a rule of more matches than its room holds, or of a rule the
// parser did not make does nothing.
func Release(r *Rule) {
	if r == nil || cap(r.Matches) != len(ruleAlloc{}.matches) {
		return
	}
	// The parser's rule is the rule of its room, whose matches are the
	// room's: r is one when its matches are where the room's would be.
	const (
		rule    = unsafe.Offsetof(ruleAlloc{}.rule)
		matches = unsafe.Offsetof(ruleAlloc{}.matches)
	)
	if uintptr(unsafe.Pointer(unsafe.SliceData(r.Matches)))-matches != uintptr(unsafe.Pointer(r))-rule {
		return
	}
	a := (*ruleAlloc)(unsafe.Add(unsafe.Pointer(r), -int(rule)))
	*a = ruleAlloc{}
	roomPool.Put(a)
}

// take returns room the first time (setting *used) and a new T after.
func take[T any](room *T, used *bool) *T {
	if *used {
		return new(T)
	}
	*used = true
	return room
}

func (p *parser) newCommand() *Command {
	return take(&p.alloc.command, &p.alloc.usedCommand)
}

func (p *parser) newTarget() *Target {
	return take(&p.alloc.target, &p.alloc.usedTarget)
}

func (p *parser) newProtocol() *Protocol {
	return take(&p.alloc.protocol, &p.alloc.usedProtocol)
}

func (p *parser) newConntrack() *Conntrack {
	return take(&p.alloc.conntrack, &p.alloc.usedConntrack)
}

func (p *parser) newPorts() *Ports {
	return take(&p.alloc.ports, &p.alloc.usedPorts)
}

// newPortOption returns a zero PortOption for m, and room in m.Options
// for it when m is the rule's first tcp or udp match.
func (p *parser) newPortOption(m *Ports) *PortOption {
	if m == &p.alloc.ports && m.Options == nil {
		m.Options = p.alloc.portPtrs[:0]
	}
	if p.alloc.nPortOpts == len(p.alloc.portOpts) {
		return new(PortOption)
	}
	p.alloc.nPortOpts++
	return &p.alloc.portOpts[p.alloc.nPortOpts-1]
}

// newItems returns an empty slice of room for n positions of list items,
// from the rule's room while it lasts (capped at n, so that appending to
// it never writes into another's).
func (p *parser) newItems(n int) []Pos {
	a := p.alloc
	if a.nItems+n > len(a.items) {
		return make([]Pos, 0, n)
	}
	s := a.items[a.nItems : a.nItems : a.nItems+n]
	a.nItems += n
	return s
}
