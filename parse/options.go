package parse

import (
	"errors"
	"slices"
	"strings"
)

// familyOpt is -4 (family4) or -6 (family6); 0 for the other options.
type familyOpt uint8

const (
	family4 familyOpt = iota + 1
	family6
)

// is reports whether the option names family f.
func (o familyOpt) is(f Family) bool { return o == family4 && f == IPv4 || o == family6 && f == IPv6 }

type frameOpt uint8

const (
	frameNone frameOpt = iota
	frameTable
	frameAppend
	frameInsert
	frameMatch
	frameJump
	frameGoto
	frameCounters
	frameProtocol
)

// optSpec describes one option word iptables knows.
type optSpec struct {
	long        string
	short       string
	what        string        // what its value is, for "expected …" messages
	frame       frameOpt      // an option of the rule frame
	ct          *ctSpec       // an option of the conntrack or state match
	port        PortKind      // an option of the tcp or udp match
	icmp        bool          // the option of the icmp or icmp6 match
	hl          HLKind        // an option of the ttl or hl match
	tcp         tcpKind       // --tcp-flags, --syn or --tcp-option of the tcp match
	fragment    bool          // -f
	comment     bool          // the option of the comment match
	addrtype    addrtypeOpt   // an option of the addrtype match
	pkttype     bool          // the option of the pkttype match
	owner       ownerOpt      // an option of the owner match
	unsupported string        // valid iptables that ctmatch does not support: what it is
	limit       uint8         // an option of the limit match (limitOptRate, limitOptBurst)
	mark        bool          // the option of the mark and connmark matches
	multiport   MultiportKind // an option of the multiport match
	ext         string        // the module of an option of the matches of ext.go ("length")
	refused     string        // the module of an option of a match of refused.go ("physdev")
	family      familyOpt     // -4 or -6 (familyOption)

	// target is an option of the target extension loaded with -j (target.go).
	target TargetOptionKind

	// For the options ctmatch does not support, what iptables reads after
	// them, so that the words after them are still checked: args values it
	// requires, then up to optArgs more when they do not look like options.
	args, optArgs int
	invertible    bool   // ! may come before it
	once          string // the flag iptables allows only once ("-p"); "" when it may repeat
	command       bool   // a command, such as -D: at most one per rule
	foreign       bool   // it loads an extension whose options ctmatch does not know (-p loads the protocol's match)
	iface         bool   // -i or -o
	addr          bool   // -s or -d
	listing       bool   // an option of the listing commands only (iptables: "Illegal option `-n' with this command")
}

// frameOptions are iptables' own options: the rule frame ctmatch reads, and
// the rest, which it recognises in order to say they are not supported.
var frameOptions = []optSpec{
	{long: "table", short: "t", what: "a table name", frame: frameTable},
	{long: "append", short: "A", what: "a chain name", frame: frameAppend, command: true},
	{long: "insert", short: "I", what: "a chain name", frame: frameInsert, command: true},
	{long: "match", short: "m", what: "a match name", frame: frameMatch},
	{long: "jump", short: "j", what: "a target name", frame: frameJump},
	{long: "goto", short: "g", what: "a chain name", frame: frameGoto},
	{long: "set-counters", short: "c", what: "the packet count", frame: frameCounters},

	{long: "protocol", short: "p", what: "a protocol", frame: frameProtocol},
	{long: "source", short: "s", what: "an address", addr: true, once: "-s"},
	{long: "src", what: "an address", addr: true, once: "-s"},
	{long: "destination", short: "d", what: "an address", addr: true, once: "-d"},
	{long: "dst", what: "an address", addr: true, once: "-d"},
	{long: "in-interface", short: "i", what: "an interface name", iface: true, once: "-i"},
	{long: "out-interface", short: "o", what: "an interface name", iface: true, once: "-o"},
	{long: "fragment", short: "f", fragment: true},
	{long: "ipv4", short: "4", family: family4},
	{long: "ipv6", short: "6", family: family6},
	{long: "wait", short: "w", unsupported: "the xtables lock", optArgs: 1},
	{long: "wait-interval", short: "W", unsupported: "the xtables lock", args: 1},
	{long: "verbose", short: "v", unsupported: "verbose output"},
	{long: "numeric", short: "n", unsupported: "listing options", listing: true},
	{long: "exact", short: "x", unsupported: "listing options", listing: true},
	{long: "line-numbers", unsupported: "listing options", listing: true},
	{long: "modprobe", unsupported: "loading modules", args: 1},
	{long: "delete", short: "D", unsupported: "the -D command: use ctmatch delete rule", args: 1, optArgs: 1, command: true},
	{long: "replace", short: "R", unsupported: "the -R command", args: 2, command: true},
	{long: "check", short: "C", unsupported: "the -C command", args: 1, command: true},
	{long: "list", short: "L", unsupported: "the -L command: use ctmatch list", optArgs: 1, command: true},
	{long: "list-rules", short: "S", unsupported: "the -S command: use ctmatch list -o iptables", optArgs: 2, command: true},
	{long: "flush", short: "F", unsupported: "the -F command", optArgs: 1, command: true},
	{long: "zero", short: "Z", unsupported: "the -Z command", optArgs: 2, command: true},
	{long: "new-chain", short: "N", unsupported: "the -N command", args: 1, command: true},
	{long: "delete-chain", short: "X", unsupported: "the -X command", optArgs: 1, command: true},
	{long: "rename-chain", short: "E", unsupported: "the -E command", args: 2, command: true},
	{long: "policy", short: "P", unsupported: "the -P command", args: 2, command: true},
	{long: "help", short: "h", unsupported: "--help among the rule words: run ctmatch --help"},
	{long: "version", short: "V", unsupported: "--version among the rule words: run ctmatch version"},
}

// frameByName and ctByName index the options by their full long name.
var frameByName, ctByName = byName(frameOptions), byName(ctSpecs)

func byName(specs []optSpec) map[string]*optSpec {
	m := make(map[string]*optSpec, len(specs))
	for i := range specs {
		m[specs[i].long] = &specs[i]
	}
	return m
}

func lookupShort(name string) *optSpec {
	for i := range frameOptions {
		if frameOptions[i].short == name {
			return &frameOptions[i]
		}
	}
	return nil
}

// IsOtherCommand reports whether err refuses an iptables command other than
// -A and -I (-N, -P, -D, -F, …, written short or as an unambiguous prefix
// of its long name): valid iptables that ctmatch does not take, which a
// caller that needs -A or -I reports as it is (exit 1), not as words
// without a command.
func IsOtherCommand(err error) bool {
	var e *Error
	if !errors.As(err, &e) || e.Kind != Unsupported {
		return false
	}
	var spec *optSpec
	switch w := e.Word; {
	case strings.HasPrefix(w, "--"):
		name, _, _ := strings.Cut(w[2:], "=")
		for i := range frameOptions {
			if name != "" && strings.HasPrefix(frameOptions[i].long, name) {
				if spec != nil {
					return false // ambiguous
				}
				spec = &frameOptions[i]
			}
		}
	case len(w) >= 2 && w[0] == '-':
		spec = lookupShort(w[1:2])
	}
	return spec != nil && spec.command && spec.frame == frameNone
}

// lookupLong finds a long option by its name or, as getopt_long does, by an
// unambiguous prefix of it, among iptables' own options and those of the
// matches loaded so far (iptables merges the options of each extension it
// loads into one table). It returns nil, and no error, for an option that
// no known extension defines when an extension ctmatch does not know was
// loaded: the option may be that extension's.
func (p *parser) lookupLong(w word, name string) (*optSpec, error) {
	if s := frameByName[name]; s != nil {
		return s, nil
	}
	if s := p.multiportSpec(name); s != nil {
		return s, nil
	}
	if p.lastCT != nil {
		if s := ctByName[name]; s != nil {
			return s, nil
		}
	}
	if p.portsLoaded() {
		if s := portByName[name]; s != nil {
			return s, nil
		}
		if p.tcpLoaded() {
			if s := tcpOnlyByName[name]; s != nil {
				return s, nil
			}
		}
		if s := p.portsOnlySpec(name); s != nil {
			return s, nil
		}
	}
	if p.lastState != nil && name == "state" {
		return &stateSpecs[0], nil
	}
	if s := p.hlSpecExact(name); s != nil {
		return s, nil
	}
	if p.lastComment != nil && name == "comment" {
		return &commentSpecs[0], nil
	}
	if s := p.limitSpecExact(name); s != nil {
		return s, nil
	}
	if p.lastMark != nil && name == "mark" {
		return &markSpecs[0], nil
	}
	if s := p.targetSpecExact(name); s != nil {
		return s, nil
	}
	if is := p.icmpSpecsLoaded(); is != nil && is[0].long == name {
		return &is[0], nil
	}
	if s := p.extSpecExact(name); s != nil {
		return s, nil
	}
	if s := p.refusedSpecExact(name); s != nil {
		return s, nil
	}
	var cands []*optSpec
	add := func(specs []optSpec) {
		for i := range specs {
			if name != "" && strings.HasPrefix(specs[i].long, name) {
				cands = append(cands, &specs[i])
			}
		}
	}
	add(frameOptions)
	if p.lastCT != nil {
		add(ctSpecs)
	}
	if p.lastState != nil {
		add(stateSpecs)
	}
	if p.portsLoaded() {
		add(portSpecs)
		if p.tcpLoaded() {
			add(tcpOnlySpecs)
		}
		add(p.portsOnlySpecs())
	}
	add(p.icmpSpecsLoaded())
	add(p.hlSpecsLoaded())
	if p.lastComment != nil {
		add(commentSpecs)
	}
	add(p.addrtypeSpecsLoaded())
	if p.lastPkttype != nil {
		add(pkttypeSpecs)
	}
	if p.lastOwner != nil {
		add(ownerSpecs)
	}
	add(p.limitSpecsLoaded())
	if p.lastMark != nil {
		add(markSpecs)
	}
	add(p.targetSpecsLoaded())
	if p.lastMultiport != nil {
		add(multiportSpecs)
	}
	p.extSpecsLoaded(add)
	p.refusedSpecsLoaded(add)
	if p.foreign && slices.ContainsFunc(cands, func(s *optSpec) bool {
		return s.ct == nil && s.port == 0 && !s.icmp && s.hl == 0 && !s.comment && s.addrtype == 0 && !s.pkttype && s.owner == 0 && s.limit == 0 && !s.mark && s.tcp == 0 && s.target == 0 && s.multiport == 0 && s.ext == "" && s.refused == ""
	}) {
		// An extension ctmatch does not know may have an option of that
		// very name ("--set" of -m connlabel), which getopt would take over
		// an abbreviation of iptables' own (--set-counters). (Its options
		// do not look like the conntrack match's.)
		return nil, nil
	}
	switch len(cands) {
	case 1:
		return cands[0], nil
	case 0:
		if p.foreign || p.protoOption(name) {
			return nil, nil
		}
		if p.lastCT == nil {
			for i := range ctSpecs {
				if ctSpecs[i].long == name {
					return nil, p.errorf(w, "unknown option %q: it belongs to the conntrack match, write -m conntrack before it", w.val)
				}
			}
		}
		if !p.portsLoaded() && portByName[name] != nil {
			e := p.errorf(w, "unknown option %q", w.val)
			e.Hint = "it belongs to the tcp and udp matches: write -p tcp or -p udp before it"
			return nil, e
		}
		if p.lastState == nil && name == "state" {
			return nil, p.errorf(w, "unknown option %q: it belongs to the state match, write -m state before it", w.val)
		}
		return nil, p.errorf(w, "unknown option %q", w.val)
	}
	names := make([]string, len(cands))
	for i, c := range cands {
		names[i] = "--" + c.long
	}
	slices.Sort(names)
	return nil, p.errorf(w, "ambiguous option %q: it could be %s", w.val, strings.Join(names, ", "))
}

// matchNames are the match extensions of iptables 1.8.13 other than conntrack
// and state: valid iptables that ctmatch does not support yet.
var matchNames = setOf("ah", "bpf", "cgroup", "cluster", "connbytes", "connlabel",
	"connlimit", "connmark", "cpu", "dccp", "devgroup", "dscp", "dst", "ecn", "esp", "eui64", "frag",
	"hashlimit", "hbh", "helper", "hl", "icmp", "icmp6", "iprange", "ipv6header", "ipvs", "length",
	"limit", "mac", "mark", "mh", "nfacct", "osf", "physdev", "policy",
	"quota", "rateest", "realm", "recent", "rpfilter", "rt", "sctp", "set", "socket", "srh", "statistic",
	"string", "tcpmss", "time", "tos", "ttl", "u32")

// targetNames are the target extensions of iptables 1.8.13 (and the built-in
// QUEUE): valid iptables that ctmatch does not support yet.
var targetNames = setOf("AUDIT", "CHECKSUM", "CLASSIFY", "CLUSTERIP", "CONNMARK", "CONNSECMARK", "CT",
	"DNAT", "DNPT", "DSCP", "ECN", "HL", "HMARK", "IDLETIMER", "LED", "LOG", "MARK", "MASQUERADE",
	"NETMAP", "NFLOG", "NFQUEUE", "NOTRACK", "QUEUE", "RATEEST", "REDIRECT", "REJECT", "SECMARK", "SET",
	"SNAT", "SNPT", "SYNPROXY", "TCPMSS", "TCPOPTSTRIP", "TEE", "TOS", "TPROXY", "TRACE", "TTL", "ULOG")

func setOf(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}
