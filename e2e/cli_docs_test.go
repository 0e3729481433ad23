package e2e

import (
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

	"github.com/ctmatch/ctmatch/internal/docblock"
	"github.com/ctmatch/ctmatch/internal/ktest"
	"github.com/ctmatch/ctmatch/internal/netns"
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
	"../docs/cli.md":       10,
	"../README.md":         2,
	"../docs/migration.md": 10,
}

// sessionPrograms are the programs a session may run.
var sessionPrograms = map[string]bool{"ctmatch": true, "nft": true, "iptables": true, "ip6tables": true, "iptables-save": true, "setpriv": true,
	"iptables-restore": true, "iptables-legacy": true, "iptables-legacy-restore": true}

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
	blocks, err := docblock.Blocks(path)
	if err != nil {
		return nil, err
	}
	var out []sessionCmd
	for _, b := range blocks {
		if b.Info != "session" {
			continue
		}
		cmds, err := docblock.Commands(path, b, "# ", isCommand)
		if err != nil {
			return nil, err
		}
		for _, c := range cmds {
			if c.Echo && c.Status == 0 {
				return nil, fmt.Errorf("%s: echo $? prints 0: a status other than 0 only", c.Where)
			}
			out = append(out, sessionCmd{where: c.Where, line: c.Line, args: c.Args, stdin: c.Stdin, heredoc: c.Heredoc,
				want: docblock.Join(c.Output), code: c.Status, blockStart: c.BlockStart, blockEnd: c.BlockEnd})
		}
	}
	return out, nil
}

// isCommand reports whether a session line, after "# ", is a command.
func isCommand(line string) bool {
	f := strings.Fields(line)
	return len(f) > 0 && sessionPrograms[f[0]]
}

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
			ns := ktest.Namespace(t, "nft", "iptables", "iptables-save", "ip6tables", "setpriv", "iptables-restore", "iptables-legacy", "iptables-legacy-restore")
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
	placed := make([]docblock.Command, len(cmds))
	for i, c := range cmds {
		placed[i] = docblock.Command{BlockStart: c.blockStart, BlockEnd: c.blockEnd}
	}
	return docblock.Rewrite(path, placed, func(k int) []string {
		block := append(append([]string{"# " + cmds[k].line}, cmds[k].heredoc...), docblock.Split(got[k])...)
		if codes[k] != 0 {
			block = append(block, "# echo $?", strconv.Itoa(codes[k]))
		}
		return block
	})
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
}
