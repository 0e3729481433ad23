package parse

import (
	"fmt"
	"strings"
	"testing"
)

// The caret context never prints a control character of the input raw (an
// escape sequence would reach the terminal): it escapes them, and bytes
// that are not UTF-8, and keeps the carets under the word as shown.
func TestCaretEscapes(t *testing.T) {
	for _, tc := range []struct{ text, want string }{
		{"-m conntrack --ctstate NEW,\x1b[2JBAD --ctproto 6",
			"  -m conntrack --ctstate NEW,\\x1b[2JBAD --ctproto 6\n" +
				"                             ^^^^^^^^^^"},
		{"-m conntrack\t--ctstate NEW,B\xffD",
			"  -m conntrack\t--ctstate NEW,B\\xffD\n" +
				"              \t              ^^^^^^"},
		{"-m conntrack --ctstate NEW,\u202eBAD\u009b",
			"  -m conntrack --ctstate NEW,\\u202eBAD\\u009b\n" +
				"                             ^^^^^^^^^^^^^^^"},
		{"-m conntrack --ctstate NEW,\u00e9",
			"  -m conntrack --ctstate NEW,\u00e9\n" +
				"                             ^"},
	} {
		_, err := ParseText(tc.text, Options{Family: IPv4})
		e, ok := err.(*Error)
		if !ok {
			t.Fatalf("ParseText(%q) = %v, want a *Error", tc.text, err)
		}
		if got := e.Caret(); got != tc.want {
			t.Errorf("ParseText(%q): caret\n%s\nwant\n%s", tc.text, got, tc.want)
		}
		if got, want := fmt.Sprintf("%+v", e), e.Error()+"\n"+tc.want+"\n"+e.Hint; got != want {
			t.Errorf("%%+v = %q, want %q", got, want)
		}
	}
}

// Show escapes what a terminal would act on or hide, and keeps the rest,
// tabs included.
func TestShow(t *testing.T) {
	for in, want := range map[string]string{
		"INPUT":            "INPUT",
		"c; x\x1b[2J":      `c; x\x1b[2J`,
		"a\tb\nc":          `a\x09b\x0ac`,
		"\u202eevil\u0085": `\u202eevil\u0085`,
		"bad\xffutf8":      `bad\xffutf8`,
		"\u00e9t\u00e9":    "\u00e9t\u00e9",
	} {
		if got := Show(in); got != want {
			t.Errorf("Show(%q) = %s, want %s", in, got, want)
		}
	}
}

// A long line is shown around the word: 80 characters on each side, "…"
// where text is left out, and a long word by its first 120 characters; a
// line of up to 400 characters is shown whole.
func TestCaretLongLine(t *testing.T) {
	pad := strings.Repeat("-m comment --comment x ", 30) // 690 bytes
	for _, tc := range []struct {
		name, text, word string
		pos              int
		want             string
	}{
		{"short", "-A INPUT -m conntrack --ctstate BAD", "BAD", 32,
			"  -A INPUT -m conntrack --ctstate BAD\n  " + strings.Repeat(" ", 32) + "^^^"},
		{"word in the middle", pad + "--ctstate BAD " + pad, "BAD", len(pad) + 10,
			"  …" + pad[len(pad)-70:] + "--ctstate BAD " + pad[:79] + "…\n" +
				"  " + strings.Repeat(" ", 81) + "^^^"},
		{"word at the start", "BAD " + pad, "BAD", 0,
			"  BAD " + pad[:80-1] + "…\n  ^^^"},
		{"end of the text", pad + "--ctstate", "", len(pad) + 9,
			"  …" + pad[len(pad)-71:] + "--ctstate\n  " + strings.Repeat(" ", 81) + "^"},
		{"long word", "--comment " + strings.Repeat("w", 1000), strings.Repeat("w", 1000), 10,
			"  --comment " + strings.Repeat("w", 200) + "…\n  " + strings.Repeat(" ", 10) + strings.Repeat("^", 120)},
	} {
		e := &Error{Pos: Pos(tc.pos), Text: tc.text, Word: tc.word}
		if got := e.Caret(); got != tc.want {
			t.Errorf("%s: caret\n%s\nwant\n%s", tc.name, got, tc.want)
		}
	}
}
