package parse

import "testing"

// The values below are those iptables 1.8.9 was seen to read (-j TCPMSS
// --set-mss takes a whole number, -j TOS --set-tos a number at the start
// of its value): " 16" and "+16" are 16 to both, "-1" is none ("bad value",
// "Symbolic name"), "0x" and "08" are 0 followed by a letter or a digit
// ("Illegal value: \"0x\""), a number past 64 bits is none.
func TestXtStrtoul(t *testing.T) {
	for _, c := range []struct {
		s   string
		v   uint64
		end int
		ok  bool
	}{
		{"16", 16, 2, true},
		{" 16", 16, 3, true},
		{"\t+16", 16, 4, true},
		{"+16", 16, 3, true},
		{"16 ", 16, 2, true},
		{"0x10/0x3f", 16, 4, true},
		{"0X1F", 31, 4, true},
		{"010", 8, 3, true},
		{"0", 0, 1, true},
		{"0x", 0, 1, true},
		{"0xg", 0, 1, true},
		{"08", 0, 1, true},
		{"1400x", 1400, 4, true},
		{"18446744073709551615", 1<<64 - 1, 20, true},
		{"-1", 0, 0, false},
		{" -1", 0, 0, false},
		{"+-1", 0, 0, false},
		{"+", 0, 0, false},
		{"", 0, 0, false},
		{"x10", 0, 0, false},
		{"/0x3f", 0, 0, false},
		{"18446744073709551616", 0, 0, false},
		{"99999999999999999999", 0, 0, false},
	} {
		v, end, ok := xtStrtoul(c.s)
		if v != c.v || end != c.end || ok != c.ok {
			t.Errorf("xtStrtoul(%q) = %d, %d, %v; want %d, %d, %v", c.s, v, end, ok, c.v, c.end, c.ok)
		}
	}
}
