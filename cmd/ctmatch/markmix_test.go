package main

// The golden cases of CONNMARK saves and restores whose masks combine both
// marks: nft 1.1.2's text and one warning per run, in an iptables-save file
// and in the inet merge of two.
func init() {
	const save = "*mangle\n:PREROUTING ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n" +
		"-A PREROUTING -j CONNMARK --restore-mark --ctmask 0xff\n" +
		"-A PREROUTING -j CONNMARK --restore-mark --nfmask 0xff --ctmask 0xff00\n" +
		"-A POSTROUTING -j CONNMARK --save-mark --nfmask 0xff00 --ctmask 0xff\nCOMMIT\n"
	cliCases = append(cliCases,
		cliCase{name: "translate-save-combined-marks", about: "translate -f of an iptables-save file whose CONNMARKs combine both marks: nft 1.1.2's text, one warning at the first such rule",
			args: []string{"translate", "-f", "-"}, stdin: save},
		cliCase{name: "translate-inet-combined-marks", about: "translate --family inet -f FILE --file6 FILE whose CONNMARKs combine both marks: one warning in the run",
			args: []string{"translate", "--family", "inet", "-f", "-", "--file6", "testdata/save/combined-marks6.rules"}, stdin: save},
	)
}
