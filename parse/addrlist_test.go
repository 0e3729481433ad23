package parse_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ctmatch/ctmatch/internal/cases"
	"github.com/ctmatch/ctmatch/parse"
)

// A comma list of -s or -d expands into the rules iptables makes of it, in
// its order; the rule itself prints the lists, and parses back to the same
// rules.
func TestAddressLists(t *testing.T) {
	for _, c := range cases.AddressLists {
		t.Run(c.Name, func(t *testing.T) {
			r, err := parse.ParseArgs(c.Args, parse.Options{Family: c.Family})
			if err != nil {
				t.Fatalf("ParseArgs(%q): %v", c.Args, err)
			}
			if n := r.Addresses(); n != len(c.Want) {
				t.Errorf("Addresses() = %d, want %d", n, len(c.Want))
			}
			var got []string
			for _, e := range r.Expand() {
				got = append(got, e.String())
				for _, a := range []*parse.Address{e.Src, e.Dst} {
					if a == nil {
						continue
					}
					if a.List != nil || a.Items != nil {
						t.Errorf("expanded %s still has a list: %v", a.Flagword(), a.List)
					}
					if w := a.Value; r.Text[w.At:w.End()] != w.Text {
						t.Errorf("expanded %s's word %q is not at %d of %q", a.Flagword(), w.Text, w.At, r.Text)
					}
				}
			}
			if diff := cmp.Diff(c.Want, got); diff != "" {
				t.Errorf("Expand (-want +got):\n%s", diff)
			}
			// The lists print back, and read back as the same rules.
			r2, err := parse.ParseText(r.String(), parse.Options{Family: c.Family})
			if err != nil {
				t.Fatalf("ParseText(%q): %v", r.String(), err)
			}
			var again []string
			for _, e := range r2.Expand() {
				again = append(again, e.String())
			}
			if diff := cmp.Diff(c.Want, again); diff != "" {
				t.Errorf("%q read back (-want +got):\n%s", r.String(), diff)
			}
			if !strings.Contains(r.String(), ",") {
				t.Errorf("String() = %q: the list is lost", r.String())
			}
		})
	}
}

// A rule without a list is its own expansion.
func TestExpandSingle(t *testing.T) {
	r, err := parse.ParseText("-A INPUT -s 10.0.0.1 -d 10.0.0.2 -j ACCEPT", parse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if e := r.Expand(); len(e) != 1 || e[0] != r || r.Addresses() != 1 {
		t.Errorf("Expand() = %v, want the rule itself", e)
	}
}
