package expr_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ctmatch/ctmatch/expr"
)

func TestGroupUserData(t *testing.T) {
	long := "-m conntrack " + strings.Repeat("x", 300)
	for _, tc := range []struct {
		name    string
		g       expr.Group
		comment string
		want    expr.Group // what comes back
		size    int        // expected length of the userdata, 0: do not check
	}{
		{name: "words", g: expr.Group{ID: 7, Index: 1, Count: 3, Words: "-m conntrack --ctstate NEW,DNAT -j ACCEPT"},
			want: expr.Group{ID: 7, Index: 1, Count: 3, Words: "-m conntrack --ctstate NEW,DNAT -j ACCEPT"}, size: 2 + 8 + 41},
		{name: "ipv6 with comment", g: expr.Group{ID: 1 << 31, Index: 0, Count: 1, IPv6: true, Words: "-m state --state NEW"}, comment: "ssh",
			want: expr.Group{ID: 1 << 31, Index: 0, Count: 1, IPv6: true, Words: "-m state --state NEW"}, size: 2 + 4 + 2 + 8 + 20},
		{name: "words too long are left out", g: expr.Group{ID: 2, Index: 0, Count: 2, Words: long},
			want: expr.Group{ID: 2, Index: 0, Count: 2}, size: 10},
		{name: "exactly full", g: expr.Group{ID: 3, Count: 1, Words: strings.Repeat("w", 246)},
			want: expr.Group{ID: 3, Count: 1, Words: strings.Repeat("w", 246)}, size: 256},
		{name: "one byte too many", g: expr.Group{ID: 3, Count: 1, Words: strings.Repeat("w", 247)},
			want: expr.Group{ID: 3, Count: 1}, size: 10},
		{name: "a 64-bit id", g: expr.Group{ID: 1<<63 | 0x0123456789abcdef, Index: 2, Count: 3, Words: "-j ACCEPT"},
			want: expr.Group{ID: 1<<63 | 0x0123456789abcdef, Index: 2, Count: 3, Words: "-j ACCEPT"}, size: 2 + 8 + 9 + 2 + 4},
		{name: "a 64-bit id, exactly full", g: expr.Group{ID: 1 << 32, Count: 1, Words: strings.Repeat("w", 240)},
			want: expr.Group{ID: 1 << 32, Count: 1, Words: strings.Repeat("w", 240)}, size: 256},
		{name: "a 64-bit id, one byte too many", g: expr.Group{ID: 1 << 32, Count: 1, Words: strings.Repeat("w", 241)},
			want: expr.Group{ID: 1 << 32, Count: 1}, size: 16},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := tc.g.UserData(tc.comment)
			if err != nil {
				t.Fatal(err)
			}
			if len(b) > expr.MaxUserData {
				t.Fatalf("userdata of %d bytes, above the kernel's %d", len(b), expr.MaxUserData)
			}
			if tc.size != 0 && len(b) != tc.size {
				t.Errorf("userdata is %d bytes, want %d", len(b), tc.size)
			}
			comment, g, err := expr.ParseUserData(b)
			if err != nil {
				t.Fatal(err)
			}
			if comment != tc.comment {
				t.Errorf("comment = %q, want %q", comment, tc.comment)
			}
			if diff := cmp.Diff(tc.want, g); diff != "" {
				t.Errorf("group (-want +got):\n%s", diff)
			}
		})
	}
}

func TestGroupUserDataErrors(t *testing.T) {
	if _, err := (expr.Group{Count: 0}).UserData(""); err == nil {
		t.Error("a group of 0 pieces was accepted")
	}
	if _, err := (expr.Group{Index: 2, Count: 2}).UserData(""); err == nil {
		t.Error("piece 3 of 2 was accepted")
	}
	if _, err := (expr.Group{Count: 1}).UserData(strings.Repeat("c", 250)); err == nil {
		t.Error("a comment leaving no room for the record was accepted")
	}
	if _, _, err := expr.ParseUserData([]byte{0, 2, 'a', 0}); !errors.Is(err, expr.ErrNoGroup) {
		t.Errorf("userdata with only a comment: err = %v, want ErrNoGroup", err)
	}
	for _, bad := range [][]byte{{0xc7}, {0xc7, 9, 1}, {0xc7, 3, 1, 0, 0}, {0xc7, 8, 9, 0, 0, 0, 0, 1, 0, 1}, {0xc7, 8, 1, 0, 0, 0, 0, 1, 3, 2},
		{0xc7, 8, 1, 0, 0, 0, 0, 1, 0, 1, 0xc8, 3, 1, 2, 3}} {
		if _, _, err := expr.ParseUserData(bad); err == nil || errors.Is(err, expr.ErrNoGroup) {
			t.Errorf("ParseUserData(% x): err = %v, want a parse error", bad, err)
		}
	}
}

// A 64-bit group id keeps its low half in the record and its high half in a
// TLV of its own after it, which a reader that knows only the record skips:
// such a reader still finds the group, by the low half of its id.
func TestGroupUserDataHighID(t *testing.T) {
	g := expr.Group{ID: 0x8000000500000007, Index: 1, Count: 2, Words: "-j ACCEPT"}
	b, err := g.UserData("")
	if err != nil {
		t.Fatal(err)
	}
	want := append(append([]byte{0xc7, 8 + 9, 1, 2, 0, 0, 0, 7, 1, 2}, "-j ACCEPT"...), 0xc8, 4, 0x80, 0, 0, 5)
	if diff := cmp.Diff(want, b); diff != "" {
		t.Errorf("userdata (-want +got):\n%s", diff)
	}
	_, back, err := expr.ParseUserData(b[:len(b)-6])
	if err != nil || back.ID != 7 || back.Index != 1 || back.Count != 2 || back.Words != "-j ACCEPT" {
		t.Errorf("the record alone reads %+v, %v", back, err)
	}
	// Without a record, the high half alone is no group.
	if _, _, err := expr.ParseUserData(b[len(b)-6:]); !errors.Is(err, expr.ErrNoGroup) {
		t.Errorf("the high half alone: %v, want ErrNoGroup", err)
	}
}

func ExampleGroup_UserData() {
	g := expr.Group{ID: 42, Index: 0, Count: 2, Words: "-m conntrack --ctstate NEW,DNAT"}
	b, _ := g.UserData("new flows")
	_, back, _ := expr.ParseUserData(b)
	fmt.Println(len(b), back.ID, back.Index+1, back.Count, back.Words)
	// Output: 53 42 1 2 -m conntrack --ctstate NEW,DNAT
}

// AppendUserData appends what UserData returns, and leaves dst as it was on
// an error.
func TestAppendUserData(t *testing.T) {
	for _, tc := range []struct {
		g       expr.Group
		comment string
	}{
		{expr.Group{ID: 7, Index: 1, Count: 2, IPv6: true, Words: "-m conntrack --ctstate NEW"}, ""},
		{expr.Group{ID: 1, Count: 1, Words: strings.Repeat("w", 300)}, "a comment"},
		{expr.Group{ID: 1, Count: 1}, strings.Repeat("c", 254)},
		{expr.Group{ID: 1, Index: 2, Count: 2}, ""},
	} {
		want, wantErr := tc.g.UserData(tc.comment)
		dst := []byte("prefix")
		got, err := tc.g.AppendUserData(dst, tc.comment)
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("%+v: error %v, UserData's %v", tc.g, err, wantErr)
		}
		if err != nil {
			if string(got) != "prefix" {
				t.Errorf("%+v: %q after an error", tc.g, got)
			}
			continue
		}
		if string(got) != "prefix"+string(want) {
			t.Errorf("%+v: appended % x, want % x", tc.g, got[6:], want)
		}
	}
}
