package main

// The golden cases of -m recent --set: the rule without the match, and one
// warning per list name that the list is not kept.
func init() {
	save := "*filter\n:INPUT DROP [0:0]\n" +
		"-A INPUT -p tcp -m tcp --dport 22 -m conntrack --ctstate NEW -m recent --set --name ssh --mask 255.255.255.255 --rsource -j ACCEPT\n" +
		"-A INPUT -p tcp -m tcp --dport 2222 -m recent --set --name ssh --mask 255.255.255.255 --rsource -j ACCEPT\n" +
		"-A INPUT -m recent --set --name DEFAULT --mask 255.255.255.0 --rdest\n" +
		"COMMIT\n"
	cliCases = append(cliCases,
		cliCase{name: "translate-recent-set", about: "translate of a rule with -m recent --set: the rule without the match, and a warning at --set that the list is not kept",
			args: []string{"translate", "--", "-A INPUT -p udp --dport 53 -m recent --name dns --set -j ACCEPT"}},
		cliCase{name: "translate-save-recent-set", about: "translate -f of an iptables-save file with -m recent --set: one warning, at the first --set",
			args: []string{"translate", "-f", "-"}, stdin: save},
		cliCase{name: "translate-recent-rcheck", about: "translate of a rule that reads a recent list: refused at the mode's word, exit 1",
			args: []string{"translate", "--", "-A INPUT -m recent --rcheck --seconds 60 --name ssh -j DROP"}},
		cliCase{name: "translate-save-recent-read", about: "translate --keep-going -f of an iptables-save file whose rule reads a recent list after the --set that fills it: both refused, the --set at the reader's line, the other list's --set translated",
			args: []string{"translate", "--keep-going", "-f", "-"}, stdin: "*filter\n:INPUT DROP [0:0]\n" +
				"-A INPUT -p tcp -m tcp --dport 22 -m recent --set --name ssh --mask 255.255.255.255 --rsource\n" +
				"-A INPUT -p udp -m recent --set --name dns --mask 255.255.255.255 --rsource -j ACCEPT\n" +
				"-A INPUT -p tcp -m tcp --dport 22 -m recent --update --seconds 60 --hitcount 4 --name ssh --mask 255.255.255.255 --rsource -j DROP\n" +
				"-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n" +
				"COMMIT\n"},
		cliCase{name: "translate-rules-recent-read-file6", about: "translate -f with --file6: a list is one for both families, so an ip6tables reader refuses the iptables --set of its list",
			args: []string{"translate", "-f", "-", "--file6", "testdata/recent-reader6.rules"}, stdin: "-A INPUT -m recent --set --name probe -j ACCEPT\n"},
		cliCase{name: "fmt-recent-ast", about: "fmt -o ast of -m recent --set: the mode, the list, the side and the mask",
			args: []string{"fmt", "-o", "ast", "--", "-m recent --set --rdest --mask 255.0.255.0 --name x"}},
	)
}
