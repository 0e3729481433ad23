package main

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/ctmatch/ctmatch"
)

// The cases of apply -f of a JSON listing that fail before the kernel.
func init() {
	cliCases = append(cliCases,
		cliCase{name: "apply-listing-not-ctmatch", about: "apply -f of a JSON document whose rule has no ctmatch record (nft -j list ruleset's, say): exit 2, nothing sent",
			args: []string{"apply", "-f", "-"}, stdin: `{"nftables":[{"table":{"family":"ip","name":"t"}},{"chain":{"family":"ip","table":"t","name":"c"}},{"rule":{"family":"ip","table":"t","chain":"c","expr":[{"accept":null}]}}]}` + "\n"},
		cliCase{name: "apply-listing-edited", about: "apply -f of a listing whose rule's expressions are not what its words compile to: exit 2, nothing sent",
			args: []string{"apply", "-f", "-"}, stdin: `{"nftables":[{"table":{"family":"ip","name":"t"}},{"chain":{"family":"ip","table":"t","name":"c"}},{"rule":{"family":"ip","table":"t","chain":"c","expr":[{"drop":null}],"ctmatch":{"piece":0,"pieces":1,"family":"ipv4","words":"-j ACCEPT"}}}]}` + "\n"},
		cliCase{name: "apply-listing-edited-json", about: "the same with --error-format json: one JSON object naming the file, exit 2",
			args: []string{"apply", "--error-format", "json", "-f", "-"}, stdin: `{"nftables":[{"table":{"family":"ip","name":"t"}},{"chain":{"family":"ip","table":"t","name":"c"}},{"rule":{"family":"ip","table":"t","chain":"c","expr":[{"drop":null}],"ctmatch":{"piece":0,"pieces":1,"family":"ipv4","words":"-j ACCEPT"}}}]}` + "\n"},
		cliCase{name: "apply-listing-not-decompiled", about: "apply -f of a listing with a rule ctmatch does not understand: exit 1, nothing sent",
			args: []string{"apply", "-f", "-"}, stdin: `{"nftables":[{"table":{"family":"ip","name":"t"}},{"chain":{"family":"ip","table":"t","name":"c"}},{"ctmatch-not-decompiled":{"family":"ip","table":"t","chain":"c","handle":2,"reason":"x","expressions":[]}}]}` + "\n"},
	)
}

// A listing that passed through a JSON tool (jq, Python's json module)
// loads as the compact one ctmatch printed: other spacing, keys in another
// order, counters with their values. An expression changed in it is still
// refused.
func TestListingTablesAnyJSONLayout(t *testing.T) {
	const words = "-p tcp -m tcp --dport 22 -m comment --comment \"ssh & co\" -j ACCEPT"
	r, err := ctmatch.Translate(words, ctmatch.Options{})
	if err != nil {
		t.Fatal(err)
	}
	exprs := string(r.Rules[0].AppendJSON(nil))
	exprs = strings.Replace(exprs, `{"counter":null}`, `{"counter":{"packets":12,"bytes":3400}}`, 1)
	if !strings.Contains(exprs, `"packets":12`) {
		t.Fatalf("no counter in %s", exprs)
	}
	compact := `{"nftables":[{"table":{"family":"ip","name":"filter","ctmatch":{"owned":true}}},` +
		`{"chain":{"family":"ip","table":"filter","name":"INPUT","type":"filter","hook":"input","prio":0,"policy":"drop"}},` +
		`{"rule":{"family":"ip","table":"filter","chain":"INPUT","comment":"ssh & co","expr":` + exprs +
		`,"ctmatch":{"piece":0,"pieces":1,"family":"ipv4","words":` + strconv.Quote(words) + `}}}]}`
	var indented bytes.Buffer
	if err := json.Indent(&indented, []byte(compact), "", "  "); err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := json.Unmarshal([]byte(compact), &doc); err != nil {
		t.Fatal(err)
	}
	sorted, err := json.Marshal(doc) // map keys in sorted order, & as \u0026
	if err != nil {
		t.Fatal(err)
	}
	want, err := listingTables([]byte(compact), false)
	if err != nil || len(want) != 1 || len(want[0].Chains) != 1 || len(want[0].Chains[0].Rules) != 1 {
		t.Fatalf("the compact listing: %v, %v", want, err)
	}
	for name, data := range map[string][]byte{"indented": indented.Bytes(), "sorted keys": sorted} {
		got, err := listingTables(data, false)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if g, w := got[0].Chains[0].Rules[0].Rule.String(), want[0].Chains[0].Rules[0].Rule.String(); g != w {
			t.Errorf("%s: loads %q, the compact listing %q", name, g, w)
		}
		if _, err := listingTables(data, true); err != nil {
			t.Errorf("%s with --no-counter: %v", name, err)
		}
	}
	edited := bytes.Replace(indented.Bytes(), []byte(`"right": 22`), []byte(`"right": 23`), 1)
	if bytes.Equal(edited, indented.Bytes()) {
		t.Fatal("the port is not in the indented listing")
	}
	if _, err := listingTables(edited, false); err == nil || !strings.Contains(err.Error(), "not what its words") {
		t.Errorf("a listing whose port was edited: %v, want refused", err)
	}
}
