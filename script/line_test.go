package script_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/internal/cases"
	"github.com/ctmatch/ctmatch/parse"
	"github.com/ctmatch/ctmatch/script"
)

var at = parse.Position{File: "rules.ctmatch", Line: 7}

// lineFields is what a line says, without where: what must come back when
// the line is printed and read again.
type lineFields struct {
	Op              script.Op
	Family          expr.Family
	Table, Chain    string
	Index           int
	Handle          uint64
	IPv6, NoCounter bool
	Rule            string // canonical
}

func fieldsOf(l *script.Line) lineFields {
	f := lineFields{Op: l.Op, Family: l.Family, Table: l.Table, Chain: l.Chain, Index: l.Index, Handle: l.Handle, IPv6: l.IPv6, NoCounter: l.NoCounter}
	if l.Rule != nil {
		f.Rule = l.Rule.String()
	}
	return f
}

func TestReadLine(t *testing.T) {
	for _, tc := range []struct {
		text   string
		want   lineFields
		string string // what String gives
	}{
		{"add rule inet fw input -- -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT",
			lineFields{Op: script.Add, Family: expr.FamilyInet, Table: "fw", Chain: "input", Rule: "-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"},
			"add rule inet fw input -- -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"},
		// An ip6 table takes ip6tables words; the numbers are decimal; the
		// options come in any order, as --opt=value or --opt value.
		{"insert rule ip6 t c --no-counter --index=010 -- -m conntrack --ctorigsrc 2001:db8::/32",
			lineFields{Op: script.Insert, Family: expr.FamilyIP6, Table: "t", Chain: "c", Index: 10, IPv6: true, NoCounter: true, Rule: "-m conntrack --ctorigsrc 2001:db8::/32"},
			"insert rule ip6 t c --index 10 --no-counter -- -m conntrack --ctorigsrc 2001:db8::/32"},
		// Blanks are spaces and tabs, any number; -6 in an inet table.
		{"\t add \trule  inet fw input -6  --handle 12\t--\t -m state --state NEW  ",
			lineFields{Op: script.Add, Family: expr.FamilyInet, Table: "fw", Chain: "input", Handle: 12, IPv6: true, Rule: "-m state --state NEW"},
			"add rule inet fw input --handle 12 -6 -- -m state --state NEW"},
		// -4 is the default; the words' own quoting is iptables-save's.
		{`add rule ip filter INPUT -4 -- -t filter -m conntrack --ctstate NEW -j "ACCEPT"`,
			lineFields{Op: script.Add, Family: expr.FamilyIP, Table: "filter", Chain: "INPUT", Rule: "-m conntrack --ctstate NEW -j ACCEPT"},
			"add rule ip filter INPUT -- -m conntrack --ctstate NEW -j ACCEPT"},
		// The names are any words but "--".
		{"add rule ip #t --index -- -m state --state NEW",
			lineFields{Op: script.Add, Family: expr.FamilyIP, Table: "#t", Chain: "--index", Rule: "-m state --state NEW"},
			"add rule ip #t --index -- -m state --state NEW"},
		// A rule of no words but -t filter prints them.
		{"add rule ip t c -- -t filter",
			lineFields{Op: script.Add, Family: expr.FamilyIP, Table: "t", Chain: "c"},
			"add rule ip t c -- -t filter"},
		// A chain whose hook is not known takes any match: the hook of
		// a user chain is that of the chains that jump to it.
		{"add rule ip t ufw-not-local -- -m addrtype --dst-type LOCAL --limit-iface-in",
			lineFields{Op: script.Add, Family: expr.FamilyIP, Table: "t", Chain: "ufw-not-local", Rule: "-m addrtype --dst-type LOCAL --limit-iface-in"},
			"add rule ip t ufw-not-local -- -m addrtype --dst-type LOCAL --limit-iface-in"},
		{"", lineFields{}, ""},
		{" \t ", lineFields{}, " \t "},
		{"# add rule ip t c -- -j BOGUS", lineFields{}, "# add rule ip t c -- -j BOGUS"},
		{"   #", lineFields{}, "   #"},
	} {
		l, err := script.ReadLine(tc.text, at, parse.Options{})
		if err != nil {
			t.Errorf("ReadLine(%q):\n%+v", tc.text, err)
			continue
		}
		if diff := cmp.Diff(tc.want, fieldsOf(l)); diff != "" {
			t.Errorf("ReadLine(%q) (-want +got):\n%s", tc.text, diff)
		}
		if l.Pos != at || l.Text != tc.text {
			t.Errorf("ReadLine(%q): Pos %v, Text %q; want %v and the line", tc.text, l.Pos, l.Text, at)
		}
		if got := l.String(); got != tc.string {
			t.Errorf("ReadLine(%q).String() = %q, want %q", tc.text, got, tc.string)
		}
		checkLinePositions(t, l)
	}
}

// checkLinePositions checks that every position of l is where its part is
// written.
func checkLinePositions(t *testing.T, l *script.Line) {
	t.Helper()
	if l.Op == script.None {
		for _, p := range []parse.Pos{l.OpPos, l.FamilyPos, l.TablePos, l.ChainPos, l.IndexPos, l.HandlePos, l.RulePos} {
			if p != parse.NoPos {
				t.Errorf("%q: a position %d in a line with nothing to do", l.Text, p)
			}
		}
		return
	}
	wordAt := func(p parse.Pos) string {
		if !p.IsValid() || int(p) >= len(l.Text) {
			return ""
		}
		s := l.Text[p:]
		if i := strings.IndexAny(s, " \t"); i >= 0 {
			s = s[:i]
		}
		return s
	}
	for _, c := range []struct {
		name string
		pos  parse.Pos
		want string
	}{
		{"OpPos", l.OpPos, l.Op.String()},
		{"FamilyPos", l.FamilyPos, l.Family.String()},
		{"TablePos", l.TablePos, l.Table},
		{"ChainPos", l.ChainPos, l.Chain},
	} {
		if got := wordAt(c.pos); got != c.want {
			t.Errorf("%q: %s %d is at %q, want %q", l.Text, c.name, c.pos, got, c.want)
		}
	}
	for _, c := range []struct {
		name string
		pos  parse.Pos
		n    uint64
	}{{"IndexPos", l.IndexPos, uint64(l.Index)}, {"HandlePos", l.HandlePos, l.Handle}} {
		if c.n == 0 {
			if c.pos != parse.NoPos {
				t.Errorf("%q: %s %d with no number", l.Text, c.name, c.pos)
			}
			continue
		}
		if got := strings.TrimLeft(wordAt(c.pos), "0"); got != fmt.Sprint(c.n) {
			t.Errorf("%q: %s %d is at %q, want %d", l.Text, c.name, c.pos, got, c.n)
		}
	}
	if l.Text[l.RulePos:] != l.Rule.Text {
		t.Errorf("%q: RulePos %d is at %q, want the rule's text %q", l.Text, l.RulePos, l.Text[l.RulePos:], l.Rule.Text)
	}
}

// Positions, by hand: the parts of a line, and the place of a part as a
// person reads it.
func TestLinePositions(t *testing.T) {
	text := "  insert rule inet fw input --index=3 -- -m state --state NEW"
	l, err := script.ReadLine(text, at, parse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := []parse.Pos{l.OpPos, l.FamilyPos, l.TablePos, l.ChainPos, l.IndexPos, l.HandlePos, l.RulePos}
	want := []parse.Pos{2, 14, 19, 22, 36, parse.NoPos, 41}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("positions of %q (-want +got):\n%s", text, diff)
	}
	if got, want := l.Position(l.IndexPos).String(), "rules.ctmatch:7:37"; got != want {
		t.Errorf("Position(IndexPos) = %s, want %s", got, want)
	}
	if got, want := l.Position(parse.NoPos).String(), "rules.ctmatch:7"; got != want {
		t.Errorf("Position(NoPos) = %s, want %s", got, want)
	}
}

// A bad line is a *parse.Error at the offending word of the line (marked
// with cases.Marker), whatever part of the line is wrong.
func TestReadLineErrors(t *testing.T) {
	for _, tc := range []struct {
		text string // the line, with cases.Marker where the error points
		msg  string // the whole message, or with "…" at its end a prefix of it
		kind parse.ErrorKind
		hint string
	}{
		{"/*ERR*/replace rule inet fw input -- -m conntrack --ctstate NEW", `expected add or insert, found "replace"`, parse.Invalid, ""},
		{"/*ERR*/-- -m conntrack --ctstate NEW", `expected add or insert, found "--"`, parse.Invalid, ""},
		{"/*ERR*/-A INPUT -m conntrack --ctstate NEW -j ACCEPT", `expected add or insert, found "-A"`, parse.Invalid, "a line of iptables words belongs to an iptables-save file, which starts with its *TABLE line (*filter), its chains (:INPUT ACCEPT [0:0]) and ends each table with COMMIT; an apply line reads: add rule FAMILY TABLE CHAIN -- WORDS"},
		{"/*ERR*/--insert INPUT -j ACCEPT", `expected add or insert, found "--insert"`, parse.Invalid, "a line of iptables words …"},
		{"add /*ERR*/rul inet fw input -- -m conntrack --ctstate NEW", `expected "rule" after add, found "rul"`, parse.Invalid, ""},
		{"add/*ERR*/", `expected "rule" after add, found the end of the line`, parse.Invalid, ""},
		{"insert rule/*ERR*/", `expected FAMILY, found the end of the line (a line reads: insert rule FAMILY TABLE CHAIN -- WORDS)`, parse.Invalid, ""},
		{"add rule inet fw/*ERR*/", `expected CHAIN, found the end of the line (a line reads: add rule FAMILY TABLE CHAIN -- WORDS)`, parse.Invalid, ""},
		{"add rule inet fw /*ERR*/-- -m state --state NEW", `expected CHAIN, found "--" (a line reads: add rule FAMILY TABLE CHAIN -- WORDS)`, parse.Invalid, ""},
		{"add rule /*ERR*/netdev fw input -- -m state --state NEW", `unknown table family "netdev": expected ip, ip6 or inet`, parse.Invalid, ""},
		{"add rule /*ERR*/INET fw input -- -m state --state NEW", `unknown table family "INET": expected ip, ip6 or inet`, parse.Invalid, ""},
		{"add rule inet fw input /*ERR*/--bogus -- -m conntrack --ctstate NEW", `unknown option "--bogus": expected --index N, --handle H, -4, -6, --no-counter or "--" before the iptables words`, parse.Invalid, ""},
		{"add rule inet fw input /*ERR*/-m conntrack --ctstate NEW", `unknown option "-m": expected …`, parse.Invalid, ""},
		{"add rule inet fw input /*ERR*/extra -- -m state --state NEW", `unexpected "extra" after the chain: the iptables words go after "--"`, parse.Invalid, ""},
		{"insert rule inet fw input --index /*ERR*/0 -- -m conntrack --ctstate NEW", `bad --index "0": expected a group number, from 1`, parse.Invalid, ""},
		{"add rule inet fw input --index=/*ERR*/x -- -m state --state NEW", `bad --index "x": expected a group number, from 1`, parse.Invalid, ""},
		{"add rule inet fw input --index=/*ERR*/ -- -m state --state NEW", `bad --index the end of the line: expected a group number, from 1`, parse.Invalid, ""},
		{"add rule inet fw input --index /*ERR*/+1 -- -m state --state NEW", `bad --index "+1": expected a group number, from 1`, parse.Invalid, ""},
		{"add rule inet fw input --index /*ERR*/9223372036854775808 -- -m state --state NEW", `bad --index "9223372036854775808": expected a group number, from 1`, parse.Invalid, ""},
		{"add rule inet fw input --handle /*ERR*/0x10 -- -m state --state NEW", `bad --handle "0x10": expected a rule handle, from 1`, parse.Invalid, ""},
		{"add rule inet fw input --handle /*ERR*/-- -m state --state NEW", `--handle needs a number`, parse.Invalid, ""},
		{"add rule inet fw input --index/*ERR*/", `--index needs a number`, parse.Invalid, ""},
		{"add rule inet fw input --index 1 /*ERR*/--handle 2 -- -m state --state NEW", `--index and --handle cannot be used together`, parse.Invalid, ""},
		{"add rule inet fw input /*ERR*/-6=1 -- -m state --state NEW", `-6 takes no value`, parse.Invalid, ""},
		{"add rule inet fw input /*ERR*/--no-counter= -- -m state --state NEW", `--no-counter takes no value`, parse.Invalid, ""},
		{"add rule inet fw input -4 -6 /*ERR*/-- -m state --state NEW", `-4 and -6 cannot be used together`, parse.Invalid, ""},
		{"add rule /*ERR*/ip fw input -6 -- -m state --state NEW", `an ip table takes iptables words: leave out -6, or write into an ip6 or inet table`, parse.Invalid, ""},
		{"add rule /*ERR*/ip6 fw input -4 -- -m state --state NEW", `an ip6 table takes ip6tables words: leave out -4, or write into an ip or inet table`, parse.Invalid, ""},
		{"add rule inet fw input --no-counter/*ERR*/", `expected "--" and the iptables words`, parse.Invalid, ""},
		{"add rule inet fw input --/*ERR*/", `no iptables words after "--"`, parse.Invalid, ""},
		{"add rule inet fw input -- \t /*ERR*/", `no iptables words after "--"`, parse.Invalid, ""},
		// The words: parse's errors, at their place in the line.
		{"add rule inet fw input -- /*ERR*/-A input -m conntrack --ctstate NEW", `-A input among the words: in apply lines the chain is the positional CHAIN`, parse.Invalid,
			`give only -t, the matches and the target after "--"`},
		{"insert rule inet fw input --  /*ERR*/-I input 2 -m conntrack --ctstate NEW", `-I input among the words: in apply lines the chain is the positional CHAIN`, parse.Invalid,
			`give only -t, the matches and the target after "--"; the position is insert rule's --index 2`},
		// Any other command among the words is bad usage too.
		{"add rule inet fw input -- -s 10.0.0.1 /*ERR*/-D input", `-D among the words: in apply lines the words carry no command, only -t, the matches and the target`, parse.Invalid,
			`ctmatch delete rule deletes a rule by its handle (ctmatch list -a shows them)`},
		{"add rule inet fw input -- /*ERR*/-N x", `-N among the words: in apply lines the words carry no command, only -t, the matches and the target`, parse.Invalid, ""},
		// -A outweighs a word ctmatch does not support.
		{"add rule inet fw input -- /*ERR*/-A input -m conntrack --ctstate NEW -j NFQUEUE", `-A input among the words: …`, parse.Invalid, `give only …`},
		{"add rule ip6 fw input -- -m conntrack --ctstate NEW,/*ERR*/BOGUS", `unknown conntrack state "BOGUS"`, parse.Invalid,
			"expected INVALID, NEW, ESTABLISHED, RELATED, UNTRACKED, SNAT or DNAT"},
		{"add rule inet fw input -- -m conntrack --ctstate NEW -j /*ERR*/NFQUEUE", `target NFQUEUE is an iptables target that ctmatch does not support yet (nor check its options)`, parse.Unsupported, ""},
		{"add\trule\tinet\tfw\tinput\t--index\t/*ERR*/0\t--\t-m state --state NEW", `bad --index "0": …`, parse.Invalid, ""},
		// The words' family: iptables words by default, ip6tables words
		// in an ip6 table or with -6.
		{"add rule ip fw input -- -m conntrack --ctorigsrc /*ERR*/2001:db8::1", `IPv6 address 2001:db8::1 in an iptables rule: …`, parse.Invalid, "an IPv6 address is for ip6tables words (-6; in an ip6 or inet table)"},
		{"add rule inet fw input -- -m conntrack --ctorigsrc /*ERR*/2001:db8::1", `IPv6 address 2001:db8::1 in an iptables rule: …`, parse.Invalid, "an IPv6 address is for ip6tables words (-6; in an ip6 or inet table)"},
		{"add rule ip6 fw input -- -m conntrack --ctorigsrc /*ERR*/10.0.0.1", `IPv4 address 10.0.0.1 in an ip6tables rule: …`, parse.Invalid, "an IPv4 address is for iptables words (without -6; in an ip or inet table)"},
		{"add rule inet fw input -6 -- -m conntrack --ctorigsrc /*ERR*/10.0.0.1", `IPv4 address 10.0.0.1 in an ip6tables rule: …`, parse.Invalid, "an IPv4 address is for iptables words (without -6; in an ip or inet table)"},
		// The chain's hook, when the chain is named like a built-in chain
		// of the words' table.
		{"add rule inet fw output -- -m addrtype --dst-type LOCAL /*ERR*/--limit-iface-in", `addrtype --limit-iface-in is not valid in chain output: the kernel allows it only in PREROUTING, INPUT, FORWARD`, parse.Invalid, ""},
		{"add rule ip nat PREROUTING -- -t nat -m addrtype /*ERR*/--limit-iface-out --dst-type LOCAL", `addrtype --limit-iface-out is not valid in chain PREROUTING: …`, parse.Invalid, ""},
		// TCPMSS is refused, but its --clamp-mss-to-pmtu in a chain of a
		// hook the kernel refuses it in makes the rule invalid.
		{"add rule ip fw input -- -t mangle -p tcp -j TCPMSS /*ERR*/--clamp-mss-to-pmtu", `TCPMSS --clamp-mss-to-pmtu is not valid in chain input: the kernel allows it only in FORWARD, OUTPUT, POSTROUTING`, parse.Invalid, ""},
		{"add rule ip6 fw PREROUTING -- -t mangle -p tcp -j TCPMSS --set-mss 1400 /*ERR*/--clamp-mss-to-pmtu", `TCPMSS --clamp-mss-to-pmtu is not valid in chain PREROUTING: …`, parse.Invalid, ""},
		{"add rule ip fw input -- -t mangle -p tcp -j /*ERR*/TCPMSS --clamp-mss-to-pmtu --set-mss 1400", `target TCPMSS is valid iptables, but ctmatch does not translate it: …`, parse.Unsupported, "keep this rule in iptables: …"},
		{"add rule ip fw forward -- -t mangle -p tcp -j /*ERR*/TCPMSS --clamp-mss-to-pmtu", `target TCPMSS is valid iptables, but ctmatch does not translate it: …`, parse.Unsupported, "keep this rule in iptables: …"},
	} {
		text, pos := cases.InvalidCase{Text: tc.text}.Rule()
		if pos == parse.NoPos {
			t.Fatalf("case %q has no %s", tc.text, cases.Marker)
		}
		l, err := script.ReadLine(text, at, parse.Options{})
		if err == nil {
			t.Errorf("ReadLine(%q) = %q, want an error", text, l)
			continue
		}
		var e *parse.Error
		if !errors.As(err, &e) {
			t.Errorf("ReadLine(%q): %T %v, want a *parse.Error", text, err, err)
			continue
		}
		if e.Pos != pos {
			want := &parse.Error{Pos: pos, Text: text, Word: e.Word}
			t.Errorf("ReadLine(%q): error at %d, want %d (%s)\ngot:\n%s\nwant:\n%s", text, e.Pos, pos, e.Msg, e.Caret(), want.Caret())
		}
		if e.Text != text || !strings.HasPrefix(text[e.Pos:], e.Word) {
			t.Errorf("ReadLine(%q): error Text %q, Word %q: want the line, and the word at the error", text, e.Text, e.Word)
		}
		if atEnd := int(e.Pos) == len(text); atEnd && e.Word != "" {
			t.Errorf("ReadLine(%q): error at the end of the line with word %q", text, e.Word)
		}
		if !matches(e.Msg, tc.msg) || !matches(e.Hint, tc.hint) {
			t.Errorf("ReadLine(%q): message %q, hint %q; want %q, %q", text, e.Msg, e.Hint, tc.msg, tc.hint)
		}
		if e.Kind != tc.kind {
			t.Errorf("ReadLine(%q): kind %d, want %d", text, e.Kind, tc.kind)
		}
	}
}

// matches says whether s is want, or starts with want's text before "…".
func matches(s, want string) bool {
	if prefix, ok := strings.CutSuffix(want, "…"); ok {
		return strings.HasPrefix(s, prefix) && s != ""
	}
	return s == want
}

// WordsError moves an error about the rule's words to its place in the
// line, and leaves other errors alone.
func TestWordsError(t *testing.T) {
	l, err := script.ReadLine("add rule inet fw input --  -m state --state NEW -j ACCEPT", at, parse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	in := &parse.Error{Pos: 24, Word: "ACCEPT", Text: l.Rule.Text, Msg: "m"}
	got := l.WordsError(fmt.Errorf("wrapped: %w", in))
	want := &parse.Error{Pos: 51, Word: "ACCEPT", Text: l.Text, Msg: "m"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("WordsError (-want +got):\n%s", diff)
	}
	if l.Text[51:] != "ACCEPT" {
		t.Errorf("the test is wrong: %q at 51", l.Text[51:])
	}
	other := errors.New("col 3: not a parse error")
	if got := l.WordsError(other); got != other {
		t.Errorf("WordsError(%v) = %v, want it unchanged", other, got)
	}
}
