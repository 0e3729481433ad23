package nftforms

import (
	"strings"
	"testing"
)

func TestParseVersion(t *testing.T) {
	for in, want := range map[string]Version{
		"nftables v1.0.6 (Lester Gooch #5)\n":        {1, 0, 6},
		"nftables v1.1.6 (Commodore Bullmoose #7)\n": {1, 1, 6},
		"nftables v1.1 (x)":                          {1, 1, 0},
	} {
		if got, err := ParseVersion(in); err != nil || got != want {
			t.Errorf("ParseVersion(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := ParseVersion("nft: command not found"); err == nil {
		t.Error("ParseVersion of no version: no error")
	}
	for _, tc := range []struct {
		v    Version
		want bool
	}{{Version{1, 0, 6}, false}, {Version{1, 1, 1}, false}, {Version{1, 1, 2}, true}, {Version{1, 2, 0}, true}, {Version{2, 0, 0}, true}} {
		if got := tc.v.NewForms(); got != tc.want {
			t.Errorf("%v.NewForms() = %v", tc.v, got)
		}
	}
}

// Each pair: what nft 1.0.6 sends (ctmatch's bytes) and what nft 1.1.6 sent
// for the same text, both taken from nft --debug=netlink; Lines makes them
// one. The last pairs mean different things and stay apart.
func TestLines(t *testing.T) {
	for _, tc := range []struct {
		name     string
		old, new []string
		same     bool
	}{
		{"address range", []string{
			"[ payload load 4b @ network header + 12 => reg 1 ]", "[ cmp gte reg 1 0x0100000a ]", "[ cmp lte reg 1 0x0900000a ]"}, []string{
			"[ payload load 4b @ network header + 12 => reg 1 ]", "[ range eq reg 1 0x0100000a 0x0900000a ]"}, true},
		{"ipv6 address range", []string{
			"[ cmp gte reg 1 0xb80d0120 0x00000000 0x00000000 0x01000000 ]", "[ cmp lte reg 1 0xb80d0120 0x00000000 0x00000000 0x09000000 ]"}, []string{
			"[ range eq reg 1 0xb80d0120 0x00000000 0x00000000 0x01000000 0xb80d0120 0x00000000 0x00000000 0x09000000 ]"}, true},
		{"port of one value", []string{
			"[ cmp gte reg 1 0x00000500 ]", "[ cmp lte reg 1 0x00000500 ]"}, []string{
			"[ cmp eq reg 1 0x00000500 ]"}, true},
		{"not a port of one value", []string{
			"[ range neq reg 1 0x00000100 0x00000100 ]"}, []string{
			"[ cmp neq reg 1 0x00000100 ]"}, true},
		{"expiration of one value", []string{
			"[ ct load expiration => reg 1 ]", "[ byteorder reg 1 = hton(reg 1, 4, 4) ]", "[ cmp gte reg 1 0x88130000 ]", "[ cmp lte reg 1 0x88130000 ]"}, []string{
			"[ ct load expiration => reg 1 ]", "[ cmp eq reg 1 0x00001388 ]"}, true},
		{"expiration range", []string{
			"[ byteorder reg 1 = hton(reg 1, 4, 4) ]", "[ cmp gte reg 1 0x606d0000 ]", "[ cmp lte reg 1 0x47710000 ]"}, []string{
			"[ byteorder reg 1 = hton(reg 1, 4, 4) ]", "[ range eq reg 1 0x606d0000 0x47710000 ]"}, true},
		{"nat to one address", []string{
			"[ immediate reg 1 0x0302010a ]", "[ immediate reg 2 0x0302010a ]", "[ nat dnat ip addr_min reg 1 addr_max reg 2 flags 0x40 ]"}, []string{
			"[ immediate reg 1 0x0302010a ]", "[ nat dnat ip addr_min reg 1 flags 0x40 ]"}, true},
		{"nat to one address, dumped", []string{
			"[ immediate reg 1 0x0302010a ]", "[ immediate reg 2 0x0302010a ]", "[ nat dnat ip addr_min reg 1 addr_max reg 2 flags 0x40 ]"}, []string{
			"[ immediate reg 1 0x0302010a ]", "[ nat dnat ip addr_min reg 1 addr_max reg 1 flags 0x40 ]"}, true},
		{"another range", []string{
			"[ cmp gte reg 1 0x0100000a ]", "[ cmp lte reg 1 0x0900000a ]"}, []string{
			"[ range eq reg 1 0x0100000a 0x0a00000a ]"}, false},
		{"a range that is not one value", []string{
			"[ cmp gte reg 1 0x00000500 ]", "[ cmp lte reg 1 0x00000600 ]"}, []string{
			"[ cmp eq reg 1 0x00000500 ]"}, false},
		{"nat to a range", []string{
			"[ immediate reg 1 0x0302010a ]", "[ immediate reg 2 0x0402010a ]", "[ nat dnat ip addr_min reg 1 addr_max reg 2 flags 0x40 ]"}, []string{
			"[ immediate reg 1 0x0302010a ]", "[ nat dnat ip addr_min reg 1 flags 0x40 ]"}, false},
		{"byteorder before an order", []string{
			"[ byteorder reg 1 = hton(reg 1, 4, 4) ]", "[ cmp gte reg 1 0x88130000 ]"}, []string{
			"[ cmp gte reg 1 0x00001388 ]"}, false},
	} {
		a, b := strings.Join(Lines(tc.old), "\n"), strings.Join(Lines(tc.new), "\n")
		if (a == b) != tc.same {
			t.Errorf("%s: Lines gives\n%s\nand\n%s\nwant them the same: %v", tc.name, a, b, tc.same)
		}
	}
}
