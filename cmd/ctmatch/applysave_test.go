package main

// The cases of apply -f with iptables-save files that end before anything
// dials the kernel.
func init() {
	cliCases = append(cliCases,
		cliCase{name: "apply-nft-script", about: "apply -f of an nft script (list -o nft's): bad usage, one error that says to load it with nft -f",
			args: []string{"apply", "-f", "-"}, stdin: "table inet fw {\n\tchain input {\n\t\ttype filter hook input priority 0; policy accept;\n\t}\n}\n"},
		cliCase{name: "apply-save-file-create", about: "apply --create with an iptables-save file: its tables are created whole, --create is bad usage",
			args: []string{"apply", "--create", "-f", "-"}, stdin: "*filter\n:INPUT DROP [0:0]\nCOMMIT\n"},
		cliCase{name: "apply-save-file-invalid", about: "apply -f of an iptables-save file iptables-restore refuses: every bad line is reported, nothing is sent",
			args: []string{"apply", "-f", "-"}, stdin: "# comment\n*filter\n:INPUT DROP [0:0]\n-A INPUT -j nowhere\n-A INPUT -m recent --rcheck\n-I INPUT 5 -j ACCEPT\n"},
		cliCase{name: "apply-save-recent-read", about: "apply -f of an iptables-save file whose rule reads the recent list a --set before it fills: both refused, nothing is sent",
			args: []string{"apply", "-f", "-"}, stdin: "*filter\n:INPUT DROP [0:0]\n-A INPUT -m recent --set --name ssh\n-A INPUT -m recent --set --name dns -j ACCEPT\n-A INPUT -m recent --update --seconds 60 --name ssh -j DROP\nCOMMIT\n"},
		cliCase{name: "apply-file6-with-lines", about: "apply --file6 next to a file of apply lines is bad usage",
			args: []string{"apply", "-f", "testdata/save/rules.txt", "--file6", "testdata/save/v6.rules"}},
		cliCase{name: "apply-6-save-file", about: "apply -6 -f reads an iptables-save file of ip6tables rules, as --file6 does: an IPv4 address is refused",
			args: []string{"apply", "-6", "-f", "-"}, stdin: "*filter\n:INPUT DROP [0:0]\n-A INPUT -s 10.0.0.1 -j ACCEPT\nCOMMIT\n"},
		cliCase{name: "apply-6-with-lines", about: "apply -6 next to a file of apply lines is bad usage: the lines name their family",
			args: []string{"apply", "-6", "-f", "testdata/save/rules.txt"}},
		cliCase{name: "apply-6-and-file6", about: "apply -6 -f with --file6 names ip6tables rules twice",
			args: []string{"apply", "-6", "-f", "testdata/save/v6.rules", "--file6", "testdata/save/v6.rules"}},
	)
}
