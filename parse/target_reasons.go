package parse

// targetWhy says, for some target extensions ctmatch does not translate,
// why: the generic message says only "not yet".
var targetWhy = map[string]string{
	// xt_TCPMSS's tcpmss_mangle_packet adds an MSS option to a SYN that
	// has none (536 for IPv4, 1220 for IPv6, when the header has room and
	// the SYN no data); nft's "tcp option maxseg size set" only rewrites
	// an option that is there.
	"TCPMSS": "xt_TCPMSS adds an MSS option to a SYN that has none, while nft's tcp option maxseg size set only rewrites one that is there",
	"TOS":    "it is not translated yet",
}
