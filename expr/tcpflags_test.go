package expr_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ctmatch/ctmatch/expr"
)

func tcpFlags(op expr.Op, mask, v uint32) expr.Match {
	return expr.Payload{Field: expr.FieldTCPFlags, Mask: mask, Op: op, Lo: v}
}

// The TCP flags cases join every wire test: Lower against nft's bytes, Raise
// of nft's bytes and of Lower's, and the text nft reads back.
func init() {
	moreWireCases = append(moreWireCases,
		wireCase{"tcp flags syn", rule(tcp, tcpFlags(expr.OpEq, 0x17, 0x02))},
		wireCase{"tcp flags not syn", rule(tcp, tcpFlags(expr.OpNeq, 0x17, 0x02))},
		wireCase{"tcp flags all none", rule(tcp, tcpFlags(expr.OpEq, 0x3f, 0))},
		wireCase{"tcp flags xmas", rule(tcp, tcpFlags(expr.OpEq, 0x3f, 0x29))},
		wireCase{"tcp flags outside mask", rule(tcp, tcpFlags(expr.OpEq, 0x02, 0x10))},
		wireCase{"tcp flags unmasked", rule(tcp, tcpFlags(expr.OpEq, 0, 0x12))},
		wireCase{"tcp flags ecn cwr", rule(tcp, tcpFlags(expr.OpNeq, 0xc2, 0x80))},
		wireCase{"th flags raw", rule(tcpFlags(expr.OpEq, 0x17, 0x02))},
		wireCase{"ip first fragment tcp dport flags", rule(fragFirst, tcp, dport(expr.OpEq, 22, 0), tcpFlags(expr.OpEq, 0x12, 0x02))},
		wireCase{"ip6 tcp flags", rule(expr.Exthdr{Test: expr.FragFirst}, tcp, tcpFlags(expr.OpNeq, 0x05, 0x04))},
		wireCase{"inet tcp flags", rule(nfIPv4, fragFirst, tcp, tcpFlags(expr.OpEq, 0x17, 0x02))},
	)
}

func TestTCPFlagsText(t *testing.T) {
	for _, tc := range []struct {
		r    expr.Rule
		want string
	}{
		{rule(tcp, tcpFlags(expr.OpEq, 0x17, 0x02)), "tcp flags & (fin|syn|rst|ack) == syn"},
		{rule(tcp, tcpFlags(expr.OpNeq, 0x17, 0x02)), "tcp flags & (fin|syn|rst|ack) != syn"},
		{rule(tcp, tcpFlags(expr.OpEq, 0x3f, 0)), "tcp flags & (fin|syn|rst|psh|ack|urg) == 0x0"},
		{rule(tcp, tcpFlags(expr.OpEq, 0x3f, 0x29)), "tcp flags & (fin|syn|rst|psh|ack|urg) == (fin|psh|urg)"},
		{rule(tcp, tcpFlags(expr.OpEq, 0, 0x12)), "tcp flags == (syn|ack)"},
		{rule(tcp, tcpFlags(expr.OpNeq, 0xc2, 0x80)), "tcp flags & (syn|ecn|cwr) != cwr"},
		{rule(tcpFlags(expr.OpEq, 0x17, 0x02)), "@th,104,8 & 0x17 == 0x2"},
		{rule(fragFirst, tcp, dport(expr.OpEq, 22, 0), tcpFlags(expr.OpEq, 0x12, 0x02)), "ip frag-off & 0x1fff == 0 tcp dport 22 tcp flags & (syn|ack) == syn"},
	} {
		if diff := cmp.Diff(tc.want, tc.r.String()); diff != "" {
			t.Errorf("%v: (-want +got):\n%s", tc.r.Matches, diff)
		}
	}
}

// The bytes of a flags test are nft's: a one-byte load at transport header
// + 13, the mask, and cmp eq or neq (nft --debug=netlink for "tcp flags &
// (fin|syn|rst|ack) == syn").
func TestTCPFlagsLowerLines(t *testing.T) {
	b, err := rule(tcp, tcpFlags(expr.OpNeq, 0x17, 0x02)).Lower(expr.FamilyIP)
	if err != nil {
		t.Fatal(err)
	}
	got, err := expr.DebugLines(b)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"[ meta load l4proto => reg 1 ]",
		"[ cmp eq reg 1 0x00000006 ]",
		"[ payload load 1b @ transport header + 13 => reg 1 ]",
		"[ bitwise reg 1 = ( reg 1 & 0x00000017 ) ^ 0x00000000 ]",
		"[ cmp neq reg 1 0x00000002 ]",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
