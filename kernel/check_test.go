package kernel

import (
	"context"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/internal/nfnl"
)

// A check sends the batch as Commit does but without BATCH_END, as nft
// --check does (nft --debug=mnl -c shows no message of type 17): the kernel
// validates every change, then aborts.
func TestCheckBatchHasNoEnd(t *testing.T) {
	k := newFake()
	c := k.conn()
	tx := c.BeginAt(7)
	tx.AddTable(expr.FamilyInet, "fw", nil)
	tx.AddRule(expr.FamilyInet, "fw", "in", RuleSpec{Exprs: testExprs})
	if err := tx.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(k.sent) != 1 {
		t.Fatalf("%d sends, want 1", len(k.sent))
	}
	msgs, err := nfnl.SplitMessages(k.sent[0])
	if err != nil {
		t.Fatal(err)
	}
	var types []uint16
	for _, m := range msgs {
		types = append(types, m.Type)
	}
	want := []uint16{msgBatchBegin, nftType(msgNewTable), nftType(msgNewRule)}
	if len(types) != len(want) {
		t.Fatalf("message types %#x, want %#x", types, want)
	}
	for i := range want {
		if types[i] != want[i] {
			t.Fatalf("message types %#x, want %#x", types, want)
		}
	}
	// The generation is checked by a check too.
	attrs, _ := nfnl.SplitAttrs(msgs[0].Body(), 0)
	if len(attrs) != 1 || attrs[0].Type != attrBatchGenID || binary.BigEndian.Uint32(attrs[0].Data) != 7 {
		t.Errorf("BATCH_BEGIN attributes %+v, want the generation 7", attrs)
	}
	if k.gen != 7 || k.checks != 1 {
		t.Errorf("generation %d, %d checks: want 7 and 1 (nothing committed)", k.gen, k.checks)
	}

	// The same transaction can be committed after the check.
	res, err := tx.Commit(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !res.Committed || len(res.Handles) != 1 || res.Handles[0] == 0 || k.gen != 8 {
		t.Errorf("commit after check: %+v, generation %d", res, k.gen)
	}
	if err := tx.Check(context.Background()); err == nil {
		t.Error("a check of a committed transaction succeeded")
	}
}

// A check reports the errors Commit reports, in the same words.
func TestCheckErrorsAsCommit(t *testing.T) {
	build := func(c *Conn) *Tx {
		tx := c.BeginAt(7)
		for i := 1; i <= 3; i++ {
			tx.AddRule(expr.FamilyInet, "fw", "input", RuleSpec{Exprs: ctExprs(uint32(i)), Source: "rules.txt:" + string(rune('0'+i))})
		}
		return tx
	}
	fail := map[int]fakeErr{1: {errno: unix.EOPNOTSUPP, offset: -1}}

	kc := newFake()
	kc.fail = fail
	_, commitErr := build(kc.conn()).Commit(context.Background())

	kk := newFake()
	kk.fail = fail
	checkErr := build(kk.conn()).Check(context.Background())

	if commitErr == nil || checkErr == nil {
		t.Fatalf("commit error %v, check error %v: want both", commitErr, checkErr)
	}
	if checkErr.Error() != commitErr.Error() || !errors.Is(checkErr, unix.EOPNOTSUPP) {
		t.Errorf("check error\n %v\nwant, as commit's,\n %v", checkErr, commitErr)
	}
	if !strings.Contains(checkErr.Error(), "rules.txt:2") {
		t.Errorf("check error %v does not name the change", checkErr)
	}

	// A stale generation is refused by a check too.
	k := newFake()
	tx := k.conn().BeginAt(6)
	tx.AddRule(expr.FamilyInet, "fw", "input", RuleSpec{Exprs: testExprs})
	if err := tx.Check(context.Background()); !errors.Is(err, ErrConcurrentChange) {
		t.Errorf("check at a stale generation: %v, want ErrConcurrentChange", err)
	}

	// Lost replies: the outcome of the check is unknown, and it says so.
	k = newFake()
	k.dropReplies = true
	tx = k.conn().BeginAt(7)
	tx.AddRule(expr.FamilyInet, "fw", "input", RuleSpec{Exprs: testExprs})
	err := tx.Check(context.Background())
	if !errors.Is(err, ErrOutcomeUnknown) || !strings.Contains(err.Error(), "nothing was changed") {
		t.Errorf("check with lost replies: %v", err)
	}
}
