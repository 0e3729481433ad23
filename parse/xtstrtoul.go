package parse

// xtStrtoul reads a number at the start of s as libxtables'
// xtables_strtoul_base with base 0 does when it is given an end pointer:
// C's strtoumax (leading blanks skipped, a "+" taken, 0x hex, leading-0
// octal, else decimal) after a check that no "-" follows the blanks. It
// returns the value and the length of s it read, and false when it read no
// digit, a "-" comes first, or the number does not fit in 64 bits
// (ERANGE). As strtoumax, it reads "0x" not followed by a hex digit as the
// number 0 followed by "x", and "08" as 0 followed by "8".
//
// The extensions that call it without an end pointer take the number only
// when it is the whole of s: end == len(s).
func xtStrtoul(s string) (v uint64, end int, ok bool) {
	i := 0
	for i < len(s) && isCSpace(s[i]) {
		i++
	}
	if i < len(s) && s[i] == '-' {
		return 0, 0, false
	}
	if i < len(s) && s[i] == '+' {
		i++
	}
	base := uint64(10)
	if i < len(s) && s[i] == '0' {
		base = 8
		if i+2 < len(s) && s[i+1]|0x20 == 'x' && hexDigit(s[i+2]) < 16 {
			base = 16
			i += 2
		}
	}
	start := i
	for ; i < len(s); i++ {
		d := hexDigit(s[i])
		if d >= base {
			break
		}
		if v > (^uint64(0)-d)/base {
			return 0, 0, false
		}
		v = v*base + d
	}
	if i == start {
		return 0, 0, false
	}
	return v, i, true
}

// isCSpace reports whether c is a blank as C's isspace says in the C
// locale.
func isCSpace(c byte) bool {
	return c == ' ' || c >= '\t' && c <= '\r'
}

// hexDigit returns the value of c as a hex digit, or 16 when it is none.
func hexDigit(c byte) uint64 {
	switch {
	case c >= '0' && c <= '9':
		return uint64(c - '0')
	case c >= 'a' && c <= 'f':
		return uint64(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return uint64(c-'A') + 10
	}
	return 16
}

// parseStrtoumax reads s as xtables_strtoul does with base 0 and no end
// pointer: the whole of s a number xtStrtoul reads, at most max.
func parseStrtoumax(s string, max uint64) (uint64, bool) {
	n, end, ok := xtStrtoul(s)
	return n, ok && end == len(s) && n <= max
}
