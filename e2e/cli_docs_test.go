package e2e

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ctmatch/ctmatch/internal/ktest"
	"github.com/ctmatch/ctmatch/internal/netns"
	"github.com/ctmatch/ctmatch/internal/shellwords"
)

var updateDocs = flag.Bool("update", false, "rewrite the session examples of the documentation with what they print now")

// The documentation's kernel examples are run, so that they cannot drift
// from what ctmatch does. (cmd/ctmatch's docs test runs the "$ ctmatch"
// examples, which need no kernel, in-process.)
//
// A kernel example is a fenced code block with the info string "session":
// a root shell session. Each line starting with "# " and a program
// (ctmatch, nft, iptables, ip6tables, iptables-save, or setpriv running
// ctmatch with fewer capabilities) is a command; the
// lines after it, up to the next command or the end of the block, are what
// it prints (standard output and standard error, in the order printed). A
// command that exits with a status other than 0 is followed by "# echo $?"
// and a line holding the status. A command may end with a here-document
// (<<'EOF' … EOF) that becomes its standard input.
//
// The sessions of a document run in order, in one fresh network namespace
// for the document:
// ctmatch with --netns added (before "--", or at the end), the other
// programs through nsenter.

// sessionFiles are the documents whose sessions run, with the least number
// of commands each must have.
var sessionFiles = map[string]int{
	"../docs/cli.md": 10,
	"../README.md":   2,
}

// sessionPrograms are the programs a session may run.
var sessionPrograms = map[string]bool{"ctmatch": true, "nft": true, "iptables": true, "ip6tables": true, "iptables-save": true, "setpriv": true}

type sessionCmd struct {
	where   string // FILE:LINE
	line    string // as written, after "# "
	args    []string
	stdin   string
	heredoc []string // as written, body and terminator
	want    string
	code    int

	blockStart, blockEnd int // 1-based lines of the block's first line and closing fence
}

// sessions reads the session commands of a Markdown file.
func sessions(path string) ([]sessionCmd, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var (
		out   []sessionCmd
		in    bool
		block []string
		start int
	)
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case !in && strings.TrimSpace(line) == "```session":
			in, block, start = true, nil, n+1
		case in && strings.TrimSpace(line) == "```":
			in = false
			cmds, err := parseSession(path, start, block)
			if err != nil {
				return nil, err
			}
			for i := range cmds {
				cmds[i].blockStart, cmds[i].blockEnd = start, n
			}
			out = append(out, cmds...)
		case in:
			block = append(block, line)
		}
	}
	if in {
		return nil, fmt.Errorf("%s:%d: session block not closed", path, start-1)
	}
	return out, sc.Err()
}

// isCommand reports whether a session line is a command.
func isCommand(line string) bool {
	if !strings.HasPrefix(line, "# ") {
		return false
	}
	f := strings.Fields(line[2:])
	return len(f) > 0 && sessionPrograms[f[0]]
}

func parseSession(path string, start int, lines []string) ([]sessionCmd, error) {
	var out []sessionCmd
	for i := 0; i < len(lines); {
		where := fmt.Sprintf("%s:%d", path, start+i)
		if !isCommand(lines[i]) {
			return nil, fmt.Errorf("%s: expected a command (# ctmatch …), found %q", where, lines[i])
		}
		c := sessionCmd{where: where, line: lines[i][2:]}
		words, heredoc, err := splitCommand(c.line)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", where, err)
		}
		c.args = words
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
			c.stdin = in.String()
			c.heredoc = strings.Split(in.String()+heredoc, "\n")
		}
		var output []string
		for ; i < len(lines) && !isCommand(lines[i]) && lines[i] != "# echo $?"; i++ {
			output = append(output, lines[i])
		}
		if i < len(lines) && lines[i] == "# echo $?" {
			if i+1 == len(lines) {
				return nil, fmt.Errorf("%s: echo $? without the status after it", where)
			}
			code, err := strconv.Atoi(lines[i+1])
			if err != nil || code == 0 {
				return nil, fmt.Errorf("%s: echo $? prints %q, not a status other than 0", where, lines[i+1])
			}
			c.code = code
			i += 2
		}
		if len(output) > 0 {
			c.want = strings.Join(output, "\n") + "\n"
		}
		out = append(out, c)
	}
	return out, nil
}

// splitCommand splits a command line as a POSIX shell does (shellwords.Split).
func splitCommand(s string) (words []string, heredoc string, err error) { return shellwords.Split(s) }

// run runs the command in ns and returns what it printed and its status.
func (c sessionCmd) run(t *testing.T, bin string, ns *netns.NS) (string, int) {
	t.Helper()
	var cmd *exec.Cmd
	switch k := slices.Index(c.args, "ctmatch"); {
	case k == 0:
		cmd = cliCommand(bin, ns, "", nil, c.args[1:]...)
	case k > 0 && c.args[0] == "setpriv":
		cmd = cliCommand(bin, ns, "", c.args[:k], c.args[k+1:]...)
	default:
		cmd = ns.Command(c.args[0], c.args[1:]...)
	}
	if c.stdin != "" {
		cmd.Stdin = strings.NewReader(c.stdin)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		return out.String(), ee.ExitCode()
	case err != nil:
		t.Fatalf("%s: %v", c.where, err)
	}
	return out.String(), 0
}

func TestCLIDocSessions(t *testing.T) {
	for path, least := range sessionFiles {
		t.Run(path, func(t *testing.T) {
			cmds, err := sessions(path)
			if err != nil {
				t.Fatal(err)
			}
			if len(cmds) < least {
				t.Fatalf("%s: %d session commands, expected at least %d", path, len(cmds), least)
			}
			ns := ktest.Namespace(t, "nft", "iptables", "iptables-save", "ip6tables", "setpriv")
			bin := ctmatchCLI(t)
			got := make([]string, len(cmds))
			codes := make([]int, len(cmds))
			drifted := 0
			for i, c := range cmds {
				got[i], codes[i] = c.run(t, bin, ns)
				var msg strings.Builder
				if diff := cmp.Diff(strings.SplitAfter(c.want, "\n"), strings.SplitAfter(got[i], "\n")); diff != "" {
					fmt.Fprintf(&msg, "output differs (-documented +actual):\n%s", diff)
				}
				if codes[i] != c.code {
					fmt.Fprintf(&msg, "exit status %d, documented %d\n", codes[i], c.code)
				}
				if msg.Len() > 0 {
					drifted++
					if !*updateDocs {
						t.Errorf("%s: # %s\n%s(run go test ./e2e -run TestCLIDocSessions -update as root to rewrite the sessions, and review the diff)", c.where, c.line, msg.String())
					}
				}
			}
			if *updateDocs && drifted > 0 {
				if err := rewriteSessions(path, cmds, got, codes); err != nil {
					t.Fatal(err)
				}
				t.Logf("%s: rewrote %d commands' output", path, drifted)
			}
		})
	}
}

// rewriteSessions writes every session block of path again with the output
// and status each command gave.
func rewriteSessions(path string, cmds []sessionCmd, got []string, codes []int) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	lines := strings.Split(string(data), "\n")
	for end := len(cmds); end > 0; {
		start := end - 1
		for start > 0 && cmds[start-1].blockStart == cmds[end-1].blockStart {
			start--
		}
		var block []string
		for i := start; i < end; i++ {
			block = append(block, "# "+cmds[i].line)
			block = append(block, cmds[i].heredoc...)
			if got[i] != "" {
				block = append(block, strings.Split(strings.TrimSuffix(got[i], "\n"), "\n")...)
			}
			if codes[i] != 0 {
				block = append(block, "# echo $?", strconv.Itoa(codes[i]))
			}
		}
		first, fence := cmds[start].blockStart-1, cmds[start].blockEnd-1
		lines = append(lines[:first], append(block, lines[fence:]...)...)
		end = start
	}
	return os.WriteFile(path, []byte(strings.Join(lines, "\n")), 0o644)
}

// The session reader finds the commands, their input, output and status.
func TestCLIDocSessionsRead(t *testing.T) {
	md := "text\n\n```session\n# ctmatch list -o iptables\n# table inet fw\n-A input -j ACCEPT\n" +
		"# ctmatch apply -f - <<'EOF'\nadd rule inet fw input -- -j DROP\nEOF\n# echo $?\n1\n# nft list ruleset\n```\n\n```\n# ctmatch not a session\n```\n"
	path := t.TempDir() + "/doc.md"
	if err := os.WriteFile(path, []byte(md), 0o644); err != nil {
		t.Fatal(err)
	}
	cmds, err := sessions(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(cmds) != 3 {
		t.Fatalf("%d commands, want 3: %+v", len(cmds), cmds)
	}
	if cmds[0].want != "# table inet fw\n-A input -j ACCEPT\n" || cmds[1].stdin != "add rule inet fw input -- -j DROP\n" || cmds[1].code != 1 || cmds[2].args[0] != "nft" {
		t.Errorf("read wrong: %+v", cmds)
	}
	if got, want := withNetns([]string{"add", "rule", "inet", "fw", "input", "--", "-j", "DROP"}), "add rule inet fw input --netns /proc/self/fd/3 -- -j DROP"; strings.Join(got, " ") != want {
		t.Errorf("withNetns = %q, want %q", got, want)
	}
	for _, bad := range []string{"ctmatch list $X", "ctmatch list | cat", "ctmatch list > f", `ctmatch "a$b"`} {
		if _, _, err := splitCommand(bad); err == nil {
			t.Errorf("splitCommand(%q) took it", bad)
		}
	}
}
