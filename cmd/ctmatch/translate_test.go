package main

// translateCases are the golden cases of ctmatch translate, checked by
// TestCLIGolden with the others.
var translateCases = []cliCase{
	{name: "translate-argv", about: "translate: argv, one iptables rule that needs two nft rules",
		args: []string{"translate", "--", "-A", "INPUT", "-m", "conntrack", "--ctstate", "NEW,DNAT", "-j", "ACCEPT"}},
	{name: "translate-quoted", about: "translate: one quoted argument, -t picks the table",
		args: []string{"translate", "--", "-t nat -A POSTROUTING -m conntrack ! --ctstate SNAT -j RETURN"}},
	{name: "translate-inet", about: "translate: --family inet and --table: every rule starts with meta nfproto",
		args: []string{"translate", "--family", "inet", "--table", "fw", "--", "-A", "input", "-m", "conntrack", "!", "--ctstate", "ESTABLISHED", "--ctorigsrc", "10.0.0.0/8"}},
	{name: "translate-ipv6", about: "translate: -6 writes into an ip6 table",
		args: []string{"translate", "-6", "--", "-A", "INPUT", "-m", "conntrack", "--ctreplsrc", "2001:db8::1/ffff::ffff", "-j", "DROP"}},
	{name: "translate-no-counter", about: "translate: --no-counter",
		args: []string{"translate", "--no-counter", "--", "-A", "INPUT", "-m", "state", "--state", "ESTABLISHED,RELATED", "-j", "ACCEPT"}},
	{name: "translate-insert", about: "translate: -I becomes insert rule, the pieces last first so the chain holds them in order",
		args: []string{"translate", "--", "-I", "INPUT", "-m", "conntrack", "--ctstate", "NEW,DNAT", "-j", "ACCEPT"}},
	{name: "translate-insert-index", about: "translate: -I CHAIN N with N > 1 needs the kernel's groups: exit 1",
		args: []string{"translate", "--", "-I", "INPUT", "2", "-m", "conntrack", "--ctstate", "NEW"}},
	{name: "translate-ports", about: "translate: a port match with no protocol gets a comment for nft 1.0.6; with --ctproto tcp it does not",
		args: []string{"translate", "-f", "-"}, stdin: "-A INPUT -m conntrack --ctorigdstport 22 -j ACCEPT\n-A INPUT -m conntrack --ctproto tcp --ctorigdstport 22 -j ACCEPT\n"},
	{name: "translate-expire", about: "translate: --ctexpire in milliseconds, second B lasting until B999 ms",
		args: []string{"translate", "--", "-A", "INPUT", "-m", "conntrack", "--ctexpire", "28", "-m", "conntrack", "!", "--ctexpire", "100000:"}},
	{name: "translate-never", about: "translate: a rule that can never match stays, as a rule that never matches",
		args: []string{"translate", "--", "-A", "INPUT", "-m", "conntrack", "--ctstatus", "NONE", "-j", "DROP"}},
	{name: "translate-bytecode", about: "translate -o bytecode: libnftnl debug lines",
		args: []string{"translate", "-o", "bytecode", "--", "-A", "INPUT", "-m", "conntrack", "!", "--ctstate", "SNAT", "-j", "ACCEPT"}},
	{name: "translate-no-command", about: "translate needs -A or -I: exit 2",
		args: []string{"translate", "--", "-m", "conntrack", "--ctstate", "NEW"}},
	{name: "translate-unsupported", about: "translate: a target ctmatch does not support: exit 1",
		args: []string{"translate", "--", "-A", "INPUT", "-m", "conntrack", "--ctstate", "NEW", "-j", "LOG"}},
	{name: "translate-family-mismatch", about: "translate: --family ip with -6 is bad usage, before any input is read",
		args: []string{"translate", "--family", "ip", "-6", "-f", "testdata/no-such-file.txt"}},
	{name: "translate-family-ip6", about: "translate: an ip6 table takes ip6tables words without -6, as add rule does",
		args: []string{"translate", "--family", "ip6", "--", "-A", "INPUT", "-m", "conntrack", "--ctorigsrc", "2001:db8::/32"}},
	{name: "translate-save-file", about: "translate -f: iptables-save files are not supported yet",
		args: []string{"translate", "-f", "-"}, stdin: "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m conntrack --ctstate NEW\nCOMMIT\n"},
	{name: "help-translate", about: "translate --help",
		args: []string{"translate", "--help"}},
}

func init() { cliCases = append(cliCases, translateCases...) }
