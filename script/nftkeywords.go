package script

import "slices"

// nftKeywords are the words nft's scanner reads as keywords wherever they
// stand, so that its command text cannot name a table or chain so, bare or
// quoted (nft reads a quoted table or chain name nowhere: "unexpected quoted
// string, expecting string"). They are the words of nftables' src/scanner.l
// that nft 1.0.6, 1.1.1 or 1.1.6 refuses as the name of an ip, ip6 and inet
// table, of a regular and a base chain, of the chain of add rule and of a
// jump's chain (nft -c -f); each version refuses every one of its words in
// all of these places. destroy, geneve, gre, gretap, vni and vxlan are
// keywords from nft 1.1.1 on, tunnel from 1.1.6 on (nftKeywordsSince); the
// other scanner words are keywords only after some other word (saddr after
// ip, state after ct), and nft reads them as names here.
var nftKeywords = []string{
	"accept", "add", "ah", "all", "and", "arp", "auto-merge", "bridge", "cgroup", "chain", "comment",
	"comp", "constant", "continue", "counter", "cpu", "create", "ct", "day", "dccp", "define",
	"delete", "describe", "destroy", "device", "devices", "dnat", "drop", "dst", "dup", "dynamic",
	"ecn", "element", "elements", "eq", "esp", "ether", "exists", "expires", "export", "exthdr",
	"fib", "flags", "flow", "flowtable", "flush", "frag", "fwd", "gc-interval", "ge", "geneve", "get",
	"goto", "gre", "gretap", "gt", "handle", "hbh", "hook", "hour", "ibriport", "ibrname", "icmp",
	"icmpv6", "igmp", "iif", "iifgroup", "iifname", "iiftype", "import", "include", "index", "inet",
	"insert", "interval", "ip", "ip6", "ipsec", "jhash", "jump", "le", "limit", "list", "log",
	"lshift", "lt", "map", "mark", "masquerade", "meta", "meter", "mh", "missing", "monitor", "ne",
	"netdev", "nftrace", "not", "notrack", "numgen", "obriport", "obrname", "offload", "oif",
	"oifgroup", "oifname", "oiftype", "or", "osf", "pkttype", "policy", "position", "priority",
	"queue", "quota", "random", "redefine", "redirect", "reject", "rename", "replace", "reset",
	"return", "rshift", "rt", "rt0", "rt2", "rtclassid", "rule", "ruleset", "sctp", "secmark", "set",
	"size", "skgid", "skuid", "snat", "socket", "srh", "symhash", "synproxy", "table", "tcp", "th",
	"time", "timeout", "tproxy", "tunnel", "type", "typeof", "udp", "udplite", "undefine", "update",
	"vlan", "vmap", "vni", "vxlan", "xor", "xt",
}

// nftKeywordsSince are the words of nftKeywords that older versions of nft
// read as names, with the first version that does not.
var nftKeywordsSince = map[string]string{
	"destroy": "1.1.1", "geneve": "1.1.1", "gre": "1.1.1", "gretap": "1.1.1", "vni": "1.1.1", "vxlan": "1.1.1",
	"tunnel": "1.1.6",
}

// NftKeyword reports whether some version of nft (1.0.6 to 1.1.6) reads s
// as a keyword, not as a name, in a table or chain name (nftKeywords).
func NftKeyword(s string) bool {
	_, ok := slices.BinarySearch(nftKeywords, s)
	return ok
}

// ReadsBare reports whether some nft that ctmatch knows reads s bare as
// one name: BareName, or a word that only newer versions read as a
// keyword (nftKeywordsSince), which nft 1.0.6 reads as a name. A listing
// writes such a name bare: quoted, no version reads it.
func ReadsBare(s string) bool {
	if BareName(s) {
		return true
	}
	_, newer := nftKeywordsSince[s]
	return newer && bareChars(s)
}
