// Package docblock reads the command examples of Markdown documents, so that
// tests can run them and compare what they print, and writes them back with
// what they print now. A block is a fenced code block (``` or ~~~); in it,
// a command is a line that starts with a prompt ("$ " or "# ") and a
// program, possibly ending with a here-document (<<'EOF' … EOF) that becomes
// its standard input; the lines after it, up to the next command, are what
// it prints; PROMPT + "echo $?" and a line holding a number give its exit
// status.
package docblock

import (
	"bufio"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/ctmatch/ctmatch/internal/shellwords"
)

// Block is a fenced code block.
type Block struct {
	Info  string   // the opening fence's info string, such as "session"
	Start int      // the 1-based line of its first line
	End   int      // the 1-based line of its closing fence
	Lines []string // its lines
}

var fenceRE = regexp.MustCompile("^(```+|~~~+)")

// Blocks returns the fenced code blocks of the Markdown file at path.
func Blocks(path string) ([]Block, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var (
		out   []Block
		fence string // the open fence, or ""
		b     Block
	)
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if fence == "" {
			if m := fenceRE.FindString(line); m != "" {
				fence, b = m, Block{Info: strings.TrimSpace(line[len(m):]), Start: n + 1}
			}
			continue
		}
		if strings.HasPrefix(line, fence) && strings.TrimSpace(strings.TrimLeft(line, fence[:1])) == "" {
			fence, b.End = "", n
			out = append(out, b)
			continue
		}
		b.Lines = append(b.Lines, line)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if fence != "" {
		return nil, fmt.Errorf("%s:%d: code block not closed", path, b.Start-1)
	}
	return out, nil
}

// Command is one command of a block.
type Command struct {
	Where   string   // FILE:LINE
	Line    string   // as written, after the prompt
	Args    []string // its words, as a POSIX shell splits them
	Stdin   string   // its here-document's body, or ""
	Heredoc []string // its here-document as written, body and terminator
	Output  []string // the lines it prints
	Echo    bool     // PROMPT echo $? follows it
	Status  int      // the status echo $? prints

	BlockStart, BlockEnd int // of its block, as in Block
}

// Commands reads the commands of block b of the file at path. isCommand
// says which lines, after prompt, start a command; every line of the block
// belongs to one.
func Commands(path string, b Block, prompt string, isCommand func(line string) bool) ([]Command, error) {
	echo := prompt + "echo $?"
	starts := func(line string) bool { return strings.HasPrefix(line, prompt) && isCommand(line[len(prompt):]) }
	var out []Command
	lines := b.Lines
	for i := 0; i < len(lines); {
		where := fmt.Sprintf("%s:%d", path, b.Start+i)
		if lines[i] == echo {
			return nil, fmt.Errorf("%s: echo $? with no command before it", where)
		}
		if !starts(lines[i]) {
			return nil, fmt.Errorf("%s: expected a command line starting with %q, found %q", where, prompt, lines[i])
		}
		c := Command{Where: where, Line: lines[i][len(prompt):], BlockStart: b.Start, BlockEnd: b.End}
		words, heredoc, err := shellwords.Split(c.Line)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", where, err)
		}
		c.Args = words
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
			c.Stdin = in.String()
			c.Heredoc = strings.Split(in.String()+heredoc, "\n")
		}
		for ; i < len(lines) && !starts(lines[i]) && lines[i] != echo; i++ {
			c.Output = append(c.Output, lines[i])
		}
		if i < len(lines) && lines[i] == echo {
			if i+1 == len(lines) {
				return nil, fmt.Errorf("%s: echo $? without the status after it", where)
			}
			if c.Status, err = strconv.Atoi(lines[i+1]); err != nil {
				return nil, fmt.Errorf("%s:%d: echo $? prints %q, not a number", path, b.Start+i+1, lines[i+1])
			}
			c.Echo = true
			i += 2
		}
		out = append(out, c)
	}
	return out, nil
}

// Rewrite writes the blocks of cmds (commands read from the file at path,
// in its order) again, command k as the lines render(k) returns.
func Rewrite(path string, cmds []Command, render func(k int) []string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	lines := strings.Split(string(data), "\n")
	// From the last block to the first, so that line numbers stay valid.
	for end := len(cmds); end > 0; {
		start := end - 1
		for start > 0 && cmds[start-1].BlockStart == cmds[end-1].BlockStart {
			start--
		}
		var block []string
		for k := start; k < end; k++ {
			block = append(block, render(k)...)
		}
		first, fence := cmds[start].BlockStart-1, cmds[start].BlockEnd-1 // 0-based
		lines = append(lines[:first], append(block, lines[fence:]...)...)
		end = start
	}
	return os.WriteFile(path, []byte(strings.Join(lines, "\n")), 0o644)
}

// Join returns output lines as the text a program prints: each line with
// its newline, or "" for none.
func Join(lines []string) string {
	if len(lines) == 0 {
		return ""
	}
	return strings.Join(lines, "\n") + "\n"
}

// Split is Join's inverse, for render: the lines of what a program printed.
func Split(out string) []string {
	if out == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(out, "\n"), "\n")
}
