package main

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// Format says how a ruleset file holds its rules.
type Format string

const (
	// FormatSave is an iptables-save (iptables-restore) file: *table lines,
	// :CHAIN lines, rules, COMMIT.
	FormatSave Format = "iptables-save"
	// FormatLines holds one rule per line: the words of an iptables command
	// without the iptables word, the table among the words (-t nat).
	FormatLines Format = "rules"
)

// Ruleset is what a file holds.
type Ruleset struct {
	Name   string
	Family int // 4 or 6
	Format Format
	Rules  []Rule
}

// Rule is one -A or -I rule of a file.
type Rule struct {
	Line int `json:"line"` // 1-based line in the file
	// Table is the table the rule is in: the *table around it in an
	// iptables-save file, or its -t/--table word (filter when it has none).
	Table string `json:"table"`
	// Command is -A or -I (whatever its spelling in the file).
	Command string `json:"command"`
	// Text is the rule's words as the file has them, without a [p:b]
	// counter prefix and without the blanks around them.
	Text string `json:"text"`
	// Counters is the line's [packets:bytes] prefix, or "".
	Counters string `json:"counters,omitempty"`
	// Conntrack is whether the rule uses -m conntrack or -m state.
	Conntrack bool `json:"conntrack,omitempty"`
	// Save is whether the rule comes from an iptables-save file, whose
	// table is not among the rule's words.
	Save bool `json:"-"`
}

// Input returns the rule as one rule text for a tool that reads one rule: the
// file's words, after -t TABLE when the table comes from an iptables-save
// file's *table line (iptables-restore reads such a line as if it had it).
func (r Rule) Input() string {
	if r.Save {
		return "-t " + r.Table + " " + r.Text
	}
	return r.Text
}

// InputWithCounters is Input after the line's [packets:bytes] prefix, if it
// has one, for a tool that reads rule lines as iptables-restore does.
func (r Rule) InputWithCounters() string {
	if r.Counters == "" {
		return r.Input()
	}
	return r.Counters + " " + r.Input()
}

// familyOf returns the family a file's name says: names ending in 6.rules
// hold ip6tables rules.
func familyOf(name string) int {
	if strings.HasSuffix(name, "6.rules") {
		return 6
	}
	return 4
}

// isSaveFile reports whether lines are an iptables-save file: a line that
// starts with * or : (a table or a chain), as ctmatch detects it.
func isSaveFile(lines []string) bool {
	for _, l := range lines {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, "*") || strings.HasPrefix(l, ":") {
			return true
		}
	}
	return false
}

// Extract reads the rules of one ruleset file named name.
func Extract(name string, r io.Reader) (*Ruleset, error) {
	var lines []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	rs := &Ruleset{Name: name, Family: familyOf(name), Format: FormatLines}
	if isSaveFile(lines) {
		rs.Format = FormatSave
	}
	table := ""
	for i, l := range lines {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		if rs.Format == FormatSave {
			switch {
			case strings.HasPrefix(l, "*"):
				table = strings.TrimSpace(l[1:])
				continue
			case strings.HasPrefix(l, ":"), l == "COMMIT":
				continue
			}
		}
		rule, ok, err := ruleOf(l)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, i+1, err)
		}
		if !ok {
			continue
		}
		rule.Line = i + 1
		if rs.Format == FormatSave {
			if table == "" {
				return nil, fmt.Errorf("%s:%d: a rule before any *table line", name, i+1)
			}
			rule.Table, rule.Save = table, true
		}
		rs.Rules = append(rs.Rules, rule)
	}
	return rs, nil
}

// ruleOf reads one line: ok is false when it is not an -A or -I rule (-N,
// -P, -F and the like).
func ruleOf(line string) (r Rule, ok bool, err error) {
	text := line
	if strings.HasPrefix(text, "[") {
		end := strings.IndexByte(text, ']')
		if end < 0 || !isCounters(text[1:end]) {
			return Rule{}, false, fmt.Errorf("bad counter prefix in %q", line)
		}
		r.Counters = text[:end+1]
		text = strings.TrimSpace(text[end+1:])
	}
	words, err := Split(text)
	if err != nil {
		return Rule{}, false, err
	}
	r.Text, r.Table = text, "filter"
	for i, w := range words {
		switch canonicalOption(w.Text) {
		case "-A", "-I":
			if r.Command == "" {
				r.Command = canonicalOption(w.Text)
			}
		case "-t":
			if i+1 < len(words) {
				r.Table = words[i+1].Text
			}
		case "-m":
			if i+1 < len(words) && (words[i+1].Text == "conntrack" || words[i+1].Text == "state") {
				r.Conntrack = true
			}
		}
	}
	return r, r.Command != "", nil
}

// isCounters reports whether s is "packets:bytes".
func isCounters(s string) bool {
	p, b, ok := strings.Cut(s, ":")
	return ok && isDigits(p) && isDigits(b)
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// Word is one word of a rule and the bytes it spans in the rule text
// (quotes included).
type Word struct {
	Text       string
	Start, End int
}

// Split splits a rule text into words as iptables-restore does: blanks
// separate words, a double quote opens and closes a quoted part, and inside
// quotes a backslash takes the next character as it is.
func Split(s string) ([]Word, error) {
	var words []Word
	var cur strings.Builder
	in, quoted, escaped := false, false, false
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quoted && escaped:
			cur.WriteByte(c)
			escaped = false
		case quoted && c == '\\':
			escaped = true
		case quoted && c == '"':
			quoted = false
		case quoted:
			cur.WriteByte(c)
		case c == '"':
			if !in {
				in, start = true, i
			}
			quoted = true
		case c == ' ' || c == '\t':
			if in {
				words = append(words, Word{Text: cur.String(), Start: start, End: i})
				cur.Reset()
				in = false
			}
		default:
			if !in {
				in, start = true, i
			}
			cur.WriteByte(c)
		}
	}
	if quoted {
		return nil, fmt.Errorf("unterminated quote in %q", s)
	}
	if in {
		words = append(words, Word{Text: cur.String(), Start: start, End: len(s)})
	}
	return words, nil
}

// longOptions are iptables' long spellings of the options that have a short
// one (iptables' own options and those of the tcp, udp and multiport
// matches), so that a rule written with --protocol counts with -p.
var longOptions = map[string]string{
	"--append":            "-A",
	"--insert":            "-I",
	"--table":             "-t",
	"--protocol":          "-p",
	"--source":            "-s",
	"--src":               "-s",
	"--destination":       "-d",
	"--dst":               "-d",
	"--in-interface":      "-i",
	"--out-interface":     "-o",
	"--jump":              "-j",
	"--goto":              "-g",
	"--match":             "-m",
	"--fragment":          "-f",
	"--set-counters":      "-c",
	"--source-port":       "--sport",
	"--destination-port":  "--dport",
	"--source-ports":      "--sports",
	"--destination-ports": "--dports",
}

// canonicalOption returns the short spelling of an option word.
func canonicalOption(w string) string {
	if s, ok := longOptions[w]; ok {
		return s
	}
	return w
}
