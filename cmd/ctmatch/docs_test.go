package main

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ctmatch/ctmatch/internal/docblock"
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

var exitLine = regexp.MustCompile(`^# exit (\d+)$`)

// docExamples reads the examples of a Markdown file.
func docExamples(path string) ([]docExample, error) {
	blocks, err := docblock.Blocks(path)
	if err != nil {
		return nil, err
	}
	var out []docExample
	for _, b := range blocks {
		if len(b.Lines) == 0 || !strings.HasPrefix(b.Lines[0], "$ ctmatch") {
			continue
		}
		cmds, err := docblock.Commands(path, b, "$ ", func(string) bool { return true })
		if err != nil {
			return nil, err
		}
		for _, c := range cmds {
			if len(c.Args) == 0 || c.Args[0] != "ctmatch" {
				return nil, fmt.Errorf("%s: an example runs ctmatch, not %q", c.Where, c.Line)
			}
			ex := docExample{where: c.Where, cmd: c.Line, args: c.Args[1:], stdin: c.Stdin, code: c.Status, echo: c.Echo,
				blockStart: c.BlockStart, blockEnd: c.BlockEnd, heredoc: c.Heredoc}
			output := c.Output
			if k := len(output) - 1; k >= 0 && !c.Echo {
				if m := exitLine.FindStringSubmatch(output[k]); m != nil {
					ex.code, _ = strconv.Atoi(m[1])
					output = output[:k]
					if ex.code == 0 {
						return nil, fmt.Errorf("%s: \"# exit 0\" is the default: leave it out", c.Where)
					}
				}
			}
			ex.want = docblock.Join(output)
			out = append(out, ex)
		}
	}
	return out, nil
}

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
	cmds := make([]docblock.Command, len(exs))
	for i, ex := range exs {
		cmds[i] = docblock.Command{BlockStart: ex.blockStart, BlockEnd: ex.blockEnd}
	}
	return docblock.Rewrite(path, cmds, func(k int) []string {
		ex := exs[k]
		got, code := runCombined(ex.args, ex.stdin)
		block := append(append([]string{"$ " + ex.cmd}, ex.heredoc...), docblock.Split(got)...)
		switch {
		case ex.echo:
			block = append(block, "$ echo $?", strconv.Itoa(code))
		case code != 0:
			block = append(block, fmt.Sprintf("# exit %d", code))
		}
		return block
	})
}

// The example checker fails when an example's output or status drifts.
func TestDocExamplesCanFail(t *testing.T) {
	md := "text\n\n```\n$ ctmatch fmt -- -m state --state new\n-m state --state NEW\n```\n\n" +
		"```\n$ ctmatch fmt -f - <<'EOF'\n-m state --state bogus\nEOF\nctmatch: <stdin>:1:18: unknown state \"bogus\"\n" +
		"  -m state --state bogus\n                   ^^^^^\n" +
		"  -m state takes INVALID, NEW, ESTABLISHED, RELATED and UNTRACKED (SNAT and DNAT need -m conntrack --ctstate)\n# exit 2\n" +
		"$ ctmatch fmt -- -j NFQUEUE\nctmatch: col 4: target NFQUEUE is an iptables target that ctmatch does not support yet (nor check its options)\n  -j NFQUEUE\n     ^^^^^^^\n$ echo $?\n1\n```\n" +
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
