package expr

import (
	"encoding/binary"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Intervals encodes ranges as nft 1.0.6 does (see kernel/sets_kernel_test.go and
// set_nft_test.go, which compare with nft): sorted and merged, a leading end element at 0, an end
// element after each range, an open last range marked in its userdata, and
// the size nft sends. KeyRanges reads them back.
func TestIntervals(t *testing.T) {
	p := func(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }
	r := func(a, b uint16) KeyRange { return KeyRange{From: p(a), To: p(b)} }
	start := func(v uint16) SetElem { return SetElem{Key: p(v)} }
	end := func(v uint16) SetElem { return SetElem{Key: p(v), IntervalEnd: true} }
	open := func(v uint16) SetElem { return SetElem{Key: p(v), UserData: intervalOpen()} }
	for _, tc := range []struct {
		in     []KeyRange
		want   []SetElem
		size   uint32
		ranges []KeyRange
	}{
		{[]KeyRange{r(8000, 8100), r(80, 80), r(443, 443)}, []SetElem{end(0), start(80), end(81), start(443), end(444), start(8000), end(8101)}, 7,
			[]KeyRange{r(80, 80), r(443, 443), r(8000, 8100)}},
		{[]KeyRange{r(0, 10), r(80, 80), r(81, 81), r(443, 443), r(65000, 65535)}, []SetElem{start(0), end(11), start(80), end(82), start(443), end(444), open(65000)}, 8,
			[]KeyRange{r(0, 10), r(80, 81), r(443, 443), r(65000, 65535)}},
		{[]KeyRange{r(10, 20), r(15, 30), r(5, 12), r(31, 31)}, []SetElem{end(0), start(5), end(32)}, 3, []KeyRange{r(5, 31)}},
		{[]KeyRange{r(0, 65535)}, []SetElem{open(0)}, 2, []KeyRange{r(0, 65535)}},
		{nil, nil, 0, nil},
	} {
		got, size, err := Intervals(tc.in)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" || size != tc.size {
			t.Errorf("Intervals(%x): size %d, want %d; elements (-want +got):\n%s", tc.in, size, tc.size, diff)
		}
		// The kernel lists them in its own order.
		rev := slices.Clone(got)
		slices.Reverse(rev)
		if diff := cmp.Diff(tc.ranges, Ranges(rev)); diff != "" {
			t.Errorf("KeyRanges: (-want +got):\n%s", diff)
		}
	}
	for _, bad := range [][]KeyRange{{r(9, 8)}, {r(1, 2), {From: []byte{1}, To: []byte{2}}}} {
		if _, _, err := Intervals(bad); err == nil {
			t.Errorf("Intervals(%x) did not fail", bad)
		}
	}
}

// CanonicalIntervals sorts and drops duplicates; it merges overlapping and
// adjacent elements only when one of them is a range (an interval set: nft
// and the kernel merge them), not in a set of single ports.
func TestCanonicalIntervals(t *testing.T) {
	for _, tc := range []struct{ in, want []Interval }{
		{[]Interval{{443, 443}, {80, 80}, {80, 80}}, []Interval{{80, 80}, {443, 443}}},
		{[]Interval{{81, 81}, {80, 80}}, []Interval{{80, 80}, {81, 81}}},
		{[]Interval{{81, 81}, {80, 80}, {100, 200}}, []Interval{{80, 81}, {100, 200}}},
		{[]Interval{{85, 85}, {81, 90}, {80, 80}, {91, 91}}, []Interval{{80, 91}}},
		{[]Interval{{0, 65535}, {1, 1}}, []Interval{{0, 65535}}},
	} {
		if got := CanonicalIntervals(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("CanonicalIntervals(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

// A lookup's text, and what Lower refuses of it: fewer than two elements
// (nft sends one as a comparison), a reversed or too wide range, a port
// twice in a set of single ports, a field other than a port.
func TestLookupTextAndChecks(t *testing.T) {
	r := Rule{Matches: []Match{L4Proto{Op: OpEq, Proto: ProtoTCP}, Lookup{Field: FieldTHDport, Neg: true, Elems: []Interval{{22, 22}, {8000, 8100}}}}}
	if got, want := r.String(), "tcp dport != { 22, 8000-8100 }"; got != want {
		t.Errorf("text %q, want %q", got, want)
	}
	if got, want := (Lookup{Field: FieldTHSport, Elems: []Interval{{1, 1}, {2, 2}}}).String(), "th sport { 1, 2 }"; got != want {
		t.Errorf("text %q, want %q", got, want)
	}
	for _, l := range []Lookup{
		{Field: FieldTHDport, Elems: []Interval{{22, 22}}},
		{Field: FieldTHDport},
		{Field: FieldTHDport, Elems: []Interval{{22, 22}, {90, 80}}},
		{Field: FieldTHDport, Elems: []Interval{{22, 22}, {80, 70000}}},
		{Field: FieldTHDport, Elems: []Interval{{22, 22}, {22, 22}}},
		{Field: FieldICMPType, Elems: []Interval{{1, 1}, {2, 2}}},
		{Field: FieldIPTTL, Elems: []Interval{{1, 1}, {2, 2}}},
	} {
		if _, err := (Rule{Matches: []Match{l}}).Lower(FamilyIP); err == nil {
			t.Errorf("Lower(%v) did not fail", l)
		}
	}
	if !Equal(Lookup{Field: FieldTHDport, Elems: []Interval{{1, 1}, {2, 2}}}, Lookup{Field: FieldTHDport, Elems: []Interval{{1, 1}, {2, 2}}}) ||
		Equal(Lookup{Field: FieldTHDport, Elems: []Interval{{1, 1}, {2, 2}}}, Lookup{Field: FieldTHDport, Neg: true, Elems: []Interval{{1, 1}, {2, 2}}}) ||
		Equal(Lookup{Field: FieldTHDport}, Payload{Field: FieldTHDport}) || !Equal(L4Proto{Op: OpEq, Proto: 6}, L4Proto{Op: OpEq, Proto: 6}) {
		t.Error("Equal")
	}
}

// DebugSetLines writes a set's size as libnftnl prints it: only when the
// set is sent with one (nft 1.1.2 and later send an anonymous set without).
func TestDebugSetLinesSize(t *testing.T) {
	s := Set{Name: AnonymousSetName, Flags: 3}
	if got := DebugSetLines("t", s)[0]; got != "__set%d t 3" {
		t.Errorf("without a size: %q", got)
	}
	s.Size = 2
	if got := DebugSetLines("t", s)[0]; got != "__set%d t 3 size 2" {
		t.Errorf("with size 2: %q", got)
	}
}
