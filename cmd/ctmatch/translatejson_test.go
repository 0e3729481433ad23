package main

// The cases of translate -o json.
func init() {
	dir := "testdata/save"
	cliCases = append(cliCases,
		cliCase{name: "translate-json-words", about: "-o json: the commands as one libnftables JSON document, for nft -j -f; a rule of two nft rules is two commands",
			args: []string{"translate", "-o", "json", "--", "-A", "INPUT", "-m", "conntrack", "--ctstate", "NEW,DNAT", "--ctexpire", "28:29", "-j", "ACCEPT"}},
		cliCase{name: "translate-json-insert", about: "-o json with -I: insert commands, the pieces in reverse so that they end up in order",
			args: []string{"translate", "-o", "json", "--family", "inet", "--", "-I", "INPUT", "-m", "conntrack", "!", "--ctstate", "SNAT", "-j", "DROP"}},
		cliCase{name: "translate-json-save-file", about: "-o json with an iptables-save file: tables, base chains with their type, hook, priority and policy, rules (nft's index for -I N)",
			args: []string{"translate", "-o", "json", "-f", "-"}, stdin: "*filter\n:INPUT DROP [0:0]\n:in - [0:0]\n-A INPUT -m conntrack --ctstate ESTABLISHED -j ACCEPT\n-A INPUT -j in\n-I INPUT 2 -m conntrack --ctstate INVALID -j DROP\n-A in -p tcp --dport 22 -m comment --comment ssh -j ACCEPT\nCOMMIT\n"},
		cliCase{name: "translate-json-save-file-failed", about: "-o json with an iptables-save file that cannot be translated whole: the document ends with a command nft refuses",
			args: []string{"translate", "-o", "json", "-f", dir + "/bad.rules"}},
		cliCase{name: "translate-json-inet", about: "-o json --family inet: the merged tables as a JSON document",
			args: []string{"translate", "-o", "json", "-f", dir + "/inet4.rules", "--file6", dir + "/inet6.rules", "--family", "inet"}},
	)
}
