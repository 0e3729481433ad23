package kernel

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/internal/nfnl"
)

// ctExprs is an expression list of one ct load with key, written by hand
// (the kernel refuses key 255 with EOPNOTSUPP).
func ctExprs(key uint32) []byte {
	return encodeAttrs(func(ae *netlink.AttributeEncoder) {
		ae.Nested(nfnl.AttrListElem, func(el *netlink.AttributeEncoder) error {
			el.String(nfnl.AttrExprName, "ct")
			el.Nested(nfnl.AttrExprData, func(d *netlink.AttributeEncoder) error {
				d.Uint32(1, 1)   // NFTA_CT_DREG: NFT_REG_1
				d.Uint32(2, key) // NFTA_CT_KEY
				return nil
			})
			return nil
		})
	})
}

// unhex reads hex digits, ignoring spaces, newlines and comments after '#'.
func unhex(t *testing.T, s string) []byte {
	t.Helper()
	var digits strings.Builder
	for _, line := range strings.Split(s, "\n") {
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		digits.WriteString(strings.Join(strings.Fields(line), ""))
	}
	b, err := hex.DecodeString(digits.String())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func littleEndian(t *testing.T) {
	t.Helper()
	if binary.NativeEndian.Uint16([]byte{1, 0}) != 1 {
		t.Skip("the expected bytes are written for a little-endian host")
	}
}

// The bytes of a small batch, spelled out: BATCH_BEGIN with the generation
// id, NEWTABLE, NEWCHAIN of a base chain, NEWRULE with userdata, DELRULE,
// BATCH_END; consecutive sequence numbers; ACK on every message, ECHO on
// NEWRULE, EXCL on what is created.
func TestBatchBytes(t *testing.T) {
	littleEndian(t)
	k := newFake()
	c := k.conn()
	tx := c.BeginAt(7)
	tx.AddTable(expr.FamilyInet, "fw", nil)
	tx.AddChain(expr.FamilyInet, "fw", "in", &BaseChain{Hook: HookInput, Priority: -5}, nil)
	tx.AddRule(expr.FamilyInet, "fw", "in", RuleSpec{Exprs: []byte{8, 0, 1, 0, 0xaa, 0xbb, 0xcc, 0xdd}, UserData: []byte("abc")})
	tx.DeleteRule(expr.FamilyInet, "fw", "in", 9)
	if _, err := tx.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := unhex(t, `
		1c000000 1000 0500 01000000 00000000  # BATCH_BEGIN, REQUEST|ACK, seq 1
		00 00 000a                            # AF_UNSPEC, v0, res_id NFNL_SUBSYS_NFTABLES (big endian)
		0800 0100 00000007                    # NFNL_BATCH_GENID 7

		1c000000 000a 0506 02000000 00000000  # NEWTABLE, REQUEST|ACK|EXCL|CREATE, seq 2
		01 00 0000                            # NFPROTO_INET
		0700 0100 667700 00                   # NFTA_TABLE_NAME "fw"

		4c000000 030a 0506 03000000 00000000  # NEWCHAIN, REQUEST|ACK|EXCL|CREATE, seq 3
		01 00 0000
		0700 0100 667700 00                   # NFTA_CHAIN_TABLE "fw"
		0700 0300 696e00 00                   # NFTA_CHAIN_NAME "in"
		0b00 0700 66696c74657200 00           # NFTA_CHAIN_TYPE "filter" (type, policy, hook: nft's order)
		0800 0500 00000001                    # NFTA_CHAIN_POLICY NF_ACCEPT
		1400 0480                             # NFTA_CHAIN_HOOK, nested
		  0800 0100 00000001                  #   NFTA_HOOK_HOOKNUM NF_INET_LOCAL_IN
		  0800 0200 fffffffb                  #   NFTA_HOOK_PRIORITY -5

		38000000 060a 0d0c 04000000 00000000  # NEWRULE, REQUEST|ACK|ECHO|CREATE|APPEND, seq 4
		01 00 0000
		0700 0100 667700 00                   # NFTA_RULE_TABLE "fw"
		0700 0200 696e00 00                   # NFTA_RULE_CHAIN "in"
		0c00 0480 0800 0100 aabbccdd          # NFTA_RULE_EXPRESSIONS, nested, as given
		0700 0700 616263 00                   # NFTA_RULE_USERDATA "abc"

		30000000 080a 0500 05000000 00000000  # DELRULE, REQUEST|ACK, seq 5
		01 00 0000
		0700 0100 667700 00                   # NFTA_RULE_TABLE
		0700 0200 696e00 00                   # NFTA_RULE_CHAIN
		0c00 0300 0000000000000009            # NFTA_RULE_HANDLE 9

		14000000 1100 0500 06000000 00000000  # BATCH_END, REQUEST|ACK, seq 6
		00 00 000a
	`)
	if len(k.sent) != 1 {
		t.Fatalf("%d sends, want 1 (one sendmsg per transaction)", len(k.sent))
	}
	if diff := cmp.Diff(hex.Dump(want), hex.Dump(k.sent[0])); diff != "" {
		t.Errorf("batch bytes (-want +got):\n%s", diff)
	}
}

// Insert and positions: an inserted rule has no NLM_F_APPEND; a position
// goes into NFTA_RULE_POSITION.
func TestRuleFlagsAndPosition(t *testing.T) {
	k := newFake()
	tx := k.conn().BeginAt(7)
	tx.AddRule(expr.FamilyIP, "t", "c", RuleSpec{Exprs: testExprs})
	tx.AddRule(expr.FamilyIP, "t", "c", RuleSpec{Exprs: testExprs, Insert: true})
	tx.AddRule(expr.FamilyIP, "t", "c", RuleSpec{Exprs: testExprs, Position: 42})
	tx.AddRule(expr.FamilyIP, "t", "c", RuleSpec{Exprs: testExprs, Position: 43, Insert: true})
	if _, err := tx.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}
	msgs, err := nfnl.SplitMessages(k.sent[0])
	if err != nil {
		t.Fatal(err)
	}
	type got struct {
		Flags    uint16
		Position uint64
		Family   expr.Family
	}
	var gots []got
	for _, m := range msgs[1 : len(msgs)-1] {
		r, err := parseRule(m)
		if err != nil {
			t.Fatal(err)
		}
		gots = append(gots, got{m.Flags, r.Position, family(m)})
	}
	base := uint16(unix.NLM_F_REQUEST | unix.NLM_F_ACK | unix.NLM_F_ECHO | unix.NLM_F_CREATE)
	want := []got{
		{base | unix.NLM_F_APPEND, 0, expr.FamilyIP},
		{base, 0, expr.FamilyIP},
		{base | unix.NLM_F_APPEND, 42, expr.FamilyIP},
		{base, 43, expr.FamilyIP},
	}
	if diff := cmp.Diff(want, gots); diff != "" {
		t.Errorf("rule messages (-want +got):\n%s", diff)
	}
}

// Handles come from the echoes, in the order of the AddRule calls, whatever
// else the transaction holds.
func TestCommitHandles(t *testing.T) {
	k := newFake()
	c := k.conn()
	tx, err := c.Begin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if tx.Generation() != 7 {
		t.Fatalf("Begin read generation %d, want 7", tx.Generation())
	}
	tx.AddTable(expr.FamilyInet, "t", nil)
	tx.AddChain(expr.FamilyInet, "t", "c", nil, nil)
	tx.AddRule(expr.FamilyInet, "t", "c", RuleSpec{Exprs: testExprs})
	tx.DeleteRule(expr.FamilyInet, "t", "c", 5)
	tx.AddRule(expr.FamilyInet, "t", "c", RuleSpec{Exprs: testExprs})
	res, err := tx.Commit(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := Result{Committed: true, Generation: 8, Handles: []uint64{100, 101}}
	if diff := cmp.Diff(want, res, cmp.FilterPath(func(p cmp.Path) bool { return p.String() == "Stats" }, cmp.Ignore())); diff != "" {
		t.Errorf("result (-want +got):\n%s", diff)
	}
	if res.Stats.Acks != 7 || res.Stats.Echoes != 2 || res.Stats.Messages != 7 {
		t.Errorf("stats = %+v, want 7 acks (BATCH_BEGIN, BATCH_END and 5 changes), 2 echoes, 7 messages", res.Stats)
	}
	if _, err := tx.Commit(context.Background()); err == nil {
		t.Error("a second Commit of the same transaction succeeded")
	}
}

// An error is mapped back by sequence number to its change: the error names
// the operation, the object, the source and what the extended ACK pointed
// at, wraps the errno, and says nothing was changed.
func TestErrorMapsToChange(t *testing.T) {
	for _, tc := range []struct {
		name    string
		build   func(tx *Tx)
		fail    int
		errno   unix.Errno
		offset  func(tx *Tx) int // into the failing message
		msg     string
		missing int
		want    string
		hint    string // the advice, apart from the message
	}{{
		name: "expression",
		build: func(tx *Tx) {
			for i := 1; i <= 5; i++ {
				tx.AddRule(expr.FamilyInet, "ctmatch", "input", RuleSpec{Exprs: ctExprs(uint32(i)), Source: "rules.txt:" + string(rune('0'+i)) + ": -m conntrack"})
			}
		},
		fail: 3, errno: unix.EOPNOTSUPP,
		// The kernel points at the NFTA_LIST_ELEM of the expression.
		offset: func(tx *Tx) int {
			return nfnl.BodyOffset + nfnl.Align(4+len("ctmatch")+1) + nfnl.Align(4+len("input")+1) + 4
		},
		want: "add rule inet ctmatch input (rules.txt:4: -m conntrack): expression 1 (ct): the kernel lacks a feature this rule needs: operation not supported; the kernel refused the whole transaction, nothing was changed",
	}, {
		name: "expression attribute with message",
		build: func(tx *Tx) {
			tx.AddRule(expr.FamilyIP, "t", "c", RuleSpec{Exprs: append(testExprs, ctExprs(1)...)})
		},
		fail: 0, errno: unix.EINVAL, msg: "bad key",
		// The key attribute inside the second expression's data: list
		// elem header, name "ct" (8), data header, dreg (8).
		offset: func(tx *Tx) int {
			return nfnl.BodyOffset + 8 + 8 + 4 + len(testExprs) + 4 + 8 + 4 + 8
		},
		want: `add rule ip t c: expression 2 (ct), its attribute 2: invalid argument (kernel: "bad key")`,
	}, {
		name: "two failures",
		build: func(tx *Tx) {
			tx.AddTable(expr.FamilyIP, "t", nil)
			tx.AddRule(expr.FamilyIP, "t", "c", RuleSpec{Exprs: testExprs})
			tx.AddRule(expr.FamilyIP, "t", "c", RuleSpec{Exprs: testExprs})
		},
		fail: 1, errno: unix.EINVAL, offset: func(tx *Tx) int { return -1 },
		want: "add rule ip t c: invalid argument; the kernel refused the whole transaction, nothing was changed (1 more change failed too)",
	}, {
		name:   "no such table",
		build:  func(tx *Tx) { tx.AddRule(expr.FamilyInet, "fw", "input", RuleSpec{Exprs: testExprs}) },
		errno:  unix.ENOENT,
		offset: func(tx *Tx) int { return nfnl.BodyOffset },
		want:   "add rule inet fw input: no such table inet fw",
		hint:   "create it, or use --create",
	}, {
		name: "no such chain",
		build: func(tx *Tx) {
			tx.AddTable(expr.FamilyInet, "fw", nil)
			tx.AddRule(expr.FamilyInet, "fw", "input", RuleSpec{Exprs: testExprs, Source: "line 2"})
		},
		fail: 1, errno: unix.ENOENT,
		offset: func(tx *Tx) int { return nfnl.BodyOffset + 8 },
		want:   "add rule inet fw input (line 2): no such chain input in table inet fw; the kernel refused the whole transaction, nothing was changed",
		hint:   "create it, or use --create",
	}, {
		name:   "enoent without extended ack",
		build:  func(tx *Tx) { tx.AddRule(expr.FamilyIP6, "fw", "input", RuleSpec{Exprs: testExprs}) },
		errno:  unix.ENOENT,
		offset: func(tx *Tx) int { return -1 },
		want:   "add rule ip6 fw input: no such table ip6 fw or chain input in it, or the kernel lacks a feature this rule needs: no such file or directory",
		hint:   "create them, or use --create",
	}, {
		name:   "no such handle",
		build:  func(tx *Tx) { tx.DeleteRule(expr.FamilyInet, "fw", "input", 12) },
		errno:  unix.ENOENT,
		offset: func(tx *Tx) int { return nfnl.BodyOffset + 8 + 12 },
		want:   "delete rule inet fw input handle 12: no such rule with handle 12 in chain inet fw input",
	}, {
		name:   "table exists",
		build:  func(tx *Tx) { tx.AddTable(expr.FamilyInet, "fw", nil) },
		errno:  unix.EEXIST,
		offset: func(tx *Tx) int { return nfnl.BodyOffset },
		want:   "add table inet fw: table inet fw exists",
	}, {
		name:   "table of another owner",
		build:  func(tx *Tx) { tx.AddRule(expr.FamilyInet, "ctmatch", "input", RuleSpec{Exprs: testExprs}) },
		errno:  unix.EPERM,
		offset: func(tx *Tx) int { return nfnl.BodyOffset },
		want:   "add rule inet ctmatch input: table inet ctmatch is owned by another process: operation not permitted",
	}, {
		name:    "missing attribute",
		build:   func(tx *Tx) { tx.AddChain(expr.FamilyInet, "t", "c", nil, nil) },
		errno:   unix.EINVAL,
		offset:  func(tx *Tx) int { return -1 },
		missing: 3,
		msg:     "missing attribute",
		want:    `add chain inet t c: missing attribute 3: invalid argument (kernel: "missing attribute")`,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			k := newFake()
			tx := k.conn().BeginAt(7)
			tc.build(tx)
			k.fail = map[int]fakeErr{tc.fail: {errno: tc.errno, offset: tc.offset(tx), msg: tc.msg, missing: tc.missing}}
			if tc.name == "two failures" {
				k.fail[2] = fakeErr{errno: unix.EINVAL, offset: -1}
			}
			res, err := tx.Commit(context.Background())
			if err == nil {
				t.Fatal("Commit succeeded")
			}
			if err.Error() != tc.want {
				t.Errorf("error:\n got %s\nwant %s", err, tc.want)
			}
			if !errors.Is(err, tc.errno) {
				t.Errorf("errors.Is(err, %v) is false", tc.errno)
			}
			var e *Error
			if !errors.As(err, &e) || e.Index != tc.fail {
				t.Errorf("error index = %+v, want %d", e, tc.fail)
			}
			if e != nil && e.Hint != tc.hint {
				t.Errorf("hint %q, want %q", e.Hint, tc.hint)
			}
			if res.Committed || k.gen != 7 {
				t.Errorf("committed = %v, generation %d, want nothing changed", res.Committed, k.gen)
			}
		})
	}
}

// Errors about the whole batch: ERESTART for a stale generation is a
// concurrent change; EPERM (no CAP_NET_ADMIN) names the first change and
// counts the others.
func TestBatchErrors(t *testing.T) {
	k := newFake()
	c := k.conn()
	tx := c.BeginAt(6) // stale: the fake is at 7
	tx.AddTable(expr.FamilyInet, "fw", nil)
	tx.AddRule(expr.FamilyInet, "fw", "input", RuleSpec{Exprs: testExprs})
	_, err := tx.Commit(context.Background())
	if !errors.Is(err, ErrConcurrentChange) || !errors.Is(err, unix.ERESTART) {
		t.Fatalf("stale generation: %v, want ErrConcurrentChange wrapping ERESTART", err)
	}
	want := "add table inet fw (and 1 more change in the transaction): concurrent change: the ruleset changed after generation 6, and the kernel refused the whole transaction; nothing was changed"
	if err.Error() != want {
		t.Errorf("error:\n got %s\nwant %s", err, want)
	}
	if e := (*Error)(nil); !errors.As(err, &e) || e.Hint != "read the ruleset again and retry" {
		t.Errorf("hint of %v: %+v, want the advice to read again and retry", err, e)
	}

	k.permDenied = true
	tx = c.BeginAt(7)
	tx.AddRule(expr.FamilyInet, "ctmatch", "input", RuleSpec{Exprs: testExprs, Source: "argv"})
	_, err = tx.Commit(context.Background())
	want = "add rule inet ctmatch input (argv): operation not permitted (needs CAP_NET_ADMIN)"
	if err == nil || err.Error() != want || !errors.Is(err, unix.EPERM) {
		t.Errorf("EPERM:\n got %v\nwant %s", err, want)
	}
	_, err = c.Begin(context.Background())
	want = "get generation: operation not permitted (needs CAP_NET_ADMIN)"
	if err == nil || err.Error() != want {
		t.Errorf("EPERM on Begin:\n got %v\nwant %s", err, want)
	}
}

// Lost acknowledgements: when the generation moved by exactly one, the
// batch was committed; when it did not move, it was refused; otherwise the
// outcome is unknown.
func TestLostAcks(t *testing.T) {
	for _, tc := range []struct {
		name        string
		fail        bool // the batch itself fails
		otherCommit bool
		genFails    bool
		want        error
		committed   bool
		text        string
		hint        string
	}{
		{name: "committed", want: ErrAcksLost, committed: true,
			text: "add rule inet t c (and 1 more change in the transaction): committed (acknowledgements lost): the kernel's replies were lost (recvmsg: no buffer space available), but the generation moved from 7 to 8, so the transaction was applied; 2 rule handles are unknown"},
		{name: "someone else committed too", otherCommit: true, want: ErrOutcomeUnknown,
			text: "add rule inet t c (and 1 more change in the transaction): outcome unknown: the kernel's replies were lost (recvmsg: no buffer space available), and the generation moved from 7 to 9", hint: "list the ruleset to see whether the changes are there"},
		{name: "not committed", fail: true, want: unix.ENOBUFS,
			text: "add rule inet t c (and 1 more change in the transaction): the kernel's replies were lost (recvmsg: no buffer space available), and the generation is still 7, so the kernel refused the transaction (its reason was lost with the replies); nothing was changed"},
		{name: "generation unreadable", genFails: true, want: ErrOutcomeUnknown,
			text: "add rule inet t c (and 1 more change in the transaction): outcome unknown: the kernel's replies were lost (recvmsg: no buffer space available), and reading the generation failed too (get generation: operation not permitted (needs CAP_NET_ADMIN))"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := newFake()
			tx := k.conn().BeginAt(7)
			tx.AddRule(expr.FamilyInet, "t", "c", RuleSpec{Exprs: testExprs})
			tx.AddRule(expr.FamilyInet, "t", "c", RuleSpec{Exprs: testExprs})
			k.dropReplies, k.otherCommit, k.genFails = true, tc.otherCommit, tc.genFails
			if tc.fail {
				k.fail = map[int]fakeErr{1: {errno: unix.EINVAL, offset: -1}}
			}
			res, err := tx.Commit(context.Background())
			if !errors.Is(err, tc.want) || !errors.Is(err, unix.ENOBUFS) {
				t.Fatalf("err = %v, want %v wrapping ENOBUFS", err, tc.want)
			}
			if err.Error() != tc.text {
				t.Errorf("error:\n got %s\nwant %s", err, tc.text)
			}
			var ke *Error
			if errors.As(err, &ke) && ke.Hint != tc.hint {
				t.Errorf("hint %q, want %q", ke.Hint, tc.hint)
			}
			if res.Committed != tc.committed {
				t.Errorf("Committed = %v, want %v", res.Committed, tc.committed)
			}
			if tc.committed && (res.Generation != 8 || len(res.Handles) != 2) {
				t.Errorf("result = %+v, want generation 8 and 2 (unknown) handles", res)
			}
		})
	}
}

// When every acknowledgement came but echoes were lost, the transaction is
// known to be committed, without asking the generation.
func TestLostEchoes(t *testing.T) {
	k := newFake()
	tx := k.conn().BeginAt(7)
	tx.AddRule(expr.FamilyInet, "t", "c", RuleSpec{Exprs: testExprs})
	k.dropEchoes, k.genFails = true, true
	res, err := tx.Commit(context.Background())
	if !errors.Is(err, ErrAcksLost) || !res.Committed || res.Generation != 8 {
		t.Fatalf("res = %+v, err = %v; want committed at 8 with ErrAcksLost", res, err)
	}
	want := "add rule inet t c: committed (acknowledgements lost): the kernel applied every change, but its echo of 1 added rules was lost, so their handles are unknown"
	if err.Error() != want {
		t.Errorf("error:\n got %s\nwant %s", err, want)
	}
}

// A late reply to an earlier request (another sequence number) is skipped.
func TestStaleRepliesSkipped(t *testing.T) {
	k := newFake()
	c := k.conn()
	k.queue = append(k.queue, ackMsg(nfnl.Message{Header: nfnl.Header{Seq: 999999}}, unix.EINVAL, -1, ""))
	tx, err := c.Begin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	k.queue = append(k.queue, ackMsg(nfnl.Message{Header: nfnl.Header{Seq: 1}}, unix.EINVAL, -1, ""))
	tx.AddRule(expr.FamilyInet, "t", "c", RuleSpec{Exprs: testExprs})
	if _, err := tx.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// What Commit refuses before sending anything.
func TestCommitChecks(t *testing.T) {
	long := strings.Repeat("x", 256)
	for _, tc := range []struct {
		build func(tx *Tx)
		want  string
	}{
		{func(tx *Tx) { tx.AddTable(expr.FamilyInet, "", nil) }, "add table inet : empty table name"},
		{func(tx *Tx) { tx.AddTable(expr.FamilyInet, long, nil) }, "add table inet " + long + ": table name of 256 bytes (at most 255)"},
		{func(tx *Tx) { tx.AddTable(0, "t", nil) }, "add table family(0) t: no table family"},
		{func(tx *Tx) { tx.AddChain(expr.FamilyInet, "t", "a\x00b", nil, nil) }, "add chain inet t a\x00b: chain name \"a\\x00b\" holds a NUL byte"},
		{func(tx *Tx) { tx.AddChain(expr.FamilyInet, "t", "c", &BaseChain{}, nil) }, "add chain inet t c: base chain with hook none"},
		{func(tx *Tx) { tx.AddChain(expr.FamilyInet, "t", "c", &BaseChain{Hook: HookInput, Policy: 7}, nil) }, "add chain inet t c: base chain with policy(7)"},
		{func(tx *Tx) {
			tx.AddRule(expr.FamilyInet, "t", "c", RuleSpec{Exprs: testExprs})
			tx.AddRule(expr.FamilyInet, "t", "c", RuleSpec{Exprs: testExprs, UserData: make([]byte, 257), Source: "f:2"})
		}, "add rule inet t c (f:2): rule userdata of 257 bytes (at most 256)"},
		{func(tx *Tx) { tx.AddRule(expr.FamilyInet, "t", "c", RuleSpec{Exprs: make([]byte, 70000)}) }, "add rule inet t c: rule expressions of 70000 bytes (at most 65531)"},
		{func(tx *Tx) { tx.DeleteRule(expr.FamilyInet, "t", "c", 0) }, "delete rule inet t c handle 0: rule handle 0"},
	} {
		k := newFake()
		tx := k.conn().BeginAt(7)
		tc.build(tx)
		_, err := tx.Commit(context.Background())
		if err == nil || err.Error() != tc.want {
			t.Errorf("error:\n got %v\nwant %s", err, tc.want)
		}
		if len(k.sent) != 0 {
			t.Errorf("%q: something was sent", tc.want)
		}
	}
}

// A cancelled context before the batch is sent changes nothing.
func TestCommitCancelled(t *testing.T) {
	k := newFake()
	tx := k.conn().BeginAt(7)
	tx.AddRule(expr.FamilyInet, "t", "c", RuleSpec{Exprs: testExprs})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := tx.Commit(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if len(k.sent) != 0 {
		t.Error("a batch was sent")
	}
}
