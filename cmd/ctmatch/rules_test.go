package main

// kernelUsageCases are golden cases of the commands that talk to the
// kernel: every one fails before a connection is made (bad usage, words
// iptables rejects, words ctmatch does not support), so none needs a
// kernel. The e2e tests run these commands against the kernel.
var kernelUsageCases = []cliCase{
	{name: "add-no-family", about: "add rule without FAMILY TABLE CHAIN: exit 2",
		args: []string{"add", "rule", "--", "-m", "conntrack", "--ctstate", "NEW"}},
	{name: "add-no-chain", about: "add rule without CHAIN: exit 2",
		args: []string{"add", "rule", "inet", "fw", "--", "-m", "conntrack", "--ctstate", "NEW"}},
	{name: "add-extra-argument", about: "add rule with an argument after CHAIN: the words go after --",
		args: []string{"add", "rule", "inet", "fw", "input", "accept", "--", "-m", "conntrack", "--ctstate", "NEW"}},
	{name: "add-unknown-family", about: "add rule into a family ctmatch does not write: exit 2",
		args: []string{"add", "rule", "bridge", "fw", "input", "--", "-m", "conntrack", "--ctstate", "NEW"}},
	{name: "add-command-in-words", about: "add rule: -A among the words exits 2, pointing at it",
		args: []string{"add", "rule", "inet", "fw", "input", "--", "-A", "INPUT", "-m", "conntrack", "--ctstate", "NEW", "-j", "ACCEPT"}},
	{name: "add-command-and-unsupported-in-words", about: "add rule: -A among the words exits 2, even with words ctmatch does not support",
		args: []string{"add", "rule", "inet", "fw", "input", "--", "-A", "INPUT", "-m", "recent", "--rcheck", "-m", "conntrack", "--ctstate", "NEW"}},
	{name: "insert-command-in-words", about: "insert rule: -I CHAIN N among the words exits 2 (use --index N)",
		args: []string{"insert", "rule", "ip", "filter", "INPUT", "--", "-t filter -I INPUT 2 -m conntrack --ctstate NEW"}},
	{name: "add-no-dashdash", about: "add rule with the words but no --: they look like flags",
		args: []string{"add", "rule", "inet", "fw", "input", "-m", "conntrack", "--ctstate", "NEW"}},
	{name: "add-no-words", about: "add rule with nothing to add",
		args: []string{"add", "rule", "inet", "fw", "input"}},
	{name: "add-invalid-words", about: "add rule: words iptables rejects exit 2 before anything is sent",
		args: []string{"add", "rule", "inet", "fw", "input", "--", "-m", "conntrack", "--ctstate", "NEW,BOGUS"}},
	{name: "add-unsupported-words", about: "add rule: a target ctmatch does not support exits 1 before anything is sent",
		args: []string{"add", "rule", "inet", "fw", "input", "--", "-m", "conntrack", "--ctstate", "NEW", "-j", "NFQUEUE"}},
	{name: "add-ip-with-6", about: "add rule: an ip table takes iptables words",
		args: []string{"add", "rule", "ip", "fw", "input", "-6", "--", "-m", "conntrack", "--ctstate", "NEW"}},
	{name: "add-ip6-with-ipv4-address", about: "add rule into an ip6 table: the words are ip6tables words (-6 is implied)",
		args: []string{"add", "rule", "ip6", "fw", "input", "--", "-m", "conntrack", "--ctorigsrc", "10.0.0.0/8"}},
	{name: "insert-bad-index", about: "insert rule --index counts from 1",
		args: []string{"insert", "rule", "inet", "fw", "input", "--index", "0", "--", "-m", "conntrack", "--ctstate", "NEW"}},
	{name: "insert-index-and-handle", about: "insert rule: --index and --handle exclude each other",
		args: []string{"insert", "rule", "inet", "fw", "input", "--index", "2", "--handle", "7", "--", "-m", "conntrack", "--ctstate", "NEW"}},
	{name: "insert-index-not-a-number", about: "insert rule --index takes a number",
		args: []string{"insert", "rule", "inet", "fw", "input", "--index", "two", "--", "-m", "conntrack", "--ctstate", "NEW"}},
	{name: "add-unknown-object", about: "add takes the object rule, as in nft's grammar",
		args: []string{"add", "table", "inet", "fw"}},
	{name: "add-nothing", about: "add alone",
		args: []string{"add"}},
	{name: "delete-no-handle-keyword", about: "delete rule: the handle comes after the word handle, as in nft",
		args: []string{"delete", "rule", "inet", "fw", "input", "5"}},
	{name: "delete-bad-handle", about: "delete rule: a handle is a number from 1",
		args: []string{"delete", "rule", "inet", "fw", "input", "handle", "0"}},
	{name: "delete-two-handles", about: "delete rule takes one handle, and no iptables words",
		args: []string{"delete", "rule", "inet", "fw", "input", "handle", "2", "3"}},
	{name: "delete-error-format-json", about: "delete rule --error-format json: bad usage as a JSON object",
		args: []string{"delete", "rule", "inet", "fw", "input", "handle", "0", "--error-format", "json"}},
	{name: "list-error-format-bad", about: "list --error-format takes text or json",
		args: []string{"list", "--error-format", "yaml"}},
	{name: "list-unknown-scope", about: "list takes ruleset, table FAMILY TABLE or chain FAMILY TABLE CHAIN",
		args: []string{"list", "tables"}},
	{name: "list-no-table", about: "list table needs FAMILY and TABLE",
		args: []string{"list", "table", "inet"}},
	{name: "list-empty-table", about: "list: an empty table name names nothing (not every table)",
		args: []string{"list", "table", "ip", ""}},
	{name: "list-empty-chain", about: "list: an empty chain name names nothing (not every chain)",
		args: []string{"list", "chain", "ip", "fw", ""}},
	{name: "list-unknown-output", about: "list -o takes nft, iptables or bytecode",
		args: []string{"list", "-o", "json"}},
	{name: "apply-no-file", about: "apply reads a file",
		args: []string{"apply"}},
	{name: "apply-bad-lines", about: "apply: every bad line is reported as FILE:LINE:COL, and nothing is sent",
		args: []string{"apply", "-f", "-"}, stdin: `# a comment, then a blank line

add rule inet fw input -- -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
add rule inet fw input --bogus -- -m conntrack --ctstate NEW
insert rule inet fw input --index 0 -- -m conntrack --ctstate NEW
add rule inet fw input -- -A input -m conntrack --ctstate NEW
add rule ip6 fw input -- -m conntrack --ctstate NEW,BOGUS
add rul inet fw input -- -m conntrack --ctstate NEW
add rule inet fw
add rule inet fw input -m conntrack --ctstate NEW
add rule inet fw input --
replace rule inet fw input -- -m conntrack --ctstate NEW
add rule inet fw input -- -m conntrack --ctstate NEW -j NFQUEUE
`},
	{name: "apply-bad-lines-json", about: "apply --error-format json: one object per bad line",
		args: []string{"apply", "--error-format", "json", "-f", "-"}, stdin: "add rule inet fw input --index x -- -m state --state NEW\nadd rule netdev fw input -- -m state --state NEW\n"},
	{name: "help-add-rule", about: "add rule --help",
		args: []string{"add", "rule", "--help"}},
	{name: "help-insert-rule", about: "insert rule --help",
		args: []string{"insert", "rule", "--help"}},
	{name: "help-delete-rule", about: "delete rule --help",
		args: []string{"delete", "rule", "--help"}},
	{name: "help-list", about: "list --help",
		args: []string{"list", "--help"}},
	{name: "help-apply", about: "apply --help",
		args: []string{"apply", "--help"}},
}

func init() { cliCases = append(cliCases, kernelUsageCases...) }
