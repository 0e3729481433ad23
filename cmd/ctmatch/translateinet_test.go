package main

// The cases of translate --family inet with iptables-save files.
func init() {
	dir := "testdata/save"
	cliCases = append(cliCases,
		cliCase{name: "translate-save-file-inet", about: "--family inet with iptables-save files: one inet table per iptables table, a rule the same in both families once without meta nfproto, the others with it, FORWARD's policies kept apart by a last rule for IPv6",
			args: []string{"translate", "-f", dir + "/inet4.rules", "--file6", dir + "/inet6.rules", "--family", "inet"}},
		cliCase{name: "translate-save-file-inet-one", about: "--family inet with one iptables-save file: every rule with its meta nfproto, and the other family's packets let through, as they are by iptables without such a file",
			args: []string{"translate", "-6", "-f", dir + "/v6.rules", "--family", "inet"}},
		cliCase{name: "translate-save-file-inet-keep-going", about: "--family inet --keep-going: the files are read whole before anything is printed; the lines left out come first, as comments; exit 2 for an invalid line",
			args: []string{"translate", "--keep-going", "-f", dir + "/bad.rules", "--file6", dir + "/inet6.rules", "--family", "inet"}},
		cliCase{name: "translate-save-file-inet-failed", about: "--family inet without --keep-going: a line that cannot be translated, and nothing is printed",
			args: []string{"translate", "-f", dir + "/bad.rules", "--file6", dir + "/inet6.rules", "--family", "inet"}},
	)
}
