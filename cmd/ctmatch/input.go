package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/firewall"
	"github.com/ctmatch/ctmatch/parse"
	"github.com/ctmatch/ctmatch/script"
)

// wordsFlags are the flags of every command that reads iptables words.
type wordsFlags struct {
	v4, v6      bool
	file        string
	errorFormat string
	resolve     bool
}

func (f *wordsFlags) bind(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.BoolVarP(&f.v4, "ipv4", "4", false, "the words are iptables words (the default)")
	fl.BoolVarP(&f.v6, "ipv6", "6", false, "the words are ip6tables words")
	fl.StringVarP(&f.file, "file", "f", "", "read rules from `FILE`, one per line, each ending with a newline (- for standard input)")
	fl.StringVar(&f.errorFormat, "error-format", "text", "print errors as `text` or json (one object per line)")
	fl.BoolVar(&f.resolve, "resolve", false, "look up host names in addresses (each must resolve to exactly one address)")
}

// source is one rule to read: argv words, or a line of text; or a line of
// a file that could not be read as one (err).
type source struct {
	pos  parse.Position // the line of a file (no column); the zero Position for the command line
	text string         // the rule text, when the rule is text
	args []string
	argv bool
	err  error // the line's *lineError: the line is not there to read
}

// sourceSeq calls yield with each rule, as it is read, until yield returns
// false; it returns an error that ends the reading (exit 1 or 2).
type sourceSeq func(yield func(source) bool) error

// sources returns the rules a command was given: the words after "--", or the
// lines of -f FILE, read as they are used.
func (f *wordsFlags) sources(cmd *cobra.Command, args []string) (sourceSeq, error) {
	if f.v4 && f.v6 {
		return nil, usageError("-4 and -6 cannot be used together")
	}
	if f.errorFormat != "text" && f.errorFormat != "json" {
		return nil, usageError("--error-format must be text or json, not %q", f.errorFormat)
	}
	dash := cmd.ArgsLenAtDash()
	if f.file != "" {
		if len(args) > 0 {
			return nil, usageError("give the rules either with -f or after --, not both")
		}
		return func(yield func(source) bool) error { return f.eachLine(cmd, yield) }, nil
	}
	if dash < 0 || dash > 0 || len(args) == 0 {
		if len(args) > 0 && dash != 0 {
			return nil, usageError("the iptables words must come after \"--\" (for example: %s)", wordsExample(cmd))
		}
		return nil, usageError("no rule given: put the iptables words after \"--\", or use -f FILE")
	}
	srcs, err := wordSources(args)
	if err != nil {
		return nil, err
	}
	return func(yield func(source) bool) error {
		for _, s := range srcs {
			if !yield(s) {
				break
			}
		}
		return nil
	}, nil
}

// wordSources returns the rule the words after "--" give.
func wordSources(args []string) ([]source, error) {
	if len(args) == 1 && strings.TrimSpace(args[0]) == "" {
		return nil, usageError("the rule after \"--\" is empty")
	}
	if len(args) == 1 && strings.ContainsAny(args[0], " \t") {
		return []source{{text: args[0]}}, nil
	}
	return []source{{args: args, argv: true}}, nil
}

// positionalSources reads the arguments of a command that takes positional
// arguments before "--" (FAMILY TABLE CHAIN) and then the iptables words,
// or -f FILE: it returns the positional arguments, which must be as many as
// names, and the rules.
func (f *wordsFlags) positionalSources(cmd *cobra.Command, args []string, names ...string) ([]string, []source, error) {
	if f.v4 && f.v6 {
		return nil, nil, usageError("-4 and -6 cannot be used together")
	}
	if f.errorFormat != "text" && f.errorFormat != "json" {
		return nil, nil, usageError("--error-format must be text or json, not %q", f.errorFormat)
	}
	pos, words := args, []string(nil)
	dash := cmd.ArgsLenAtDash()
	if dash >= 0 {
		pos, words = args[:dash], args[dash:]
	}
	if err := checkPositional(cmd, pos, names...); err != nil {
		return nil, nil, err
	}
	if f.file != "" {
		if dash >= 0 {
			return nil, nil, usageError("give the rules either with -f or after --, not both")
		}
		srcs, err := f.readFile(cmd)
		return pos, srcs, err
	}
	if dash < 0 || len(words) == 0 {
		return nil, nil, usageError("no rule given: put the iptables words after \"--\" (%s), or use -f FILE", wordsExample(cmd))
	}
	srcs, err := wordSources(words)
	return pos, srcs, err
}

// checkPositional checks that pos holds one argument for each of names.
func checkPositional(cmd *cobra.Command, pos []string, names ...string) error {
	if len(pos) < len(names) {
		return usageError("missing %s: %s takes %s (for example: %s)", names[len(pos)], cmd.CommandPath(), strings.Join(names, " "), wordsExample(cmd))
	}
	if len(pos) > len(names) {
		if cmd.Annotations[annotationNoWords] != "" {
			return usageError("unexpected argument %q after %s: %s takes one %s (for example: %s)", pos[len(names)], strings.Join(names, " "), cmd.CommandPath(), names[len(names)-1], wordsExample(cmd))
		}
		return usageError("unexpected argument %q after %s: the iptables words must come after \"--\" (for example: %s)", pos[len(names)], strings.Join(names, " "), wordsExample(cmd))
	}
	for i, p := range pos {
		if p == "" {
			return usageError("empty %s", names[i])
		}
	}
	return nil
}

// wordsExample returns an example command line of cmd with iptables words,
// for messages that say where the words go.
func wordsExample(cmd *cobra.Command) string {
	if ex := cmd.Annotations[annotationWordsExample]; ex != "" {
		return ex
	}
	return cmd.CommandPath() + " -- -m conntrack --ctstate NEW"
}

// annotationNoWords is the cobra annotation of a command that takes no
// iptables words (delete rule): extra arguments are not words misplaced.
const annotationNoWords = "ctmatch-no-words"

// annotationWordsExample is the cobra annotation that holds a command's
// example with iptables words, when "COMMAND -- WORDS" is not one.
const annotationWordsExample = "ctmatch-words-example"

func (f *wordsFlags) readFile(cmd *cobra.Command) ([]source, error) {
	var out []source
	err := f.eachLine(cmd, func(src source) bool {
		out = append(out, src)
		return true
	})
	return out, err
}

// maxLine is the longest line of a file ctmatch reads, without its
// newline.
const maxLine = 16 << 20

// lineError is a line of a file that is not there to read whole: cut short
// (the file does not end with a newline) or too long. It is invalid input
// (exit 2), at column col (0: the whole line).
type lineError struct {
	col int
	msg string
}

func (e *lineError) Error() string { return e.msg }

// eachLine calls yield with each line of -f FILE that is not blank or a
// comment, as it is read, until yield returns false. A line that cannot be
// read whole, because it is longer than maxLine or because it is the last
// one and has no newline (the file may have been cut short, and a cut line
// can read as another rule), is yielded with its error instead of its text.
func (f *wordsFlags) eachLine(cmd *cobra.Command, yield func(source) bool) error {
	return eachFileLine(cmd, f.file, func(src source) bool {
		if src.err == nil {
			src.text = strings.TrimSuffix(src.text, "\r")
			if script.Blank(src.text) {
				return true
			}
		}
		return yield(src)
	})
}

// eachFileLine calls yield with every line of the file name (- for standard
// input), blank lines and comments included, as eachLine does; a line ends
// at its newline (a carriage return before it stays in the text).
func eachFileLine(cmd *cobra.Command, name string, yield func(source) bool) error {
	r, name, done, err := openInput(cmd, name)
	if err != nil {
		return err
	}
	defer done()
	br := bufio.NewReaderSize(r, 64*1024)
	var buf []byte
	for n := 1; ; n++ {
		var ended, long bool
		var err error
		buf, ended, long, err = readLine(br, buf[:0], maxLine)
		if err != nil {
			var pe *os.PathError
			if errors.As(err, &pe) && pe.Path == name {
				err = pe.Err // "read /tmp: read /tmp: is a directory" says it twice
			}
			return &exitError{code: exitUnsupported, err: fmt.Errorf("read %s: %w", name, err)}
		}
		if !ended && !long && len(buf) == 0 {
			return nil // the end of the file, after a newline (or an empty file)
		}
		src := source{pos: parse.Position{File: name, Line: n}}
		switch {
		case long:
			src.err = &lineError{msg: fmt.Sprintf("line longer than %d MiB: ctmatch reads lines of at most %d bytes", maxLine>>20, maxLine)}
		case !ended:
			src.err = &lineError{col: len(buf) + 1, msg: "the file ends in the middle of this line (no newline after it): it may have been cut short, so nothing of it is used; end the file with a newline"}
		default:
			src.text = string(buf)
		}
		if !yield(src) || !ended {
			return nil
		}
	}
}

// openInput opens -f's FILE, or standard input for "-": its reader, the
// name that positions give it ("<stdin>" for standard input), and what
// closes it.
func openInput(cmd *cobra.Command, name string) (io.Reader, string, func(), error) {
	if name == "-" {
		return cmd.InOrStdin(), "<stdin>", func() {}, nil
	}
	fh, err := os.Open(name)
	if err != nil {
		return nil, name, nil, &exitError{code: exitUnsupported, err: err}
	}
	return fh, name, func() { fh.Close() }, nil
}

// readLine reads one line from br into buf and returns it without its
// newline, whether it ended with one, and whether it was longer than max
// bytes (then the rest of it is read and dropped, and buf is empty). At the
// end of the input it returns an empty line, not ended.
func readLine(br *bufio.Reader, buf []byte, max int) (line []byte, ended, long bool, err error) {
	for {
		chunk, err := br.ReadSlice('\n')
		if !long {
			if len(buf)+len(chunk) > max+1 || len(buf)+len(chunk) == max+1 && err != nil {
				long, buf = true, buf[:0]
			} else {
				buf = append(buf, chunk...)
			}
		}
		switch err {
		case nil:
			if long {
				return buf, true, true, nil
			}
			return buf[:len(buf)-1], true, false, nil
		case bufio.ErrBufferFull:
			continue
		case io.EOF:
			return buf, false, long, nil
		default:
			return nil, false, false, err
		}
	}
}

func (f *wordsFlags) parseOptions(ctx context.Context) parse.Options {
	o := parse.Options{Family: parse.IPv4}
	if f.v6 {
		o.Family = parse.IPv6
	}
	o.Resolver = newSystemResolver(ctx, f.resolve)
	return o
}

func (s source) parse(o parse.Options) (*parse.Rule, error) {
	if s.err != nil {
		return nil, s.err
	}
	if s.argv {
		return parse.ParseArgs(s.args, o)
	}
	return parse.ParseText(s.text, o)
}

// systemResolver adds /etc/services to the built-in service names and, when
// asked, looks host names up with the system's resolver. Goroutines may
// share it.
type systemResolver struct {
	ctx      context.Context
	hosts    bool
	services func() map[string]uint16 // read once, when first needed
}

func newSystemResolver(ctx context.Context, hosts bool) *systemResolver {
	return &systemResolver{ctx: ctx, hosts: hosts, services: sync.OnceValue(func() map[string]uint16 {
		return readServices("/etc/services")
	})}
}

func (r *systemResolver) Service(name string) (uint16, bool) {
	if p, ok := parse.Builtin.Service(name); ok {
		return p, true
	}
	p, ok := r.services()[name]
	return p, ok
}

func (r *systemResolver) Host(name string, family parse.Family) ([]netip.Addr, error) {
	if !r.hosts {
		return nil, parse.ErrNoHostLookup
	}
	network := "ip4"
	if family == parse.IPv6 {
		network = "ip6"
	}
	addrs, err := net.DefaultResolver.LookupNetIP(r.ctx, network, name)
	if err != nil {
		var dnsErr *net.DNSError
		var addrErr *net.AddrError
		if errors.As(err, &dnsErr) && dnsErr.IsNotFound || errors.As(err, &addrErr) {
			// An AddrError is "no suitable address": the name exists, but
			// has no address of this family (localhost with -6).
			return nil, fmt.Errorf("no %s address found", map[string]string{"ip4": "IPv4", "ip6": "IPv6"}[network])
		}
		return nil, err
	}
	var out []netip.Addr
	for _, a := range addrs {
		if family == parse.IPv4 {
			a = a.Unmap()
		}
		if !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out, nil
}

// readServices reads the names and aliases of a services(5) file.
func readServices(path string) map[string]uint16 {
	m := map[string]uint16{}
	data, err := os.ReadFile(path)
	if err != nil {
		return m
	}
	for _, line := range strings.Split(string(data), "\n") {
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		fields := strings.Fields(line)
		if len(fields) < 2 {
			continue
		}
		portStr, _, _ := strings.Cut(fields[1], "/")
		port, err := strconv.ParseUint(portStr, 10, 16)
		if err != nil {
			continue
		}
		for _, n := range append(fields[:1], fields[2:]...) {
			if _, seen := m[n]; !seen {
				m[n] = uint16(port)
			}
		}
	}
	return m
}

// reporter prints rule errors in the chosen format and remembers the worst
// exit code.
type reporter struct {
	w      io.Writer
	json   bool
	code   int
	errors int
}

// report prints err, which came from reading the rule src.
func (r *reporter) report(src source, err error) {
	r.errors++
	var le *lineError
	if errors.As(err, &le) {
		r.raise(exitInvalid)
		r.print(src, problem{kind: "invalid", col: le.col, msg: le.msg})
		return
	}
	var pe *parse.Error
	if !errors.As(err, &pe) {
		r.raise(exitUnsupported)
		r.print(src, problem{kind: "error", msg: err.Error(), hint: firewall.Hint(err)})
		return
	}
	p := problem{kind: "invalid", col: int(pe.Pos) + 1, word: pe.Word, msg: pe.Msg, hint: pe.Hint, caret: pe.Caret()}
	if pe.Kind == parse.Unsupported {
		p.kind = "unsupported"
		r.raise(exitUnsupported)
	} else {
		r.raise(exitInvalid)
	}
	r.print(src, p)
}

// problem is one error to report.
type problem struct {
	kind   string // invalid (iptables rejects it), unsupported (ctmatch does not take it), error, or warning
	object string // the table or chain a warning is about ("ip filter"), or ""
	col    int    // 1-based column, 0 when there is no word
	word   string
	msg    string
	hint   string
	caret  string
}

func (r *reporter) raise(code int) {
	if code > r.code {
		r.code = code
	}
}

func (r *reporter) print(src source, p problem) {
	if r.json {
		obj := struct {
			File    string `json:"file,omitempty"`
			Line    int    `json:"line,omitempty"`
			Column  int    `json:"column,omitempty"`
			Word    string `json:"word"`
			Message string `json:"message"`
			Kind    string `json:"kind"`
			Object  string `json:"object,omitempty"`
			Hint    string `json:"hint,omitempty"`
		}{src.pos.File, src.pos.Line, p.col, p.word, p.msg, p.kind, p.object, p.hint}
		// One object per line; SetEscapeHTML(false) keeps "<stdin>" and
		// rule text readable instead of "\u003cstdin\u003e".
		enc := json.NewEncoder(r.w)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(obj)
		return
	}
	col, msg := p.col, p.msg
	detail := p.caret
	if p.hint != "" {
		if detail != "" {
			detail += "\n"
		}
		detail += "  " + p.hint
	}
	// FILE:LINE:COL, FILE:LINE (no column) or col N (the command line).
	at := src.pos
	at.Col = col
	var where string
	if at.IsValid() {
		where = at.String() + ": "
	}
	fmt.Fprintf(r.w, "ctmatch: %s%s\n", where, msg)
	if detail != "" {
		fmt.Fprintf(r.w, "%s\n", detail)
	}
}

// err returns the error a command ends with after reporting, or nil.
func (r *reporter) err() error {
	if r.code == 0 {
		return nil
	}
	return &exitError{code: r.code, printed: true}
}

// kernelFlags are the flags of every command that talks to the kernel.
type kernelFlags struct {
	netns string
	check bool
	flags *pflag.FlagSet
}

func (f *kernelFlags) bind(cmd *cobra.Command, writes bool) {
	fl := cmd.Flags()
	f.flags = fl
	fl.StringVar(&f.netns, "netns", "", "work in the network namespace at `PATH` (such as /run/netns/NAME, as ip netns add makes it)")
	if writes {
		fl.BoolVar(&f.check, "check", false, "have the kernel check every change, then change nothing")
	}
}

// validate reports bad usage of the kernel flags before any input is read:
// a --netns that was given names a namespace, so that an empty one (a
// script's unset variable) never means the caller's own.
func (f *kernelFlags) validate() error {
	if f.netns == "" && f.flags != nil && f.flags.Changed("netns") {
		return usageError("--netns needs the path of a network namespace, not an empty string (leave --netns out to work in ctmatch's own namespace)")
	}
	return nil
}

// dialClient is firewall.Dial; tests replace it to see that nothing dials.
var dialClient = firewall.Dial

// dial connects to nf_tables in the namespace --netns names.
func (f *kernelFlags) dial(ctx context.Context) (*firewall.Client, error) {
	if err := f.validate(); err != nil {
		return nil, err
	}
	c, err := dialClient(ctx, firewall.DialOptions{NetNS: f.netns})
	if err != nil {
		return nil, systemError(err)
	}
	return c, nil
}

// systemError is a failure of the kernel or the system: exit 1.
func systemError(err error) error {
	return &exitError{code: exitUnsupported, err: err}
}

// writeFlags are the flags of the commands that add rules.
type writeFlags struct {
	create, force, echo bool
}

func (f *writeFlags) bind(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.BoolVar(&f.create, "create", false, "create the table and the chain when they are missing (a chain named like an iptables built-in chain becomes that base chain)")
	fl.BoolVar(&f.force, "force", false, "write into a table that looks like iptables-nft's own")
	fl.BoolVar(&f.echo, "echo", false, "print what was added, with the handles the kernel gave it")
}

// parseFamily reads a FAMILY argument.
func parseFamily(s string) (expr.Family, error) {
	switch s {
	case "ip":
		return expr.FamilyIP, nil
	case "ip6":
		return expr.FamilyIP6, nil
	case "inet":
		return expr.FamilyInet, nil
	}
	return 0, usageError("unknown table family %q: ctmatch writes into ip, ip6 and inet tables", s)
}
