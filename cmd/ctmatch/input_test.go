package main

import (
	"bufio"
	"strings"
	"syscall"
	"testing"
)

// A file whose last line has no newline may have been cut short, and a cut
// line can read as another rule (--ctstate NEW,ESTABLISHED cut after NEW):
// fmt, translate, add rule and apply refuse that line, naming it with the
// column where the newline should be, and exit 2; add rule does not dial.
// An empty file is fine.
func TestFileWithoutFinalNewline(t *testing.T) {
	dialed := noDial(t)
	const cut = "-A INPUT -m conntrack --ctstate NEW"
	for _, tc := range []struct {
		args         []string
		stdin        string
		stdout, want string
	}{
		{[]string{"fmt", "-f", "-"}, "-m state --state NEW\n" + cut,
			"-m state --state NEW\n",
			"ctmatch: <stdin>:2:36: the file ends in the middle of this line (no newline after it): it may have been cut short, so nothing of it is used; end the file with a newline\n"},
		{[]string{"fmt", "-o", "ast", "-f", "-"}, "# only a comment, cut", "{\n  \"version\": 1,\n  \"rules\": []\n}\n",
			"ctmatch: <stdin>:1:22: the file ends in the middle of this line (no newline after it): it may have been cut short, so nothing of it is used; end the file with a newline\n"},
		{[]string{"translate", "-f", "-"}, cut, "",
			"ctmatch: <stdin>:1:36: the file ends in the middle of this line (no newline after it): it may have been cut short, so nothing of it is used; end the file with a newline\n"},
		{[]string{"apply", "-f", "-"}, "add rule inet fw input -- -m state --state NEW -j ACCEPT\nadd rule inet fw input -- -m conntrack --ctstate NEW", "",
			"ctmatch: <stdin>:2:53: the file ends in the middle of this line (no newline after it): it may have been cut short, so nothing of it is used; end the file with a newline\n"},
		{[]string{"add", "rule", "inet", "fw", "input", "-f", "-"}, cut[9:], "",
			"ctmatch: <stdin>:1:27: the file ends in the middle of this line (no newline after it): it may have been cut short, so nothing of it is used; end the file with a newline\n"},
	} {
		*dialed = nil
		r := runCLI(t, tc.args, tc.stdin)
		// (apply dials at its first good line, but sends nothing before
		// every line is read.)
		if r.code != exitInvalid || r.stdout != tc.stdout || r.stderr != tc.want || len(*dialed) > 0 && tc.args[0] != "apply" {
			t.Errorf("ctmatch %s <<< %q: exit %d, dialed %q\nstdout %q\nstderr %q\nwant exit 2, no dial, stdout %q, stderr %q", shellQuoteArgs(tc.args), tc.stdin, r.code, *dialed, r.stdout, r.stderr, tc.stdout, tc.want)
		}
	}
	r := runCLI(t, []string{"fmt", "-f", "-", "--error-format", "json"}, cut)
	if want := `{"file":"<stdin>","line":1,"column":36,"word":"","message":"the file ends in the middle of this line (no newline after it): it may have been cut short, so nothing of it is used; end the file with a newline","kind":"invalid"}` + "\n"; r.code != exitInvalid || r.stderr != want {
		t.Errorf("--error-format json: exit %d, stderr %q, want 2, %q", r.code, r.stderr, want)
	}
	for _, stdin := range []string{"", "\n", "# comment\n", "-m state --state NEW\r\n"} {
		if r := runCLI(t, []string{"fmt", "-f", "-"}, stdin); r.code != exitOK {
			t.Errorf("ctmatch fmt -f - <<< %q: exit %d, stderr %q, want 0", stdin, r.code, r.stderr)
		}
	}
}

// A line longer than the longest ctmatch reads is refused with its file and
// line, and the lines after it are still read.
func TestFileLineTooLong(t *testing.T) {
	long := "-m conntrack --ctstate NEW --ctproto " + strings.Repeat("6", maxLine)
	r := runCLI(t, []string{"fmt", "-f", "-"}, "-m state --state NEW\n"+long+"\n-m state --state INVALID\n")
	want := "ctmatch: <stdin>:2: line longer than 16 MiB: ctmatch reads lines of at most 16777216 bytes\n"
	if r.code != exitInvalid || r.stderr != want || r.stdout != "-m state --state NEW\n-m state --state INVALID\n" {
		t.Errorf("exit %d\nstdout %q\nstderr %q\nwant exit 2, stderr %q", r.code, r.stdout, r.stderr, want)
	}
}

// readLine takes lines of up to max bytes, whatever the size of the
// reader's buffer, and drops longer ones whole.
func TestReadLine(t *testing.T) {
	in := "abc\n" + strings.Repeat("x", 40) + "\n" + strings.Repeat("y", 41) + "\n" + strings.Repeat("z", 41) + "\nend"
	br := bufio.NewReaderSize(strings.NewReader(in), 16)
	type line struct {
		s           string
		ended, long bool
	}
	var got []line
	for {
		b, ended, long, err := readLine(br, nil, 40)
		if err != nil {
			t.Fatal(err)
		}
		if !ended && !long && len(b) == 0 {
			break
		}
		got = append(got, line{string(b), ended, long})
	}
	want := []line{{"abc", true, false}, {strings.Repeat("x", 40), true, false}, {"", true, true}, {"", true, true}, {"end", false, false}}
	if len(got) != len(want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("line %d: got %+v, want %+v", i+1, got[i], want[i])
		}
	}
}

// fullWriter is /dev/full: every write fails with ENOSPC.
type fullWriter struct{}

func (fullWriter) Write([]byte) (int, error) { return 0, syscall.ENOSPC }

// A failed write of the output is a failure of the system: exit 1 with the
// error, never exit 0 and never a usage message.
func TestWriteError(t *testing.T) {
	for _, args := range [][]string{
		{"fmt", "--", "-m", "state", "--state", "NEW"},
		{"fmt", "-o", "ast", "--", "-m", "state", "--state", "NEW"},
		{"translate", "--", "-A", "INPUT", "-m", "state", "--state", "NEW"},
		{"translate", "-o", "bytecode", "--", "-A", "INPUT", "-m", "state", "--state", "NEW"},
		{"version"},
	} {
		var errOut strings.Builder
		code := run(t.Context(), args, strings.NewReader(""), fullWriter{}, &errOut)
		if want := "ctmatch: write standard output: no space left on device\n"; code != exitUnsupported || errOut.String() != want {
			t.Errorf("ctmatch %s > /dev/full: exit %d, stderr %q; want exit 1, %q", shellQuoteArgs(args), code, errOut.String(), want)
		}
	}
}
