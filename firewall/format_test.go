package firewall

import (
	"context"
	"strings"
	"testing"

	"github.com/ctmatch/ctmatch/expr"
)

// QuoteName leaves bare what nft reads bare as one name, and quotes the
// rest so that it is always exactly one quoted word: no '"' and no control
// character ever stands raw inside the quotes.
func TestQuoteName(t *testing.T) {
	for name, want := range map[string]string{
		"fw":                     "fw",
		"input":                  "input",
		"_u":                     "_u",
		"x-y.z/w9":               "x-y.z/w9",
		"":                       `""`,
		"9t":                     `"9t"`,
		"c; flush ruleset":       `"c; flush ruleset"`,
		`x" ; flush ruleset ; "`: `"x\x22 ; flush ruleset ; \x22"`,
		"a\nb\tc\x1b[2J":         `"a\x0ab\x09c\x1b[2J"`,
		"\u00e9":                 "\"\u00e9\"",
		"\u202eevil\u0085":       `"\u202eevil\u0085"`,
		"bad\xffutf8":            `"bad\xffutf8"`,
		`back\slash`:             `"back\x5cslash"`,
		`back\x5cslash`:          `"back\x5cx5cslash"`,
	} {
		if got := QuoteName(name); got != want {
			t.Errorf("QuoteName(%q) = %s, want %s", name, got, want)
		}
	}
	c := Created{Family: expr.FamilyInet, Table: "c; flush ruleset", Chain: "c; x"}
	if got, want := c.String(), `add chain inet "c; flush ruleset" "c; x"`; got != want {
		t.Errorf("Created.String() = %s, want %s", got, want)
	}
	c.Chain = ""
	if got, want := c.String(), `add table inet "c; flush ruleset"`; got != want {
		t.Errorf("Created.String() = %s, want %s", got, want)
	}
}

// A jump to a chain nft reads only quoted is written as the chain's own
// line writes its name, quoted, not bare (where nft would read a keyword).
func TestListNftJumpQuoted(t *testing.T) {
	ctx := context.Background()
	f := newFakeConn()
	c := f.client()
	r := translate(t, expr.FamilyInet, "-j counter")
	accept := translate(t, expr.FamilyInet, "-j ACCEPT")
	if _, err := c.Apply(ctx, []Change{{Family: expr.FamilyInet, Table: "fw", Chain: "counter", Rule: accept}, {Family: expr.FamilyInet, Table: "fw", Chain: "input", Rule: r}}, ApplyOptions{Create: true}); err != nil {
		t.Fatal(err)
	}
	l, err := c.List(ctx, Scope{})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := l.Write(&b, ListNft, ListText{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "\tchain \"counter\" {") || !strings.Contains(b.String(), "counter packets 0 bytes 0 jump \"counter\"\n") {
		t.Errorf("list -o nft:\n%s\nwant the chain and the jump to it quoted alike", b.String())
	}
}
