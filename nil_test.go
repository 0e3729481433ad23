package ctmatch

import (
	"strings"
	"testing"
)

// Nil rules and a document closed twice: errors or nothing, no panic and
// no second end.
func TestNilAndTwice(t *testing.T) {
	if _, err := Compile(nil, Options{}); err == nil {
		t.Error("Compile(nil): no error")
	}
	if _, err := CompileAll(nil, Options{}); err == nil {
		t.Error("CompileAll(nil): no error")
	}
	var r *Rule
	if s := r.String(); s != "" {
		t.Errorf("(*Rule)(nil).String() = %q", s)
	}
	var b strings.Builder
	d := NewJSONDoc(&b)
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil || b.String() != "{\"nftables\":[]}\n" {
		t.Errorf("two Closes: %q, %v; want one empty document", b.String(), err)
	}
}
