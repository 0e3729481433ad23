package main

// The cases of the whole-file checks and of translate -o iptables that need
// no kernel.
func init() {
	cliCases = append(cliCases,
		cliCase{name: "apply-save-file-reach", about: "apply -f of an iptables-save file whose user chain holds a target that a hook reaching it may not run: refused at COMMIT, nothing is sent",
			args: []string{"apply", "-f", "-"}, stdin: "*nat\n:PREROUTING ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n:out - [0:0]\n-A out -o eth0 -j MASQUERADE\n-A POSTROUTING -j out\n-A PREROUTING -i eth1 -j out\nCOMMIT\n"},
		cliCase{name: "translate-save-file-reach-keep-going", about: "translate --keep-going of a file whose table the kernel refuses whole: nothing is printed",
			args: []string{"translate", "--keep-going", "-f", "-"}, stdin: "*filter\n:INPUT ACCEPT [0:0]\n:U - [0:0]\n-A INPUT -j U\n-A U -m recent --rcheck\n-A U -j V\n-A U -m owner --uid-owner 0 -j ACCEPT\nCOMMIT\n"},
		cliCase{name: "translate-save-file-loop", about: "a jump loop that INPUT reaches: the kernel refuses the table",
			args: []string{"translate", "-f", "-"}, stdin: "*filter\n:INPUT ACCEPT [0:0]\n:a - [0:0]\n:b - [0:0]\n-A INPUT -j a\n-A a -j b\n-A b -g a\nCOMMIT\n"},
		cliCase{name: "translate-save-file-iptables-rules", about: "-o iptables prints an iptables-save file, not a file of rules",
			args: []string{"translate", "-o", "iptables", "-f", "testdata/save/rules.txt"}},
		cliCase{name: "translate-iptables-words", about: "-o iptables with words: bad usage, ctmatch fmt prints rules",
			args: []string{"translate", "-o", "iptables", "--", "-A", "INPUT", "-j", "ACCEPT"}},
		cliCase{name: "translate-save-file-iptables-keep-going", about: "-o iptables --keep-going: a rule that does not read is a comment in its place",
			args: []string{"translate", "-o", "iptables", "--keep-going", "-f", "-"}, stdin: "*filter\n:INPUT DROP [0:0]\n-A INPUT -m recent --name x --rcheck -j DROP\n-A INPUT -s 10.0.0.1 -j ACCEPT\nCOMMIT\n"},
		cliCase{name: "translate-save-file-iptables-both", about: "-o iptables of -f FILE --file6 FILE: both files in canonical form",
			args: []string{"translate", "-o", "iptables", "-f", "testdata/save/v4.rules", "--file6", "testdata/save/v6.rules"}},
	)
}
