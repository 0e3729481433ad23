package expr_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/ctmatch/ctmatch/expr"
)

// The zone set cases, with the nft text each renders as; they join every
// wire test (Lower against nft's bytes, DebugLines, Raise of nft's bytes,
// of Lower's and of the kernel's dumps).
var ctZoneCases = []struct {
	name string
	rule expr.Rule
	text string
}{
	{"ct zone set", stmts(nil, expr.SetCtZone{Zone: 5}), "ct state != untracked ct zone set 5"},
	{"ct zone set 0", stmts(nil, expr.SetCtZone{}), "ct state != untracked ct zone set 0"},
	{"ct original zone set", stmts(nil, expr.SetCtZone{Zone: 65535, Dir: expr.ZoneOriginal}), "ct state != untracked ct original zone set 65535"},
	{"ct reply zone set", stmts([]expr.Match{udp}, expr.SetCtZone{Zone: 2, Dir: expr.ZoneReply}), "meta l4proto udp ct state != untracked ct reply zone set 2"},
	{"counter ct zone set", expr.Rule{Counter: true, Stmts: []expr.Stmt{expr.SetCtZone{Zone: 0x1234}}}, "counter ct state != untracked ct zone set 4660"},
}

func init() {
	for _, c := range ctZoneCases {
		moreWireCases = append(moreWireCases, wireCase{c.name, c.rule})
	}
}

func TestCtZoneText(t *testing.T) {
	for _, c := range ctZoneCases {
		if got := c.rule.String(); got != c.text {
			t.Errorf("%s: %q, want %q", c.name, got, c.text)
		}
	}
}

// Raise reads a zone set only behind its guard, ct state != untracked:
// without it nft's ct zone set tracks an untracked packet, which xt_CT
// does not, and no iptables rule does that.
func TestCtZoneRaiseRefusesWithoutGuard(t *testing.T) {
	good, err := stmts(nil, expr.SetCtZone{Zone: 5}).Lower(expr.FamilyIP)
	if err != nil {
		t.Fatal(err)
	}
	if r, err := expr.Raise(expr.FamilyIP, good); err != nil || r.String() != "ct state != untracked ct zone set 5" {
		t.Fatalf("Raise of Lower's bytes: %v, %v", r, err)
	}
	untracked := []byte{0x40, 0, 0, 0}
	i := bytesIndex(good, untracked)
	if i < 0 || bytesIndex(good[i+1:], untracked) >= 0 {
		t.Fatal("the guard's value is not once in Lower's bytes")
	}
	for _, state := range [][]byte{{0x08, 0, 0, 0}, {0x40, 0, 0, 1}} {
		bad := slices.Clone(good)
		copy(bad[i:], state)
		if r, err := expr.Raise(expr.FamilyIP, bad); err == nil || !strings.Contains(err.Error(), "without the guard") {
			t.Errorf("guard value %v: Raise gives %v, %v; want a refusal", state, r, err)
		}
	}
}

// Lower refuses a zone of no direction it knows.
func TestCtZoneLowerRefuses(t *testing.T) {
	if b, err := stmts(nil, expr.SetCtZone{Zone: 1, Dir: 3}).Lower(expr.FamilyIP); err == nil {
		t.Errorf("Lower of a zone of direction 3: %x, want an error", b)
	}
}
