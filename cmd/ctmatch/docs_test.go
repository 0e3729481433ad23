package main

import (
	"bufio"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ctmatch/ctmatch/internal/shellwords"
)

// The documentation's examples are run, so that they cannot drift from what
// ctmatch prints.
//
// An example is a fenced code block whose first line is "$ ctmatch …". In it,
// each line starting with "$ " is a command, and the lines after it, up to the
// next command or the end of the block, are what the command prints on a
// terminal (standard output and standard error, in the order printed). The
// exit status is 0 unless the output ends with a line "# exit N", or the
// command is followed by "$ echo $?" and a line holding N. A command may end
// with a here-document (<<'EOF' … EOF) that becomes its standard input.
// Commands are split into words as a POSIX shell does for quotes and
// backslashes; anything else a shell would expand (variables, globs, pipes,
// redirections) is refused, so that an example always means what it shows.

// docFiles are the documents whose examples run, and the least number of
// examples each must have (so that a broken extractor cannot pass by finding
// none).
var docFiles = map[string]int{
	"../../docs/syntax.md": 40,
	"../../README.md":      2,
	"../../docs/cli.md":    5,
}

// docExample is one command of a documentation example.
type docExample struct {
	where string // FILE:LINE of the command
	cmd   string // the command line as written
	args  []string
	stdin string
	want  string
	code  int

	// For -update: the block's first and closing-fence lines (1-based), the
	// here-document as written (body and terminator), and whether the
	// status is shown with "$ echo $?".
	blockStart, blockEnd int
	heredoc              []string
	echo                 bool
}

var (
	exitLine = regexp.MustCompile(`^# exit (\d+)$`)
	fenceRE  = regexp.MustCompile("^(```+|~~~+)")
)

// docExamples reads the examples of a Markdown file.
func docExamples(path string) ([]docExample, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var (
		out   []docExample
		fence string   // the open fence, or ""
		block []string // the lines of the open block
		start int      // the line of the block's first line
	)
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if fence == "" {
			if m := fenceRE.FindString(line); m != "" {
				fence, block, start = m, nil, n+1
			}
			continue
		}
		if strings.HasPrefix(line, fence) && strings.TrimSpace(strings.TrimLeft(line, fence[:1])) == "" {
			fence = ""
			if len(block) > 0 && strings.HasPrefix(block[0], "$ ctmatch") {
				exs, err := parseExampleBlock(path, start, block)
				if err != nil {
					return nil, err
				}
				for i := range exs {
					exs[i].blockStart, exs[i].blockEnd = start, n
				}
				out = append(out, exs...)
			}
			continue
		}
		block = append(block, line)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if fence != "" {
		return nil, fmt.Errorf("%s:%d: code block not closed", path, start-1)
	}
	return out, nil
}

// parseExampleBlock reads the commands of one example block; its first line
// is line start of path.
func parseExampleBlock(path string, start int, lines []string) ([]docExample, error) {
	var out []docExample
	for i := 0; i < len(lines); {
		where := fmt.Sprintf("%s:%d", path, start+i)
		line := lines[i]
		if !strings.HasPrefix(line, "$ ") {
			return nil, fmt.Errorf("%s: expected a command line starting with \"$ \", found %q", where, line)
		}
		cmd := line[2:]
		if cmd == "echo $?" {
			return nil, fmt.Errorf("%s: echo $? with no ctmatch command before it", where)
		}
		words, heredoc, err := shellSplit(cmd)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", where, err)
		}
		if len(words) == 0 || words[0] != "ctmatch" {
			return nil, fmt.Errorf("%s: an example runs ctmatch, not %q", where, cmd)
		}
		ex := docExample{where: where, cmd: cmd, args: words[1:]}
		i++
		if heredoc != "" {
			var in strings.Builder
			for ; i < len(lines) && lines[i] != heredoc; i++ {
				in.WriteString(lines[i] + "\n")
			}
			if i == len(lines) {
				return nil, fmt.Errorf("%s: here-document not ended by %q", where, heredoc)
			}
			i++
			ex.stdin = in.String()
			ex.heredoc = strings.Split(in.String()+heredoc, "\n")
		}
		var output []string
		for ; i < len(lines) && !strings.HasPrefix(lines[i], "$ "); i++ {
			output = append(output, lines[i])
		}
		if k := len(output) - 1; k >= 0 {
			if m := exitLine.FindStringSubmatch(output[k]); m != nil {
				ex.code, _ = strconv.Atoi(m[1])
				output = output[:k]
				if ex.code == 0 {
					return nil, fmt.Errorf("%s: \"# exit 0\" is the default: leave it out", where)
				}
			}
		}
		if i < len(lines) && lines[i] == "$ echo $?" {
			if i+1 == len(lines) {
				return nil, fmt.Errorf("%s:%d: echo $? without the status after it", path, start+i)
			}
			code, err := strconv.Atoi(lines[i+1])
			if err != nil {
				return nil, fmt.Errorf("%s:%d: echo $? prints %q, not a number", path, start+i+1, lines[i+1])
			}
			ex.code, ex.echo = code, true
			i += 2
		}
		if len(output) > 0 {
			ex.want = strings.Join(output, "\n") + "\n"
		}
		out = append(out, ex)
	}
	return out, nil
}

// shellSplit splits a command line as a POSIX shell does (shellwords.Split).
func shellSplit(s string) (words []string, heredoc string, err error) { return shellwords.Split(s) }

// check runs the example and returns how its output differs, or "".
func (ex docExample) check() string {
	got, code := runCombined(ex.args, ex.stdin)
	var msg strings.Builder
	if diff := cmp.Diff(strings.SplitAfter(ex.want, "\n"), strings.SplitAfter(got, "\n")); diff != "" {
		fmt.Fprintf(&msg, "output differs (-documented +actual):\n%s", diff)
	}
	if code != ex.code {
		fmt.Fprintf(&msg, "exit status %d, documented %d\n", code, ex.code)
	}
	if msg.Len() == 0 {
		return ""
	}
	return fmt.Sprintf("%s: $ %s\n%s\nactual output, to paste:\n%s", ex.where, ex.cmd, msg.String(), got)
}

func TestDocExamples(t *testing.T) {
	for path, least := range docFiles {
		exs, err := docExamples(path)
		if err != nil {
			t.Fatal(err)
		}
		if len(exs) < least {
			t.Errorf("%s: %d examples, expected at least %d", path, len(exs), least)
		}
		var drifted []docExample
		for _, ex := range exs {
			if strings.Contains(ex.cmd, "--resolve") {
				if reason := localhostSkip(); reason != "" {
					t.Logf("%s: skipped: %s", ex.where, reason)
					continue
				}
			}
			if msg := ex.check(); msg != "" {
				drifted = append(drifted, ex)
				if !*update {
					t.Error(msg + "(run go test ./cmd/ctmatch -run TestDocExamples -update to rewrite the examples, and review the diff)")
				}
			}
		}
		if *update && len(drifted) > 0 {
			if err := rewriteExamples(path, exs); err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: rewrote %d examples", path, len(drifted))
		}
	}
}

// rewriteExamples writes every example block of path again, with the output
// and exit status each command gives now.
func rewriteExamples(path string, exs []docExample) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	lines := strings.Split(string(data), "\n")
	// From the last block to the first, so that line numbers stay valid.
	for end := len(exs); end > 0; {
		start := end - 1
		for start > 0 && exs[start-1].blockStart == exs[end-1].blockStart {
			start--
		}
		var block []string
		for _, ex := range exs[start:end] {
			got, code := runCombined(ex.args, ex.stdin)
			block = append(block, "$ "+ex.cmd)
			block = append(block, ex.heredoc...)
			if got != "" {
				block = append(block, strings.Split(strings.TrimSuffix(got, "\n"), "\n")...)
			}
			switch {
			case ex.echo:
				block = append(block, "$ echo $?", strconv.Itoa(code))
			case code != 0:
				block = append(block, fmt.Sprintf("# exit %d", code))
			}
		}
		first, fence := exs[start].blockStart-1, exs[start].blockEnd-1 // 0-based
		lines = append(lines[:first], append(block, lines[fence:]...)...)
		end = start
	}
	return os.WriteFile(path, []byte(strings.Join(lines, "\n")), 0o644)
}

// The example checker fails when an example's output or status drifts.
func TestDocExamplesCanFail(t *testing.T) {
	md := "text\n\n```\n$ ctmatch fmt -- -m state --state new\n-m state --state NEW\n```\n\n" +
		"```\n$ ctmatch fmt -f - <<'EOF'\n-m state --state bogus\nEOF\nctmatch: <stdin>:1:18: unknown state \"bogus\"\n" +
		"  -m state --state bogus\n                   ^^^^^\n" +
		"  -m state takes INVALID, NEW, ESTABLISHED, RELATED and UNTRACKED (SNAT and DNAT need -m conntrack --ctstate)\n# exit 2\n" +
		"$ ctmatch fmt -- -j LOG\nctmatch: col 4: target LOG is valid iptables, but ctmatch does not support it yet\n  -j LOG\n     ^^^\n$ echo $?\n1\n```\n" +
		"```sh\nnot an example\n```\n"
	path := t.TempDir() + "/doc.md"
	if err := os.WriteFile(path, []byte(md), 0o644); err != nil {
		t.Fatal(err)
	}
	exs, err := docExamples(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(exs) != 3 {
		t.Fatalf("%d examples, want 3: %+v", len(exs), exs)
	}
	if exs[1].stdin != "-m state --state bogus\n" || exs[1].code != 2 || exs[2].code != 1 {
		t.Fatalf("examples read wrong: %+v", exs)
	}
	for _, ex := range exs {
		if msg := ex.check(); msg != "" {
			t.Fatalf("a correct example fails:\n%s", msg)
		}
		drift := ex
		drift.want = strings.Replace(ex.want, "e", "E", 1)
		if drift.check() == "" {
			t.Errorf("%s: changed output not noticed", ex.where)
		}
		drift = ex
		drift.code = 3
		if drift.check() == "" {
			t.Errorf("%s: changed exit status not noticed", ex.where)
		}
	}

	// -update writes the examples back as they run.
	drifted := strings.NewReplacer("\n-m state --state NEW\n", "\nold output\n", "# exit 2", "# exit 5", "$ echo $?\n1", "$ echo $?\n9").Replace(md)
	if drifted == md {
		t.Fatal("the drift did not change the document")
	}
	if err := os.WriteFile(path, []byte(drifted), 0o644); err != nil {
		t.Fatal(err)
	}
	exs, err = docExamples(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := rewriteExamples(path, exs); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	if diff := cmp.Diff(strings.SplitAfter(md, "\n"), strings.SplitAfter(string(got), "\n")); diff != "" {
		t.Errorf("rewriteExamples (-want +got):\n%s", diff)
	}
}

func TestShellSplit(t *testing.T) {
	for _, c := range []struct {
		in      string
		words   []string
		heredoc string
		bad     bool
	}{
		{in: `ctmatch fmt -- -m conntrack --ctstate NEW`, words: []string{"ctmatch", "fmt", "--", "-m", "conntrack", "--ctstate", "NEW"}},
		{in: `ctmatch fmt -- '-A INPUT -j "x y"'  '' a\ b`, words: []string{"ctmatch", "fmt", "--", `-A INPUT -j "x y"`, "", "a b"}},
		{in: `ctmatch "a\"b\\c" x"y"'z'`, words: []string{"ctmatch", `a"b\c`, "xyz"}},
		{in: `ctmatch fmt -- ! --ctstate NEW`, words: []string{"ctmatch", "fmt", "--", "!", "--ctstate", "NEW"}},
		{in: `ctmatch fmt -f - <<'EOF'`, words: []string{"ctmatch", "fmt", "-f", "-"}, heredoc: "EOF"},
		{in: `ctmatch fmt -f - <<END`, words: []string{"ctmatch", "fmt", "-f", "-"}, heredoc: "END"},
		{in: `ctmatch fmt a#b`, words: []string{"ctmatch", "fmt", "a#b"}},
		{in: `ctmatch fmt '`, bad: true},
		{in: `ctmatch fmt "`, bad: true},
		{in: `ctmatch fmt $X`, bad: true},
		{in: `ctmatch fmt "$X"`, bad: true},
		{in: `ctmatch fmt -- a | cat`, bad: true},
		{in: `ctmatch fmt -- a > f`, bad: true},
		{in: `ctmatch fmt -- a*`, bad: true},
		{in: `ctmatch fmt # comment`, bad: true},
		{in: `ctmatch fmt \`, bad: true},
	} {
		words, heredoc, err := shellSplit(c.in)
		if c.bad {
			if err == nil {
				t.Errorf("shellSplit(%q) = %q, want an error", c.in, words)
			}
			continue
		}
		if err != nil || heredoc != c.heredoc {
			t.Errorf("shellSplit(%q): heredoc %q, error %v; want %q, no error", c.in, heredoc, err, c.heredoc)
		}
		if diff := cmp.Diff(c.words, words); diff != "" {
			t.Errorf("shellSplit(%q) (-want +got):\n%s", c.in, diff)
		}
	}
}
