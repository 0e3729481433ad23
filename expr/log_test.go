package expr_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/internal/ktest"
)

func logStmt(prefix string, level uint8, f expr.LogFlags) expr.Rule {
	return stmts(nil, expr.Log{Prefix: prefix, Level: level, Flags: f})
}

// The log cases, with the nft text each renders as.
var logCases = []struct {
	name string
	rule expr.Rule
	text string
}{
	{"log", logStmt("", 4, 0), "log"},
	{"log prefix", logStmt("abc ", 4, 0), `log prefix "abc "`},
	{"log level debug", logStmt("", 7, 0), "log level debug"},
	{"log level emerg", logStmt("", 0, 0), "log level emerg"},
	{"log level alert", logStmt("", 1, 0), "log level alert"},
	{"log level crit", logStmt("", 2, 0), "log level crit"},
	{"log level err", logStmt("", 3, 0), "log level err"},
	{"log level notice", logStmt("", 5, 0), "log level notice"},
	{"log level info", logStmt("", 6, 0), "log level info"},
	{"log tcp sequence", logStmt("", 4, expr.LogTCPSeq), "log flags tcp sequence"},
	{"log tcp options", logStmt("", 4, expr.LogTCPOpt), "log flags tcp options"},
	{"log tcp both", logStmt("x", 6, expr.LogTCPSeq|expr.LogTCPOpt), `log prefix "x" level info flags tcp sequence,options`},
	{"log ip options", logStmt("", 4, expr.LogIPOpt), "log flags ip options"},
	{"log skuid", logStmt("", 4, expr.LogUID), "log flags skuid"},
	{"log ether", logStmt("", 4, expr.LogMacDecode), "log flags ether"},
	{"log some flags", logStmt("", 1, expr.LogTCPOpt|expr.LogUID|expr.LogMacDecode), "log level alert flags tcp options flags skuid flags ether"},
	{"log flags all", logStmt("p", 4, 0x2f), `log prefix "p" flags all`},
	{"log long prefix", logStmt(strings.Repeat("p", 127), 4, 0), `log prefix "` + strings.Repeat("p", 127) + `"`},
	{"counter log", expr.Rule{Counter: true, Stmts: []expr.Stmt{expr.Log{Level: 4}}, Verdict: expr.Verdict{Kind: expr.VerdictDrop}}, "counter log drop"},
	{"log group 0", stmts(nil, expr.LogGroup{}), "log group 0"},
	{"log group all", stmts(nil, expr.LogGroup{Prefix: "x y", Group: 5, Snaplen: 100, HasSnaplen: true, QThreshold: 3}), `log prefix "x y" group 5 snaplen 100 queue-threshold 3`},
	{"log group snaplen 0", stmts(nil, expr.LogGroup{Group: 65535, HasSnaplen: true}), "log group 65535 snaplen 0"},
	{"log group snaplen max", stmts(nil, expr.LogGroup{Group: 1, Snaplen: 4294967295, HasSnaplen: true}), "log group 1 snaplen 4294967295"},
	{"log group threshold", stmts([]expr.Match{tcp}, expr.LogGroup{Group: 2, QThreshold: 65535}), "meta l4proto tcp log group 2 queue-threshold 65535"},
	{"inet log", stmts([]expr.Match{nfIPv6}, expr.Log{Level: 3}), "meta nfproto ipv6 log level err"},
}

func init() {
	for _, c := range logCases {
		moreWireCases = append(moreWireCases, wireCase{c.name, c.rule})
	}
}

func TestLogText(t *testing.T) {
	for _, c := range logCases {
		if got := c.rule.String(); got != c.text {
			t.Errorf("%s: %q, want %q", c.name, got, c.text)
		}
	}
}

func TestLogLowerRefuses(t *testing.T) {
	for _, c := range []struct {
		name string
		s    expr.Stmt
		want string
	}{
		{"level 8", expr.Log{Level: 8}, "log level 8"},
		{"flag nflog", expr.Log{Level: 4, Flags: 0x10}, "log flags 0x10"},
		{"quote", expr.Log{Level: 4, Prefix: `a"b`}, "double quote"},
		{"dollar", expr.LogGroup{Prefix: "a$b"}, "double quote, $"},
		{"too long", expr.Log{Level: 4, Prefix: strings.Repeat("p", 128)}, "128 bytes"},
		{"snaplen without flag", expr.LogGroup{Snaplen: 5}, "snaplen without"},
	} {
		_, err := stmts(nil, c.s).Lower(expr.FamilyIP)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Lower: %v, want an error with %q", c.name, err, c.want)
		}
	}
}

// nft's other spellings of a log give the same statement: the default
// level written out, a threshold of 0; a level nft has beyond syslog's
// (audit) and a log to a group with a level are refused.
func TestLogNftSpellings(t *testing.T) {
	ns := ktest.Namespace(t, "nft")
	same := []struct {
		text string
		want expr.Stmt
	}{
		{"log level warn", expr.Log{Level: 4}},
		{"log level warn flags all", expr.Log{Level: 4, Flags: 0x2f}},
		{"log flags tcp options,sequence", expr.Log{Level: 4, Flags: 3}},
		{"log group 3 queue-threshold 0", expr.LogGroup{Group: 3}},
		{"log snaplen 10 group 3", expr.LogGroup{Group: 3, Snaplen: 10, HasSnaplen: true}},
	}
	var texts []string
	for _, s := range same {
		texts = append(texts, s.text)
	}
	texts = append(texts, "log level audit")
	sent := nftSends(t, ns, nftScript("ip", texts...))
	if len(sent) != len(texts) {
		t.Fatalf("nft sent %d rules for %d texts", len(sent), len(texts))
	}
	for i, s := range same {
		checkDebug(t, "ip", s.text, sent[i])
		got, err := expr.Raise(expr.FamilyIP, sent[i].exprs)
		if err != nil {
			t.Errorf("%q: Raise: %v", s.text, err)
			continue
		}
		if diff := cmp.Diff(stmts(nil, s.want), got); diff != "" {
			t.Errorf("%q: Raise (-want +got):\n%s", s.text, diff)
		}
	}
	if _, err := expr.Raise(expr.FamilyIP, sent[len(same)].exprs); err == nil || !strings.Contains(err.Error(), "audit") {
		t.Errorf("log level audit: Raise: %v, want a refusal naming audit", err)
	}
}
