package cases

import "strings"

// SaveCheckCase is an iptables-save file that only the whole file shows
// right or wrong (a match or target in a user chain reached through jumps
// from a hook where it may not run, a jump loop, jumps too deep), with what
// ctmatch makes of it and what the real iptables-restore of each backend
// does with it. The oracle (e2e/savecheck_test.go) loads each file with
// iptables-nft-restore and iptables-legacy-restore (ip6tables-… for V6) in
// namespaces of their own, and each file ctmatch accepts with nft -f from
// ctmatch's script.
type SaveCheckCase struct {
	Name string
	V6   bool
	// Text is the file, with Marker where ctmatch's first error points.
	Text string
	// Kind is "" (ctmatch translates the file), "invalid" (exit 2) or
	// "unsupported" (exit 1).
	Kind string
	Msg  string // a substring of the error's message
	// NFT and Legacy say whether iptables-nft-restore and
	// iptables-legacy-restore 1.8.9 load the file. ctmatch follows
	// iptables-nft (the default iptables-restore) where they differ.
	NFT, Legacy bool
}

// File returns the text without the marker, and the 1-based line and
// column of the marker (0, 0 when there is none).
func (c SaveCheckCase) File() (text string, line, col int) {
	i := strings.Index(c.Text, Marker)
	if i < 0 {
		return c.Text, 0, 0
	}
	before := c.Text[:i]
	line = strings.Count(before, "\n") + 1
	col = i - (strings.LastIndexByte(before, '\n') + 1) + 1
	return before + c.Text[i+len(Marker):], line, col
}

const filterHead = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
const natHead = "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n"

// chainsDeep is a filter table whose INPUT reaches a chain n jumps below
// it, C1 … Cn, through one jump each; the marker is at the jump to C16.
func chainsDeep(n int) string {
	var b strings.Builder
	b.WriteString("*filter\n:INPUT ACCEPT [0:0]\n")
	for i := 1; i <= n; i++ {
		b.WriteString(":C" + itoa(i) + " - [0:0]\n")
	}
	b.WriteString("-A INPUT -j C1\n")
	for i := 1; i < n; i++ {
		m := ""
		if i+1 == 16 {
			m = Marker
		}
		b.WriteString("-A C" + itoa(i) + " -j " + m + "C" + itoa(i+1) + "\n")
	}
	b.WriteString("COMMIT\n")
	return b.String()
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}

// SaveCheckCases are the whole-file cases.
var SaveCheckCases = []SaveCheckCase{
	// -m owner: xt_owner registers the hooks LOCAL_OUT and POST_ROUTING.
	{Name: "owner-from-input", Text: filterHead + ":U - [0:0]\n-A U " + Marker + "-m owner --uid-owner 0 -j ACCEPT\n-A INPUT -j U\nCOMMIT\n",
		Kind: "invalid", Msg: "-m owner in chain U, reached from INPUT by the jump at "},
	{Name: "owner-from-output", Text: filterHead + ":U - [0:0]\n-A U -m owner --uid-owner 0 -j ACCEPT\n-A OUTPUT -j U\nCOMMIT\n",
		NFT: true, Legacy: true},
	{Name: "owner-not-reached", Text: filterHead + ":U - [0:0]\n-A U -m owner --uid-owner 0 -j ACCEPT\nCOMMIT\n",
		NFT: true, Legacy: true},
	{Name: "owner-from-output-and-forward", Text: filterHead + ":U - [0:0]\n-A OUTPUT -j U\n-A U " + Marker + "-m owner --gid-owner 0 -j ACCEPT\n-A FORWARD -j U\nCOMMIT\n",
		Kind: "invalid", Msg: "reached from FORWARD by the jump at "},
	{Name: "owner-two-deep", Text: filterHead + ":U - [0:0]\n:V - [0:0]\n-A V " + Marker + "-m owner --uid-owner 0 -j ACCEPT\n-A U -j V\n-A INPUT -p tcp -j U\nCOMMIT\n",
		Kind: "invalid", Msg: "in chain V, reached from INPUT by the jump at "},
	{Name: "owner-goto", Text: filterHead + ":U - [0:0]\n-A U " + Marker + "-m owner --uid-owner 0 -j ACCEPT\n-A INPUT -g U\nCOMMIT\n",
		Kind: "invalid", Msg: "-m owner in chain U"},
	{Name: "owner-flushed", Text: filterHead + ":U - [0:0]\n-A U -m owner --uid-owner 0 -j ACCEPT\n-A INPUT -j U\n-F U\n-A U -j RETURN\nCOMMIT\n",
		NFT: true, Legacy: true},
	{Name: "owner-mangle-prerouting", Text: "*mangle\n:PREROUTING ACCEPT [0:0]\n:U - [0:0]\n-A PREROUTING -j U\n-A U " + Marker + "-m owner --uid-owner 0 -j ACCEPT\nCOMMIT\n",
		Kind: "invalid", Msg: "reached from PREROUTING"},
	{Name: "owner-nat-postrouting", Text: natHead + ":U - [0:0]\n-A POSTROUTING -j U\n-A U -m owner --uid-owner 0 -j ACCEPT\nCOMMIT\n",
		NFT: true, Legacy: true},
	{Name: "v6-owner-from-input", V6: true, Text: filterHead + ":U - [0:0]\n-A U " + Marker + "-m owner --uid-owner 0 -j ACCEPT\n-A INPUT -j U\nCOMMIT\n",
		Kind: "invalid", Msg: "-m owner in chain U"},

	// -m mac: xt_mac registers PRE_ROUTING, LOCAL_IN and FORWARD.
	{Name: "mac-from-output", Text: filterHead + ":U - [0:0]\n-A INPUT -j U\n-A OUTPUT -j U\n-A U -m " + Marker + "mac --mac-source 00:11:22:33:44:55 -j ACCEPT\nCOMMIT\n",
		Kind: "invalid", Msg: "-m mac in chain U, reached from OUTPUT"},
	{Name: "mac-from-forward", Text: filterHead + ":U - [0:0]\n-A FORWARD -j U\n-A U -m mac --mac-source 00:11:22:33:44:55 -j ACCEPT\nCOMMIT\n",
		NFT: true, Legacy: true},

	// Targets: their registrations' hooks.
	{Name: "masquerade-from-prerouting", Text: natHead + ":U - [0:0]\n-A U -p tcp -j " + Marker + "MASQUERADE\n-A PREROUTING -g U\nCOMMIT\n",
		Kind: "invalid", Msg: "-j MASQUERADE in chain U, reached from PREROUTING"},
	{Name: "masquerade-from-postrouting", Text: natHead + ":U - [0:0]\n-A U -p tcp -j MASQUERADE\n-A POSTROUTING -j U\nCOMMIT\n",
		NFT: true, Legacy: true},
	{Name: "dnat-from-postrouting", Text: natHead + ":U - [0:0]\n-A U -p tcp -j " + Marker + "DNAT --to-destination 10.0.0.1\n-A PREROUTING -j U\n-A POSTROUTING -j U\nCOMMIT\n",
		Kind: "invalid", Msg: "reached from POSTROUTING"},
	{Name: "snat-from-input", Text: natHead + ":U - [0:0]\n-A U -j SNAT --to-source 10.0.0.1\n-A INPUT -j U\n-A POSTROUTING -j U\nCOMMIT\n",
		NFT: true, Legacy: true},
	{Name: "redirect-from-output", Text: natHead + ":U - [0:0]\n-A U -p tcp -j REDIRECT --to-ports 8080\n-A OUTPUT -j U\nCOMMIT\n",
		NFT: true, Legacy: true},
	{Name: "reject-from-input", Text: filterHead + ":U - [0:0]\n-A U -j REJECT\n-A INPUT -j U\n-A FORWARD -j U\nCOMMIT\n",
		NFT: true, Legacy: true},

	// addrtype's interface limits: checkentry's only.
	{Name: "addrtype-limit-in-from-output", Text: filterHead + ":U - [0:0]\n-A U -m addrtype --dst-type LOCAL " + Marker + "--limit-iface-in -j ACCEPT\n-A OUTPUT -j U\nCOMMIT\n",
		Kind: "unsupported", Msg: "addrtype --limit-iface-in in chain U, reached from OUTPUT", NFT: true},
	{Name: "addrtype-limit-out-from-input", Text: filterHead + ":U - [0:0]\n-A INPUT -j U\n-A U -m addrtype --src-type LOCAL " + Marker + "--limit-iface-out -j ACCEPT\nCOMMIT\n",
		Kind: "unsupported", Msg: "reached from INPUT", NFT: true},
	{Name: "addrtype-limit-in-from-input", Text: filterHead + ":U - [0:0]\n-A U -m addrtype --dst-type LOCAL --limit-iface-in -j ACCEPT\n-A INPUT -j U\nCOMMIT\n",
		NFT: true, Legacy: true},

	// xt_policy's --dir: checkentry's only. --dir in's nft form (meta
	// secpath) is refused at the output and postrouting hooks; --dir
	// out's (rt ipsec) is taken at every hook, and means there what
	// xt_policy means.
	{Name: "policy-in-from-output", Text: filterHead + ":U - [0:0]\n-A OUTPUT -j U\n-A U -m policy " + Marker + "--dir in --pol none -j ACCEPT\nCOMMIT\n",
		Kind: "unsupported", Msg: "policy --dir in in chain U, reached from OUTPUT", NFT: true},
	{Name: "policy-in-from-input", Text: filterHead + ":U - [0:0]\n-A INPUT -j U\n-A U -m policy --dir in --pol ipsec -j ACCEPT\nCOMMIT\n",
		NFT: true, Legacy: true},
	{Name: "policy-out-from-input", Text: filterHead + ":U - [0:0]\n-A INPUT -j U\n-A U -m policy --dir out --pol none -j ACCEPT\nCOMMIT\n",
		NFT: true},

	// Jump loops and depth.
	{Name: "loop-reached", Text: filterHead + ":U - [0:0]\n:V - [0:0]\n-A U -j V\n-A V -j " + Marker + "U\n-A INPUT -j U\nCOMMIT\n",
		Kind: "invalid", Msg: "a jump loop: chain V jumps back to U (U → V → U)"},
	{Name: "loop-self", Text: filterHead + ":U - [0:0]\n-A INPUT -j U\n-A U -p tcp -g " + Marker + "U\nCOMMIT\n",
		Kind: "invalid", Msg: "a jump loop"},
	{Name: "loop-not-reached", Text: filterHead + ":U - [0:0]\n:V - [0:0]\n-A U -j V\n-A V -j U\nCOMMIT\n",
		NFT: true, Legacy: true},
	{Name: "diamond", Text: filterHead + ":U - [0:0]\n:V - [0:0]\n:W - [0:0]\n-A INPUT -j U\n-A INPUT -j V\n-A U -j W\n-A V -j W\n-A U -j V\nCOMMIT\n",
		NFT: true, Legacy: true},
	{Name: "depth-15", Text: chainsDeep(15), NFT: true, Legacy: true},
	{Name: "depth-16", Text: chainsDeep(16), Kind: "invalid", Msg: "16 jumps below INPUT", Legacy: true},

	// A second table is checked at its own COMMIT.
	{Name: "second-table", Text: filterHead + ":U - [0:0]\n-A U -m owner --uid-owner 0 -j ACCEPT\n-A OUTPUT -j U\nCOMMIT\n" +
		natHead + ":U - [0:0]\n-A U -p udp -j " + Marker + "MASQUERADE\n-A OUTPUT -j U\nCOMMIT\n",
		Kind: "invalid", Msg: "reached from OUTPUT"},

	// NETMAP may run in every nat hook; in the built-in chains the chain
	// says its direction, and ctmatch translates it.
	{Name: "netmap-builtin", Text: natHead + "-A PREROUTING -d 192.0.2.0/24 -j NETMAP --to 10.0.0.0/24\n" +
		"-A POSTROUTING -s 10.0.0.0/24 -j NETMAP --to 192.0.2.0/24\n-A INPUT -j NETMAP --to 10.1.0.0/16\nCOMMIT\n",
		NFT: true, Legacy: true},
}
