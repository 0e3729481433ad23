package parse

import (
	"slices"
	"strings"
)

type frameOpt uint8

const (
	frameNone frameOpt = iota
	frameTable
	frameAppend
	frameInsert
	frameMatch
	frameJump
	frameGoto
)

// optSpec describes one option word iptables knows.
type optSpec struct {
	long        string
	short       string
	what        string   // what its value is, for "expected …" messages
	frame       frameOpt // an option of the rule frame
	ct          *ctSpec  // an option of the conntrack or state match
	unsupported string   // valid iptables that ctmatch does not support: what it is
}

// frameOptions are iptables' own options: the rule frame ctmatch reads, and
// the rest, which it recognises in order to say they are not supported.
var frameOptions = []optSpec{
	{long: "table", short: "t", what: "a table name", frame: frameTable},
	{long: "append", short: "A", what: "a chain name", frame: frameAppend},
	{long: "insert", short: "I", what: "a chain name", frame: frameInsert},
	{long: "match", short: "m", what: "a match name", frame: frameMatch},
	{long: "jump", short: "j", what: "a target name", frame: frameJump},
	{long: "goto", short: "g", what: "a chain name", frame: frameGoto},

	{long: "protocol", short: "p", unsupported: "matching the packet's protocol"},
	{long: "source", short: "s", unsupported: "matching the packet's source address"},
	{long: "src", unsupported: "matching the packet's source address"},
	{long: "destination", short: "d", unsupported: "matching the packet's destination address"},
	{long: "dst", unsupported: "matching the packet's destination address"},
	{long: "in-interface", short: "i", unsupported: "matching interfaces"},
	{long: "out-interface", short: "o", unsupported: "matching interfaces"},
	{long: "fragment", short: "f", unsupported: "matching fragments"},
	{long: "set-counters", short: "c", unsupported: "setting counters"},
	{long: "ipv4", short: "4", unsupported: "-4 among the rule words: give ctmatch's own -4 before --"},
	{long: "ipv6", short: "6", unsupported: "-6 among the rule words: give ctmatch's own -6 before --"},
	{long: "wait", short: "w", unsupported: "the xtables lock"},
	{long: "wait-interval", short: "W", unsupported: "the xtables lock"},
	{long: "verbose", short: "v", unsupported: "verbose output"},
	{long: "numeric", short: "n", unsupported: "listing options"},
	{long: "exact", short: "x", unsupported: "listing options"},
	{long: "line-numbers", unsupported: "listing options"},
	{long: "modprobe", unsupported: "loading modules"},
	{long: "delete", short: "D", unsupported: "the -D command: use ctmatch delete rule"},
	{long: "replace", short: "R", unsupported: "the -R command"},
	{long: "check", short: "C", unsupported: "the -C command"},
	{long: "list", short: "L", unsupported: "the -L command: use ctmatch list"},
	{long: "list-rules", short: "S", unsupported: "the -S command: use ctmatch list -o iptables"},
	{long: "flush", short: "F", unsupported: "the -F command"},
	{long: "zero", short: "Z", unsupported: "the -Z command"},
	{long: "new-chain", short: "N", unsupported: "the -N command"},
	{long: "delete-chain", short: "X", unsupported: "the -X command"},
	{long: "rename-chain", short: "E", unsupported: "the -E command"},
	{long: "policy", short: "P", unsupported: "the -P command"},
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

// lookupLong finds a long option by its name or, as getopt_long does, by an
// unambiguous prefix of it, among iptables' own options and those of the
// current match.
func (p *parser) lookupLong(w word, name string) (*optSpec, error) {
	var cands []*optSpec
	add := func(s *optSpec) {
		if s.long == name {
			cands = append(cands[:0], s)
			return
		}
		if name != "" && strings.HasPrefix(s.long, name) {
			cands = append(cands, s)
		}
	}
	if s := frameByName[name]; s != nil {
		return s, nil
	}
	if p.cur != nil && !p.cur.Alias() {
		if s := ctByName[name]; s != nil {
			return s, nil
		}
	}
	exact := func() bool { return len(cands) == 1 && cands[0].long == name }
	for i := range frameOptions {
		if add(&frameOptions[i]); exact() {
			return cands[0], nil
		}
	}
	var matchSpecs []optSpec
	if p.cur != nil {
		if p.cur.Alias() {
			matchSpecs = stateSpecs
		} else {
			matchSpecs = ctSpecs
		}
	}
	for i := range matchSpecs {
		if add(&matchSpecs[i]); exact() {
			return cands[0], nil
		}
	}
	switch len(cands) {
	case 1:
		return cands[0], nil
	case 0:
		if p.cur == nil {
			for i := range ctSpecs {
				if ctSpecs[i].long == name {
					return nil, p.errorf(w, "unknown option %q: it belongs to the conntrack match, write -m conntrack before it", w.val)
				}
			}
			if name == "state" {
				return nil, p.errorf(w, "unknown option %q: it belongs to the state match, write -m state before it", w.val)
			}
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
var matchNames = setOf("addrtype", "ah", "bpf", "cgroup", "cluster", "comment", "connbytes", "connlabel",
	"connlimit", "connmark", "cpu", "dccp", "devgroup", "dscp", "dst", "ecn", "esp", "eui64", "frag",
	"hashlimit", "hbh", "helper", "hl", "icmp", "icmp6", "iprange", "ipv6header", "ipvs", "length",
	"limit", "mac", "mark", "mh", "multiport", "nfacct", "osf", "owner", "physdev", "pkttype", "policy",
	"quota", "rateest", "realm", "recent", "rpfilter", "rt", "sctp", "set", "socket", "srh", "statistic",
	"string", "tcp", "tcpmss", "time", "tos", "ttl", "u32", "udp")

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
