package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ctmatch/ctmatch/parse"
)

// cliCase is one command line of the golden test. Its golden file,
// testdata/cli/NAME.txt, shows the command, its standard input, and what it
// printed on each stream and the exit code.
type cliCase struct {
	name  string
	about string // a line on what the case shows
	args  []string
	stdin string
	// skip returns a reason to skip the case on this machine, or "".
	skip func() string
	// normalize rewrites output that depends on the build (the version).
	normalize func(string) string
}

// stdinRules is a file on standard input: good rules, comments, blank lines,
// a line with CRLF, an invalid and an unsupported rule.
const stdinRules = `# a comment, then a blank line

-A INPUT -m conntrack --ctstate est,rel -j ACCEPT
  -m state --state bogus
-A INPUT -v -m conntrack --ctstate NEW -j ACCEPT
	# a comment after a tab
-m conntrack --ctproto tcp --ctorigdstport ssh:http` + "\r" + `
-m conntrack --ctstate NEW,BOGUS --ctdir R
-m	conntrack	--ctexpire	5:x
-m conntrack ! --ctstate INVALID
`

var cliCases = []cliCase{
	// How the words are given.
	{name: "argv", about: "argv after --, as a shell passes the words",
		args: []string{"fmt", "--", "-m", "conntrack", "--ctstate", "est,n", "--ctexpire", "3:3", "--ctorigsrcport", ":4"}},
	{name: "argv-frame", about: "argv with the rule frame: -t, -I with a number, two matches, -g",
		args: []string{"fmt", "--", "-t", "filter", "-I", "INPUT", "3", "-m", "conntrack", "!", "--ctstate", "NEW,DNAT",
			"--ctproto", "tcp", "--ctorigdstport", "ssh", "-m", "state", "--state", "e,r", "-g", "mychain"}},
	{name: "argv-long-options", about: "long forms, --opt=value and unambiguous prefixes of long options",
		args: []string{"fmt", "--", "--table", "mangle", "--app", "OUTPUT", "--match", "conntrack", "--ctstate=NEW",
			"--ctstatu", "SEEN_REPLY", "--ctdir=original", "--jump", "ACCEPT"}},
	{name: "quoted", about: "one quoted argument holding the rule text",
		args: []string{"fmt", "--", "-A INPUT -m state --state new -j ACCEPT"}},
	{name: "quoted-save-quoting", about: "rule text with iptables-save quoting",
		args: []string{"fmt", "--", `-A "INPUT" -m conntrack --ctstate "NEW,ESTABLISHED" -j "my-chain"`}},
	{name: "stdin", about: "-f - with good, bad and unsupported lines, comments and blank lines: errors as FILE:LINE:COL",
		args: []string{"fmt", "-f", "-"}, stdin: stdinRules},
	{name: "file", about: "-f FILE",
		args: []string{"fmt", "-f", "testdata/rules.txt"}},
	{name: "file-missing", about: "a file that cannot be read is a failure of the system: exit 1",
		args: []string{"fmt", "-f", "testdata/no-such-file.txt"}},
	{name: "file-unsupported", about: "a file with only unsupported lines: exit 1",
		args: []string{"fmt", "-f", "testdata/unsupported.txt"}},
	{name: "file-mixed", about: "a file with an unsupported and an invalid line: exit 2",
		args: []string{"fmt", "-f", "testdata/mixed.txt"}},
	{name: "stdin-empty", about: "no rules at all is no error",
		args: []string{"fmt", "-f", "-"}},

	// Families.
	{name: "ipv6", about: "-6: ip6tables words",
		args: []string{"fmt", "-6", "--", "-m", "conntrack", "--ctorigsrc", "2001:DB8::1/64", "--ctrepldst", "::1/ffff:0:ffff::"}},
	{name: "ipv6-with-ipv4-address", about: "-6 with an IPv4 address",
		args: []string{"fmt", "-6", "--", "-m", "conntrack", "--ctorigsrc", "10.0.0.1"}},
	{name: "ipv4-with-ipv6-address", about: "an IPv6 address without -6",
		args: []string{"fmt", "-4", "--", "-m", "conntrack", "--ctorigsrc", "2001:db8::1"}},

	// The syntax tree.
	{name: "ast", about: "-o ast: the JSON syntax tree",
		args: []string{"fmt", "-o", "ast", "--", "-t", "nat", "-I", "PREROUTING", "2", "-m", "conntrack", "!", "--ctstate", "NEW,DNAT",
			"--ctorigsrc", "10.1.2.3/255.0.255.0", "--ctorigdstport", "http:", "--ctstatus", "NONE", "--ctproto", "udp",
			"--ctexpire", "30", "--ctdir", "REPLY", "-j", "ACCEPT"}},
	{name: "ast-stdin", about: "-o ast from a file: each rule carries its line; errors still go to stderr",
		args:  []string{"fmt", "-o", "ast", "-f", "-"},
		stdin: "# comment\n-m state --state NEW\n-m conntrack --ctstate BOGUS\n-6 -m conntrack --ctstate NEW\n-m conntrack --ctorigsrc 10.0.0.0/8 -g \"x<y>&z\"\n"},
	{name: "ast-error", about: "-o ast with a rule in error prints an empty tree and exits 2",
		args: []string{"fmt", "-o", "ast", "--", "-m", "conntrack", "--ctstate", "BOGUS"}},

	// Errors.
	{name: "error-caret", about: "an invalid word: the caret points at it, exit 2",
		args: []string{"fmt", "--", "-m", "conntrack", "--ctstate", "NEW,BOGUS"}},
	{name: "error-caret-quoted-arg", about: "positions in a quoted argument count its bytes as written",
		args: []string{"fmt", "--", "  -m conntrack   --ctstate NEW,BOGUS  "}},
	{name: "error-caret-argv-quoting", about: "argv words that need quoting are shown quoted, and positions count the quotes",
		args: []string{"fmt", "--", "-A", "my chain", "-m", "conntrack", "--ctstate", "NEW"}},
	{name: "error-end-of-rule", about: "a missing value: the caret stands after the last word",
		args: []string{"fmt", "--", "-m", "conntrack", "--ctstate"}},
	{name: "unsupported-verbose", about: "-v is valid iptables that ctmatch does not support: exit 1",
		args: []string{"fmt", "--", "-A", "INPUT", "-v", "-m", "conntrack", "--ctstate", "NEW", "-j", "ACCEPT"}},
	{name: "unsupported-target", about: "-j NFQUEUE: exit 1",
		args: []string{"fmt", "--", "-A", "INPUT", "-m", "conntrack", "--ctstate", "NEW", "-j", "NFQUEUE"}},
	{name: "unsupported-host-name", about: "a host name without --resolve: exit 1",
		args: []string{"fmt", "--", "-m", "conntrack", "--ctorigsrc", "localhost"}},
	{name: "error-json", about: "--error-format json: one object per line",
		args: []string{"fmt", "--error-format", "json", "-f", "-"}, stdin: stdinRules},
	{name: "error-json-argv", about: "--error-format json for words from the command line: no file or line",
		args: []string{"fmt", "--error-format=json", "--", "-m", "conntrack", "--ctstate", "NEW,BOGUS"}},
	{name: "error-json-usage", about: "--error-format json for bad usage too: one object, kind invalid, exit 2",
		args: []string{"translate", "--error-format", "json", "--family", "bogus", "--", "-A", "INPUT", "-j", "ACCEPT"}},
	{name: "error-json-unknown-flag", about: "--error-format json for a flag cobra does not know: one object, exit 2",
		args: []string{"translate", "--error-format", "json", "--bogus", "--", "-A", "INPUT", "-j", "ACCEPT"}},
	{name: "error-json-no-file", about: "--error-format json for a file that cannot be read: one object, kind error, exit 1",
		args: []string{"translate", "--error-format", "json", "-f", "/nonexistent/rules.v4"}},

	// Bad usage: exit 2.
	{name: "usage-no-dashdash", about: "iptables words without -- look like ctmatch's flags",
		args: []string{"fmt", "-m", "conntrack", "--ctstate", "NEW"}},
	{name: "usage-words-without-dashdash", about: "words that are not flags, without --",
		args: []string{"fmt", "conntrack", "NEW"}},
	{name: "usage-words-before-dashdash", about: "words before --",
		args: []string{"fmt", "conntrack", "--", "-m", "conntrack", "--ctstate", "NEW"}},
	{name: "usage-no-rule", about: "nothing to read",
		args: []string{"fmt"}},
	{name: "usage-nothing-after-dashdash", about: "-- and nothing after it",
		args: []string{"fmt", "--"}},
	{name: "usage-4-and-6", about: "-4 -6",
		args: []string{"fmt", "-4", "-6", "--", "-m", "conntrack", "--ctstate", "NEW"}},
	{name: "usage-output", about: "-o bogus",
		args: []string{"fmt", "-o", "bogus", "--", "-m", "conntrack", "--ctstate", "NEW"}},
	{name: "usage-output-before-input", about: "bad usage is reported before any input is read",
		args: []string{"fmt", "-o", "nft", "-f", "testdata/no-such-file.txt"}},
	{name: "usage-error-format", about: "--error-format xml",
		args: []string{"fmt", "--error-format", "xml", "--", "-m", "conntrack", "--ctstate", "NEW"}},
	{name: "usage-file-and-words", about: "-f and words after -- together",
		args: []string{"fmt", "-f", "testdata/rules.txt", "--", "-m", "conntrack", "--ctstate", "NEW"}},
	{name: "usage-unknown-command", about: "a command ctmatch does not have",
		args: []string{"frobnicate"}},
	{name: "usage-root-unknown-flag", about: "an unknown flag of ctmatch itself: no hint about --",
		args: []string{"--version"}},

	// Names.
	{name: "resolve", about: "--resolve looks host names up (localhost is 127.0.0.1 through /etc/hosts)",
		args: []string{"fmt", "--resolve", "--", "-m", "conntrack", "--ctorigsrc", "localhost/8", "--ctrepldst", "localhost"},
		skip: localhostSkip},
	{name: "resolve-no-ipv6", about: "--resolve -6 with a name that has no IPv6 address",
		args: []string{"fmt", "--resolve", "-6", "--", "-m", "conntrack", "--ctorigsrc", "localhost"},
		skip: localhostSkip},
	{name: "services", about: "service names for ports",
		args: []string{"fmt", "--", "-m", "conntrack", "--ctorigdstport", "ssh", "--ctreplsrcport", "domain:https"}},

	// Other commands, and help (golden, so that changes to it are reviewed).
	{name: "version", about: "version (the version string depends on the build)",
		args:      []string{"version"},
		normalize: func(s string) string { return versionRE.ReplaceAllString(s, "ctmatch VERSION") }},
	{name: "help-root", about: "ctmatch --help", args: []string{"--help"}},
	{name: "help-root-no-args", about: "ctmatch with no arguments prints the help", args: []string{}},
	{name: "help-fmt", about: "ctmatch fmt --help", args: []string{"fmt", "--help"}},
	{name: "help-fmt-h", about: "ctmatch help fmt is fmt --help", args: []string{"help", "fmt"}},
}

var versionRE = regexp.MustCompile(`(?m)^ctmatch \S.*$`)

// localhostSkip skips a case when the system resolver does not give exactly
// 127.0.0.1 for localhost (and nothing for IPv6), which the goldens assume.
func localhostSkip() string {
	r := newSystemResolver(context.Background(), true)
	a4, err := r.Host("localhost", parse.IPv4)
	if err != nil || len(a4) != 1 || a4[0] != netip.MustParseAddr("127.0.0.1") {
		return fmt.Sprintf("localhost resolves to %v (%v) here, not to 127.0.0.1 only", a4, err)
	}
	if a6, err := r.Host("localhost", parse.IPv6); err == nil {
		return fmt.Sprintf("localhost has the IPv6 addresses %v here", a6)
	}
	return ""
}

// render shows a case and its result as the text of its golden file.
func (c cliCase) render(r result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n", c.about)
	cmdline := strings.TrimSpace("ctmatch " + shellQuoteArgs(c.args))
	if c.stdin != "" {
		fmt.Fprintf(&b, "$ %s <<'EOF'\n%sEOF\n", cmdline, block(strings.ReplaceAll(c.stdin, "\r", `\r`)))
	} else {
		fmt.Fprintf(&b, "$ %s\n", cmdline)
	}
	fmt.Fprintf(&b, "-- stdout --\n%s", block(r.stdout))
	fmt.Fprintf(&b, "-- stderr --\n%s", block(r.stderr))
	fmt.Fprintf(&b, "-- exit %d --\n", r.code)
	return b.String()
}

// block returns s with a final newline, marking output that had none.
func block(s string) string {
	if s == "" || strings.HasSuffix(s, "\n") {
		return s
	}
	return s + "\n\\ no newline at end\n"
}

func TestCLIGolden(t *testing.T) {
	names := map[string]bool{}
	for _, c := range cliCases {
		if names[c.name] {
			t.Fatalf("two cases named %q", c.name)
		}
		names[c.name] = true
		t.Run(c.name, func(t *testing.T) {
			if c.skip != nil {
				if reason := c.skip(); reason != "" {
					t.Skip(reason)
				}
			}
			r := runCLI(t, c.args, c.stdin)
			if c.normalize != nil {
				r.stdout, r.stderr = c.normalize(r.stdout), c.normalize(r.stderr)
			}
			checkGolden(t, filepath.Join("testdata", "cli", c.name+".txt"), c.render(r))
		})
	}
	// Every golden file belongs to a case: a renamed or removed case must not
	// leave a file behind that nothing checks.
	files, err := filepath.Glob(filepath.Join("testdata", "cli", "*.txt"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".txt")
		if names[name] {
			continue
		}
		if *update {
			os.Remove(f)
			continue
		}
		t.Errorf("%s belongs to no case (run with -update to remove it)", f)
	}
}

// The exit code says what kind of error a run met: the worst of its rules.
func TestExitCodes(t *testing.T) {
	const (
		good         = "-A INPUT -m conntrack --ctstate ESTABLISHED -j ACCEPT\n"
		unsupported  = "-A INPUT -v -m conntrack --ctstate NEW -j ACCEPT\n"
		unsupported2 = "-A INPUT -m conntrack --ctstate NEW -j NFQUEUE\n"
		invalid      = "-A INPUT -m conntrack --ctstate NEW,BOGUS -j ACCEPT\n"
	)
	for _, c := range []struct {
		name  string
		lines []string
		want  int
	}{
		{"good", []string{good, "# comment\n", "\n", good}, exitOK},
		{"only unsupported", []string{unsupported, unsupported2}, exitUnsupported},
		{"unsupported and good", []string{good, unsupported, good}, exitUnsupported},
		{"unsupported then invalid", []string{unsupported, invalid, good}, exitInvalid},
		{"invalid then unsupported", []string{invalid, unsupported, good}, exitInvalid},
		{"only invalid", []string{invalid}, exitInvalid},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := strings.Join(c.lines, "")
			for _, format := range []string{"text", "json"} {
				for _, output := range []string{"iptables", "ast"} {
					args := []string{"fmt", "--error-format", format, "-o", output, "-f", "-"}
					r := runCLI(t, args, in)
					if r.code != c.want {
						t.Errorf("%s: exit %d, want %d\nstderr:\n%s", shellQuoteArgs(args), r.code, c.want, r.stderr)
					}
					// Every good line is still printed, whatever else failed.
					nGood := strings.Count(in, good)
					got := strings.Count(r.stdout, "--ctstate ESTABLISHED")
					if output == "ast" {
						got = strings.Count(r.stdout, `"text": "ESTABLISHED"`)
					}
					if got != nGood {
						t.Errorf("%s: %d good rules printed, want %d\nstdout:\n%s", shellQuoteArgs(args), got, nGood, r.stdout)
					}
				}
			}
		})
	}
	// The same holds for the files under testdata that the goldens show.
	for file, want := range map[string]int{"testdata/rules.txt": 0, "testdata/unsupported.txt": 1, "testdata/mixed.txt": 2} {
		if r := runCLI(t, []string{"fmt", "-f", file}, ""); r.code != want {
			t.Errorf("fmt -f %s: exit %d, want %d", file, r.code, want)
		}
	}
}

// astDoc is the JSON of fmt -o ast, read back with no help from parse/.
type astDoc struct {
	Version *int `json:"version"`
	Rules   []struct {
		Line  int    `json:"line"`
		Text  string `json:"text"`
		Table *struct {
			Pos     int    `json:"pos"`
			Name    string `json:"name"`
			NamePos int    `json:"name_pos"`
		} `json:"table"`
		Command *struct {
			Op       string `json:"op"`
			Pos      int    `json:"pos"`
			Chain    string `json:"chain"`
			ChainPos int    `json:"chain_pos"`
			Index    int    `json:"index"`
			IndexPos int    `json:"index_pos"`
		} `json:"command"`
		Matches []struct {
			Module  string           `json:"module"`
			Pos     int              `json:"pos"`
			NamePos int              `json:"name_pos"`
			Options []map[string]any `json:"options"`
		} `json:"matches"`
		Target *struct {
			Kind    string `json:"kind"`
			Goto    bool   `json:"goto"`
			Pos     int    `json:"pos"`
			Name    string `json:"name"`
			NamePos int    `json:"name_pos"`
		} `json:"target"`
	} `json:"rules"`
}

// fmt -o ast prints one JSON document, version 1, whose positions point at
// the words of the rule text it carries.
func TestFmtASTJSON(t *testing.T) {
	in := strings.Join([]string{
		"# comment",
		"-t nat -I PREROUTING 2 -m conntrack ! --ctstate NEW,DNAT --ctorigsrc 10.1.2.3/255.0.255.0 -j ACCEPT",
		"",
		`-A "INPUT" -m state --sta=est,rel -g "x<y>"`,
		"-m conntrack --ctstate BOGUS",
		"  -m conntrack --ctproto=udp --ctorigdstport :80 --ctstatus n --ctexpire 5: --ctdir reply --ctreplsrc 10.0.0.0/8",
		"-m conntrack --ctstatu assured --ctorigsrc 10.0.0.1/8",
	}, "\n") + "\n"
	r := runCLI(t, []string{"fmt", "-o", "ast", "-f", "-"}, in)
	if r.code != exitInvalid || !strings.Contains(r.stderr, "<stdin>:5:") {
		t.Errorf("exit %d, stderr %q; want 2 and the error of line 5", r.code, r.stderr)
	}
	var doc astDoc
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("stdout is not the JSON syntax tree: %v\n%s", err, r.stdout)
	}
	if dec.More() {
		t.Errorf("more than one JSON value on stdout:\n%s", r.stdout)
	}
	if doc.Version == nil || *doc.Version != 1 {
		t.Fatalf("version = %v, want 1", doc.Version)
	}
	if n := len(doc.Rules); n != 4 {
		t.Fatalf("%d rules, want 4 (the good lines)", n)
	}
	lines := strings.Split(in, "\n")
	wantLines := []int{2, 4, 6, 7}
	// at checks that the word want (or want in double quotes) starts at pos.
	at := func(text string, pos int, want string) {
		t.Helper()
		if pos < 0 || pos > len(text) || !strings.HasPrefix(text[pos:], want) && !strings.HasPrefix(text[pos:], `"`+want+`"`) {
			t.Errorf("in %q, pos %d does not start %q", text, pos, want)
		}
	}
	for i, rule := range doc.Rules {
		if rule.Line != wantLines[i] {
			t.Errorf("rule %d: line %d, want %d", i, rule.Line, wantLines[i])
		}
		if rule.Text != lines[rule.Line-1] {
			t.Errorf("rule %d: text %q, want the line as written %q", i, rule.Text, lines[rule.Line-1])
		}
		if tb := rule.Table; tb != nil {
			at(rule.Text, tb.Pos, "-t")
			at(rule.Text, tb.NamePos, tb.Name)
		}
		if c := rule.Command; c != nil {
			at(rule.Text, c.Pos, map[string]string{"append": "-A", "insert": "-I"}[c.Op])
			at(rule.Text, c.ChainPos, c.Chain)
			if c.Index > 0 {
				at(rule.Text, c.IndexPos, fmt.Sprint(c.Index))
			} else if c.IndexPos != -1 {
				t.Errorf("rule %d: index_pos %d without an index, want -1", i, c.IndexPos)
			}
		}
		for _, m := range rule.Matches {
			at(rule.Text, m.Pos, "-m")
			at(rule.Text, m.NamePos, m.Module)
			for _, o := range m.Options {
				name := o["option"].(string)
				pos := int(o["pos"].(float64))
				// The option word may be a prefix (--sta) of its name.
				word := rule.Text[pos:]
				if j := strings.IndexAny(word, " ="); j >= 0 {
					word = word[:j]
				}
				if !strings.HasPrefix(name, word) && !(m.Module == "state" && strings.HasPrefix("--state", word)) {
					t.Errorf("rule %d: option %s at %d, where the text has %q", i, name, pos, word)
				}
				if neg := o["negated"].(bool); neg {
					at(rule.Text, int(o["neg_pos"].(float64)), "!")
				} else if o["neg_pos"].(float64) != -1 {
					t.Errorf("rule %d: %s: neg_pos %v without !, want -1", i, name, o["neg_pos"])
				}
				v := o["value"].(map[string]any)
				at(rule.Text, int(v["pos"].(float64)), v["text"].(string))
				if items, ok := o["items"].([]any); ok {
					for _, it := range items {
						p := int(it.(float64))
						if p < int(v["pos"].(float64)) || p >= int(v["pos"].(float64))+len(v["text"].(string)) {
							t.Errorf("rule %d: %s: item at %d is outside the value %v", i, name, p, v)
						}
					}
				}
			}
		}
		if tg := rule.Target; tg != nil {
			at(rule.Text, tg.Pos, map[bool]string{false: "-j", true: "-g"}[tg.Goto])
			at(rule.Text, tg.NamePos, tg.Name)
		}
	}
	// Only the value field of the option's kind is present.
	valueFields := []string{"states", "statuses", "proto", "addr", "lo", "hi", "dir"}
	want := map[string][]string{
		"--ctstate": {"states"}, "--ctproto": {"proto"}, "--ctorigsrc": {"addr"}, "--ctreplsrc": {"addr"},
		"--ctorigdstport": {"lo", "hi"}, "--ctstatus": {"statuses"}, "--ctexpire": {"lo", "hi"}, "--ctdir": {"dir"},
	}
	seen := map[string]bool{}
	for _, rule := range doc.Rules {
		for _, m := range rule.Matches {
			for _, o := range m.Options {
				name := o["option"].(string)
				seen[name] = true
				var got []string
				for _, f := range valueFields {
					if _, ok := o[f]; ok {
						got = append(got, f)
					}
				}
				if diff := cmp.Diff(want[name], got); diff != "" {
					t.Errorf("%s: value fields (-want +got):\n%s", name, diff)
				}
			}
		}
	}
	for name := range want {
		if !seen[name] {
			t.Errorf("the input has no %s: the test lost coverage", name)
		}
	}
	// A few values, as docs/syntax.md describes them.
	o := doc.Rules[0].Matches[0].Options
	if diff := cmp.Diff([]any{"NEW", "DNAT"}, o[0]["states"]); diff != "" {
		t.Errorf("states (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]any{"addr": "10.1.2.3", "mask": "255.0.255.0", "bits": nil}, o[1]["addr"]); diff != "" {
		t.Errorf("non-contiguous addr (-want +got):\n%s", diff)
	}
	o = doc.Rules[2].Matches[0].Options
	if diff := cmp.Diff([]any{"NONE"}, o[2]["statuses"]); diff != "" {
		t.Errorf("statuses NONE (-want +got):\n%s", diff)
	}
	if lo, hi := o[3]["lo"], o[3]["hi"]; lo != 5.0 || hi != 4294967295.0 {
		t.Errorf("--ctexpire 5: = %v:%v, want 5:4294967295", lo, hi)
	}
	if diff := cmp.Diff(map[string]any{"addr": "10.0.0.0", "mask": "255.0.0.0", "bits": 8.0}, o[5]["addr"]); diff != "" {
		t.Errorf("prefix addr (-want +got):\n%s", diff)
	}
	if tg := doc.Rules[1].Target; tg == nil || tg.Name != "x<y>" || tg.Kind != "chain" || !tg.Goto {
		t.Errorf("target = %+v, want goto chain x<y>", tg)
	}
	if strings.Contains(r.stdout, `\u003c`) {
		t.Errorf("the JSON escapes < and > for HTML:\n%s", r.stdout)
	}

	// Words from the command line: no line.
	r = runCLI(t, []string{"fmt", "-o", "ast", "--", "-m", "conntrack", "--ctstate", "NEW"}, "")
	var raw map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &raw); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	if rule := raw["rules"].([]any)[0].(map[string]any); rule["line"] != nil {
		t.Errorf("a rule from the command line has line %v", rule["line"])
	}
}

// --error-format json prints one JSON object per line, with exactly the
// fields file, line, column, word and message, and the column points at the
// word in the line.
func TestErrorFormatJSON(t *testing.T) {
	r := runCLI(t, []string{"fmt", "--error-format", "json", "-f", "-"}, stdinRules)
	if r.code != exitInvalid {
		t.Errorf("exit %d, want 2", r.code)
	}
	inLines := strings.Split(stdinRules, "\n")
	outLines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
	if len(outLines) != 4 {
		t.Fatalf("%d lines on stderr, want one per error (4):\n%s", len(outLines), r.stderr)
	}
	type jsonError struct {
		File    string `json:"file"`
		Line    int    `json:"line"`
		Column  int    `json:"column"`
		Word    string `json:"word"`
		Message string `json:"message"`
		Kind    string `json:"kind"`
	}
	var got []jsonError
	for _, l := range outLines {
		var keys map[string]any
		if err := json.Unmarshal([]byte(l), &keys); err != nil {
			t.Fatalf("not a JSON object: %q: %v", l, err)
		}
		k := slices.Sorted(func(yield func(string) bool) {
			for key := range keys {
				if !yield(key) {
					return
				}
			}
		})
		// hint is there only when the message does not say what is expected.
		k = slices.DeleteFunc(k, func(s string) bool { return s == "hint" })
		if diff := cmp.Diff([]string{"column", "file", "kind", "line", "message", "word"}, k); diff != "" {
			t.Errorf("fields of %s (-want +got):\n%s", l, diff)
		}
		var e jsonError
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatal(err)
		}
		text := strings.TrimRight(inLines[e.Line-1], "\r")
		if e.Column < 1 || !strings.HasPrefix(text[e.Column-1:], e.Word) || e.Word == "" {
			t.Errorf("%s: column %d of line %d (%q) does not start the word %q", l, e.Column, e.Line, text, e.Word)
		}
		got = append(got, e)
	}
	want := []jsonError{
		{"<stdin>", 4, 20, "bogus", `unknown state "bogus"`, "invalid"},
		{"<stdin>", 5, 10, "-v", "-v is valid iptables, but ctmatch does not support verbose output yet", "unsupported"},
		{"<stdin>", 8, 28, "BOGUS", `unknown conntrack state "BOGUS"`, "invalid"},
		{"<stdin>", 9, 27, "x", `bad time "x": expected whole seconds 0-4294967295`, "invalid"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
}

// The resolver the CLI gives parse/: host names only with --resolve, the
// built-in service names first, then /etc/services.
func TestSystemResolver(t *testing.T) {
	ctx := context.Background()
	off := newSystemResolver(ctx, false)
	if _, err := off.Host("localhost", parse.IPv4); err != parse.ErrNoHostLookup {
		t.Errorf("without --resolve: Host = %v, want ErrNoHostLookup", err)
	}
	if reason := localhostSkip(); reason != "" {
		t.Logf("skipping the lookups: %s", reason)
	} else {
		on := newSystemResolver(ctx, true)
		got, err := on.Host("localhost", parse.IPv4)
		if err != nil || len(got) != 1 || got[0] != netip.MustParseAddr("127.0.0.1") || !got[0].Is4() {
			t.Errorf("Host(localhost, IPv4) = %v, %v; want [127.0.0.1] (plain IPv4, not mapped)", got, err)
		}
		if _, err := on.Host("localhost", parse.IPv6); err == nil || err.Error() != "no IPv6 address found" {
			t.Errorf("Host(localhost, IPv6) error = %v, want no IPv6 address found", err)
		}
	}

	svc := filepath.Join(t.TempDir(), "services")
	os.WriteFile(svc, []byte(strings.Join([]string{
		"# comment",
		"ssh\t\t2222/tcp\t\t\t# a built-in name: the built-in port wins",
		"myapp\t\t7000/tcp\tmyapp-alias other # trailing comment",
		"myapp\t\t7001/udp",
		"broken\t\tnot-a-port/tcp",
		"toolarge\t70000/tcp",
		"lonely",
		"",
	}, "\n")), 0o644)
	m := readServices(svc)
	want := map[string]uint16{"ssh": 2222, "myapp": 7000, "myapp-alias": 7000, "other": 7000}
	if diff := cmp.Diff(want, m); diff != "" {
		t.Errorf("readServices (-want +got):\n%s", diff)
	}
	if m := readServices(filepath.Join(t.TempDir(), "none")); len(m) != 0 {
		t.Errorf("readServices of a missing file = %v, want empty", m)
	}
	r := &systemResolver{ctx: ctx, services: func() map[string]uint16 { return m }}
	for name, port := range map[string]uint16{"ssh": 22, "http": 80, "myapp": 7000, "other": 7000} {
		if p, ok := r.Service(name); !ok || p != port {
			t.Errorf("Service(%q) = %d, %v; want %d", name, p, ok, port)
		}
	}
	if p, ok := r.Service("no-such-service"); ok {
		t.Errorf("Service(no-such-service) = %d, want not found", p)
	}
}

// fmt -o ast streams: each rule's tree is written as soon as its line is
// read, and nothing of it is kept (a million rules would not fit in
// memory). The test reads the first rule's tree from the output while the
// input is still open.
func TestFmtASTStreams(t *testing.T) {
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	code := make(chan int, 1)
	go func() {
		c := run(t.Context(), []string{"fmt", "-o", "ast", "-f", "-"}, inR, outW, io.Discard)
		outW.Close()
		code <- c
	}()
	go func() { _, _ = io.WriteString(inW, "-m state --state NEW\n") }()
	br := bufio.NewReader(outR)
	var got strings.Builder
	first := make(chan error, 1)
	go func() {
		for !strings.Contains(got.String(), `"line": 1,`) {
			s, err := br.ReadString('\n')
			got.WriteString(s)
			if err != nil {
				first <- err
				return
			}
		}
		first <- nil
	}()
	select {
	case err := <-first:
		if err != nil {
			t.Fatalf("the output ended before the first rule's tree (%v)", err)
		}
	case <-time.After(30 * time.Second):
		// (Ending the input lets a fmt that waits for it end too.)
		t.Error("no tree written 30 s after the first line was read, while the input is still open")
		inW.Close()
		<-first
	}
	// Only now does the input end.
	_, _ = io.WriteString(inW, "-m state --state INVALID\n")
	inW.Close()
	rest, _ := io.ReadAll(br)
	if c := <-code; c != exitOK {
		t.Fatalf("exit %d", c)
	}
	var doc astDoc
	if err := json.Unmarshal([]byte(got.String()+string(rest)), &doc); err != nil || len(doc.Rules) != 2 {
		t.Fatalf("the document does not read back with 2 rules (%v):\n%s%s", err, got.String(), rest)
	}
}
