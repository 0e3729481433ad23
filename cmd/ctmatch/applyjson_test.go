package main

// The cases of apply -f of a JSON listing that fail before the kernel.
func init() {
	cliCases = append(cliCases,
		cliCase{name: "apply-listing-not-ctmatch", about: "apply -f of a JSON document whose rule has no ctmatch record (nft -j list ruleset's, say): exit 2, nothing sent",
			args: []string{"apply", "-f", "-"}, stdin: `{"nftables":[{"table":{"family":"ip","name":"t"}},{"chain":{"family":"ip","table":"t","name":"c"}},{"rule":{"family":"ip","table":"t","chain":"c","expr":[{"accept":null}]}}]}` + "\n"},
		cliCase{name: "apply-listing-edited", about: "apply -f of a listing whose rule's expressions are not what its words compile to: exit 2, nothing sent",
			args: []string{"apply", "-f", "-"}, stdin: `{"nftables":[{"table":{"family":"ip","name":"t"}},{"chain":{"family":"ip","table":"t","name":"c"}},{"rule":{"family":"ip","table":"t","chain":"c","expr":[{"drop":null}],"ctmatch":{"piece":0,"pieces":1,"family":"ipv4","words":"-j ACCEPT"}}}]}` + "\n"},
		cliCase{name: "apply-listing-not-decompiled", about: "apply -f of a listing with a rule ctmatch does not understand: exit 1, nothing sent",
			args: []string{"apply", "-f", "-"}, stdin: `{"nftables":[{"table":{"family":"ip","name":"t"}},{"chain":{"family":"ip","table":"t","name":"c"}},{"ctmatch-not-decompiled":{"family":"ip","table":"t","chain":"c","handle":2,"reason":"x","expressions":[]}}]}` + "\n"},
	)
}
