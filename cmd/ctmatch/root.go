package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ctmatch/ctmatch/firewall"
)

// Exit codes.
const (
	exitOK          = 0
	exitUnsupported = 1 // valid iptables that ctmatch does not support, or a failure of the system
	exitInvalid     = 2 // words iptables rejects, or bad usage
)

// exitError is an error with the exit code it calls for. Its message has
// already been printed when printed is set.
type exitError struct {
	code    int
	err     error
	printed bool
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// usageError marks bad usage (exit 2).
func usageError(format string, args ...any) error {
	return &exitError{code: exitInvalid, err: fmt.Errorf(format, args...)}
}

// stickyWriter remembers the first error of its writer and writes nothing
// after it.
type stickyWriter struct {
	w   io.Writer
	err error
	n   int64 // the bytes written
}

func (s *stickyWriter) Write(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	n, err := s.w.Write(p)
	s.n += int64(n)
	if err != nil {
		s.err = err
	}
	return n, err
}

// writeError is a failure to write the output: exit 1, with the error (never
// a usage message).
func writeError(err error) error {
	var se *spoolError
	if errors.As(err, &se) {
		return &exitError{code: exitUnsupported, err: se}
	}
	var pe *os.PathError
	if errors.As(err, &pe) {
		err = pe.Err // "write /dev/stdout: …" says it twice
	}
	return &exitError{code: exitUnsupported, err: fmt.Errorf("write standard output: %w", err)}
}

// echoError is a failure to write --echo's output after the kernel took the
// change: exit 1, saying that the change was made (a caller that retried
// would make it twice), or with --check that nothing was.
func echoError(err error, checked bool) error {
	e := writeError(err).(*exitError)
	if checked {
		e.err = fmt.Errorf("the kernel checked the changes and nothing was changed; %w", e.err)
	} else {
		e.err = fmt.Errorf("the changes were made; %w", e.err)
	}
	return e
}

// run executes the command line args and returns the exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRootCmdFor(stdin, args)
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return exitOK
	}
	jsonErrors := errorFormatJSON(cmd, args)
	var ee *exitError
	if errors.As(err, &ee) {
		if !ee.printed && ee.err != nil {
			if jsonErrors {
				printJSONExit(stderr, ee.code, ee.err)
			} else {
				printExit(stderr, ee)
			}
		}
		return ee.code
	}
	// Errors from cobra itself: unknown flags and commands, bad arguments.
	if jsonErrors {
		printJSONExit(stderr, exitInvalid, err)
		return exitInvalid
	}
	fmt.Fprintf(stderr, "ctmatch: %v\n", err)
	fmt.Fprintf(stderr, "Run 'ctmatch --help' for usage.\n")
	return exitInvalid
}

// errorFormatJSON reports whether the command ran with --error-format json:
// as its flag was read, or, when cobra stopped before reading it (an
// unknown flag), as the arguments say.
func errorFormatJSON(cmd *cobra.Command, args []string) bool {
	if cmd != nil {
		if f := cmd.Flags().Lookup("error-format"); f != nil && f.Changed {
			return f.Value.String() == "json"
		}
	}
	for i, a := range args {
		if a == "--" {
			break
		}
		if a == "--error-format=json" || a == "--error-format" && i+1 < len(args) && args[i+1] == "json" {
			return true
		}
	}
	return false
}

// printJSONExit prints the error a command ended with as one JSON object,
// as --error-format json prints the errors of rules: kind invalid for bad
// usage (exit 2), error for a failure (exit 1), and the hint.
func printJSONExit(w io.Writer, code int, err error) {
	kind := "error"
	if code == exitInvalid {
		kind = "invalid"
	}
	// (A message of several lines carries its advice after the first,
	// as cobra's errors do here: that is the hint.)
	msg, more, _ := strings.Cut(err.Error(), "\n")
	hint := firewall.Hint(err)
	if hint == "" {
		hint = strings.TrimSpace(more)
	}
	rep := &reporter{w: w, json: true}
	rep.print(source{}, problem{kind: kind, msg: msg, hint: hint})
}

// printExit prints the error a command ended with, and its hint: the
// libraries state the facts, and the advice goes on a line of its own, as
// a parse error's hint does.
func printExit(w io.Writer, ee *exitError) {
	fmt.Fprintf(w, "ctmatch: %v\n", ee.err)
	if h := firewall.Hint(ee.err); h != "" {
		fmt.Fprintf(w, "  %s\n", h)
	}
}

// extraCommands are the commands that a build tag adds: gen-man (man.go,
// tag genman).
var extraCommands []func() *cobra.Command

func newRootCmd(stdin io.Reader) *cobra.Command {
	return newRootCmdFor(stdin, nil)
}

// commands are ctmatch's commands, by name, in the order help lists them.
var commands = []struct {
	name string
	make func() *cobra.Command
}{
	{"version", newVersionCmd},
	{"fmt", newFmtCmd},
	{"translate", newTranslateCmd},
	{"add", newAddCmd},
	{"insert", newInsertCmd},
	{"delete", func() *cobra.Command {
		return newObjectCmd("delete", "Delete iptables rules from an nftables chain", newDeleteCmd())
	}},
	{"list", newListCmd},
	{"apply", newApplyCmd},
}

// newRootCmdFor returns the command tree that runs args. When args start
// with the name of one of ctmatch's commands, the tree holds that command
// alone, as cobra runs no other then: a script that calls ctmatch translate
// once per rule, as scripts call iptables-translate, does not pay for making
// every command's flags (nor the completion command, nor the version, which
// only ctmatch --version prints). Otherwise (no command, help, completion,
// an unknown command) it holds every command.
func newRootCmdFor(stdin io.Reader, args []string) *cobra.Command {
	only := ""
	if len(args) > 0 {
		for _, c := range commands {
			if c.name == args[0] {
				only = c.name
			}
		}
	}
	root := &cobra.Command{
		Use:   "ctmatch",
		Short: "Translate iptables conntrack matches into native nftables ct expressions",
		Long: `ctmatch reads iptables' conntrack match syntax (-m conntrack --ctstate …,
-m state --state …) and turns it into native nftables ct expressions that
behave exactly like the kernel's xt_conntrack match.

translate and fmt print; add rule, insert rule, delete rule, list and apply
load rules into the kernel and read them back over netlink (in the network
namespace --netns names), keeping the nft rules of one iptables rule together.

The iptables words always come after "--": either as separate arguments, as a
shell passes them to iptables, or as one quoted argument holding the rule text.

Exit codes: 0 success; 1 valid iptables that ctmatch does not support (yet), or
a refusal or failure of the kernel or the system (such as missing
CAP_NET_ADMIN); 2 words that iptables itself would reject, or bad usage.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	if only == "" {
		root.Version = version()
	} else {
		root.CompletionOptions.DisableDefaultCmd = true
	}
	root.SetIn(stdin)
	root.SetVersionTemplate("ctmatch {{.Version}}\n")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		if c.Flags().Lookup("file") == nil {
			// A command that takes no iptables words (ctmatch itself,
			// version): the hint about "--" would send the user astray.
			return usageError("%v\nRun '%s --help' for usage.", err, c.CommandPath())
		}
		if strings.HasPrefix(err.Error(), "invalid argument") {
			// A bad value of one of ctmatch's own flags (--index 0x10):
			// the words were not taken for flags.
			return usageError("%v", err)
		}
		return usageError("%v\n  (iptables words go after \"--\": %s)", err, wordsExample(c))
	})
	for _, c := range commands {
		if only == "" || c.name == only {
			root.AddCommand(c.make())
		}
	}
	if only == "" {
		for _, c := range extraCommands {
			root.AddCommand(c())
		}
	}
	return root
}
