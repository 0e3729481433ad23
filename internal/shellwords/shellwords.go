// Package shellwords splits the command lines of documentation examples into
// words, as a POSIX shell would, for the tests that run those examples.
package shellwords

import (
	"fmt"
	"strings"
)

// Split splits a command line into words as a POSIX shell does for
// blanks, quotes and backslashes. A final <<'EOF', <<"EOF" or <<EOF names the
// line that ends a here-document. Characters a shell would give another
// meaning to (variables, globs, pipes, redirections, comments) are errors
// unless quoted.
func Split(s string) (words []string, heredoc string, err error) {
	var (
		b      strings.Builder
		inWord bool
	)
	flush := func() {
		if inWord {
			words = append(words, b.String())
		}
		b.Reset()
		inWord = false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t':
			flush()
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, "", fmt.Errorf("unterminated ' in %q", s)
			}
			b.WriteString(s[i+1 : i+1+j])
			inWord = true
			i += j + 1
		case c == '"':
			inWord = true
			for i++; ; i++ {
				if i == len(s) {
					return nil, "", fmt.Errorf("unterminated \" in %q", s)
				}
				if s[i] == '"' {
					break
				}
				if s[i] == '\\' && i+1 < len(s) && strings.IndexByte("\"\\$`", s[i+1]) >= 0 {
					i++
				} else if s[i] == '$' || s[i] == '`' {
					return nil, "", fmt.Errorf("%q would be expanded by the shell in %q", s[i], s)
				}
				b.WriteByte(s[i])
			}
		case c == '\\':
			if i+1 == len(s) {
				return nil, "", fmt.Errorf("backslash at the end of %q", s)
			}
			i++
			b.WriteByte(s[i])
			inWord = true
		case c == '<' && !inWord && strings.HasPrefix(s[i:], "<<"):
			rest := strings.TrimSpace(s[i+2:])
			tag := strings.Trim(rest, `'"`)
			if tag == "" || strings.ContainsAny(tag, " \t'\"") {
				return nil, "", fmt.Errorf("bad here-document %q", s[i:])
			}
			return words, tag, nil
		case strings.IndexByte("|&;<>()$`*?[{~", c) >= 0, c == '#' && !inWord:
			return nil, "", fmt.Errorf("%q has a meaning to the shell in %q: quote it", c, s)
		default:
			b.WriteByte(c)
			inWord = true
		}
	}
	flush()
	return words, "", nil
}
