package kernel_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/internal/kerneltest"
	"github.com/ctmatch/ctmatch/internal/ktest"
	"github.com/ctmatch/ctmatch/internal/netns"
	"github.com/ctmatch/ctmatch/internal/nftforms"
	"github.com/ctmatch/ctmatch/kernel"
)

// nftMsg is one message of the batch nft sent: its type and what follows
// its netlink header (nfgenmsg and attributes).
type nftMsg struct {
	typ  uint16
	body []byte
}

var (
	mnlColor  = regexp.MustCompile("\x1b\\[[0-9;]*m")
	mnlLen    = regexp.MustCompile(`^\|\s+(\d{10})\s+\|\t\| message length \|$`)
	mnlType   = regexp.MustCompile(`^\| (\d{5}) \| [RMAE-]{4} \|\t\|  type \| flags  \|$`)
	mnlExtra  = regexp.MustCompile(`^\| ([0-9a-f]{2}) ([0-9a-f]{2}) ([0-9a-f]{2}) ([0-9a-f]{2})  \|\t\|  extra header  \|$`)
	mnlAttr   = regexp.MustCompile(`^\|(\d{5})\|([N-])([B-])\|(\d{5})\|\t\|len \|flags\| type\|$`)
	mnlData   = regexp.MustCompile(`^\| ([0-9a-f]{2}) ([0-9a-f]{2}) ([0-9a-f]{2}) ([0-9a-f]{2})  \|\t\|      data      \|`)
	batchType = map[uint16]bool{unix.NFNL_MSG_BATCH_BEGIN: true, unix.NFNL_MSG_BATCH_END: true}
)

// nftBatch runs script with nft --debug=mnl in ns and returns the messages
// of the batch it sent (BATCH_BEGIN and BATCH_END left out), each rebuilt
// from the attribute headers and data lines libmnl prints.
func nftBatch(t *testing.T, ns *netns.NS, script string) []nftMsg {
	t.Helper()
	out := ktest.Run(t, ns, script, "nft", "--debug=mnl", "-f", "-")
	var msgs []nftMsg
	var cur *nftMsg
	var length int
	inBatch := false
	flush := func() {
		if cur == nil {
			return
		}
		if len(cur.body)+16 != length {
			t.Fatalf("nft's message of type %#x: %d bytes, rebuilt %d\n%s", cur.typ, length, len(cur.body)+16, out)
		}
		switch {
		case cur.typ == unix.NFNL_MSG_BATCH_BEGIN:
			inBatch = true
		case cur.typ == unix.NFNL_MSG_BATCH_END:
			inBatch = false
		case inBatch:
			msgs = append(msgs, *cur)
		}
		cur = nil
	}
	for _, l := range strings.Split(mnlColor.ReplaceAllString(out, ""), "\n") {
		switch {
		case mnlLen.MatchString(l):
			flush()
			length, _ = strconv.Atoi(mnlLen.FindStringSubmatch(l)[1])
			cur = &nftMsg{}
		case cur == nil:
		case mnlType.MatchString(l):
			n, _ := strconv.Atoi(mnlType.FindStringSubmatch(l)[1])
			cur.typ = uint16(n)
		case mnlExtra.MatchString(l):
			h, _ := hex.DecodeString(strings.Join(mnlExtra.FindStringSubmatch(l)[1:], ""))
			cur.body = append(cur.body, h...)
		case mnlAttr.MatchString(l):
			m := mnlAttr.FindStringSubmatch(l)
			n, _ := strconv.Atoi(m[1])
			typ, _ := strconv.Atoi(m[4])
			if m[2] == "N" {
				typ |= unix.NLA_F_NESTED
			}
			if m[3] == "B" {
				typ |= unix.NLA_F_NET_BYTEORDER
			}
			cur.body = binary.NativeEndian.AppendUint16(cur.body, uint16(n))
			cur.body = binary.NativeEndian.AppendUint16(cur.body, uint16(typ))
		case mnlData.MatchString(l):
			h, _ := hex.DecodeString(strings.Join(mnlData.FindStringSubmatch(l)[1:5], ""))
			cur.body = append(cur.body, h...)
		}
	}
	flush()
	_ = batchType
	return msgs
}

// sameAttrs reports whether two message bodies of type typ (nfgenmsg, then
// attributes) are the same but for what later nft versions send otherwise
// than 1.0.6: the same nfgenmsg and top-level attributes in any order (nft
// 1.0.8 and later write a base chain's policy and type before its hook:
// nftables commit "src: allow for updating devices on existing netdev
// chain"), and, when noSetDesc, a new set's NFTA_SET_DESC (its size) aside,
// which nft 1.1.2 and later leave out (internal/nftforms).
func sameAttrs(typ uint16, a, b []byte, noSetDesc bool) bool {
	const newSet, attrSetDesc = 0xa09, 9
	attrs := func(body []byte) ([]string, bool) {
		if len(body) < 4 {
			return nil, false
		}
		out := []string{string(body[:4])}
		for rest := body[4:]; len(rest) > 0; {
			if len(rest) < 4 {
				return nil, false
			}
			n := int(binary.NativeEndian.Uint16(rest))
			end := (n + 3) &^ 3
			if n < 4 || n > len(rest) {
				return nil, false
			}
			end = min(end, len(rest))
			if !(noSetDesc && typ == newSet && binary.NativeEndian.Uint16(rest[2:])&^unix.NLA_F_NESTED == attrSetDesc) {
				out = append(out, string(rest[:n]))
			}
			rest = rest[end:]
		}
		slices.Sort(out[1:])
		return out, true
	}
	x, okA := attrs(a)
	y, okB := attrs(b)
	return okA && okB && slices.Equal(x, y)
}

// sameAsNft proves a transaction against nft: in two namespaces set up
// with the same nft script, nft runs script in one (its batch read from
// --debug=mnl) and fill fills a transaction committed in the other. The
// messages must be byte for byte nft's (type, nfgenmsg and attributes; the
// flags libmnl does not print; with nft 1.0.8 and later, sameAttrs), and nft
// must list the same ruleset in both
// afterwards. It returns the connection to the namespace kernel/ wrote to,
// and that namespace.
func sameAsNft(t *testing.T, setup, script string, fill func(tx *kernel.Tx)) (*kernel.Conn, *netns.NS) {
	t.Helper()
	ours, theirs := ktest.Namespace(t, "nft"), ktest.Namespace(t, "nft")
	for _, ns := range []*netns.NS{ours, theirs} {
		if setup != "" {
			ktest.Run(t, ns, setup, "nft", "-f", "-")
		}
	}
	want := nftBatch(t, theirs, script)
	c := kerneltest.Dial(t, ours)
	tx, err := c.Begin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	fill(tx)
	got := kernel.BatchMessages(tx)
	if len(got) != len(want) {
		t.Errorf("%d messages, nft sent %d", len(got), len(want))
	}
	v := nftforms.Need(t)
	for i := range min(len(got), len(want)) {
		typ := binary.NativeEndian.Uint16(got[i][4:])
		if typ != want[i].typ || !bytes.Equal(got[i][16:], want[i].body) && !(v.AtLeast(1, 0, 8) && sameAttrs(typ, got[i][16:], want[i].body, v.NewForms())) {
			t.Errorf("message %d:\n got type %#x % x\nwant type %#x % x", i, typ, got[i][16:], want[i].typ, want[i].body)
		}
	}
	if _, err := tx.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}
	list := func(ns *netns.NS) string { return ktest.Run(t, ns, "", "nft", "list", "ruleset") }
	if g, w := list(ours), list(theirs); g != w {
		t.Errorf("nft lists after kernel/'s transaction:\n%s\nafter nft's:\n%s", g, w)
	}
	nftDump, ourDump := dumpAll(t, kerneltest.Dial(t, theirs)), dumpAll(t, c)
	if v.NewForms() {
		// The sets' size aside (sameAttrs).
		for _, d := range []dump{nftDump, ourDump} {
			for _, sets := range d.Sets {
				for i := range sets {
					sets[i].Size = 0
				}
			}
		}
	}
	if diff := cmp.Diff(nftDump, ourDump); diff != "" {
		t.Errorf("the kernel's dumps after nft's transaction and after kernel/'s (-nft +kernel/):\n%s", diff)
	}
	return c, ours
}

// dump is everything the kernel dumps of a ruleset, handles included.
type dump struct {
	Tables  []kernel.Table
	Chains  [][]kernel.Chain
	Rules   [][]kernel.Rule
	Sets    [][]kernel.Set
	Elems   [][]kernel.SetElem
	Objects [][]kernel.Object
}

// dumpAll reads every table, and every chain, rule, set, set element and ct
// helper in it, through c.
func dumpAll(t *testing.T, c *kernel.Conn) dump {
	t.Helper()
	ctx := context.Background()
	var d dump
	var err error
	check := func() {
		if err != nil {
			t.Helper()
			t.Fatal(err)
		}
	}
	d.Tables, err = c.Tables(ctx)
	check()
	for _, tab := range d.Tables {
		chains, err := c.Chains(ctx, tab.Family, tab.Name)
		if err != nil {
			t.Fatal(err)
		}
		d.Chains = append(d.Chains, chains)
		for _, ch := range chains {
			rules, err := c.Rules(ctx, tab.Family, tab.Name, ch.Name)
			if err != nil {
				t.Fatal(err)
			}
			d.Rules = append(d.Rules, rules)
		}
		sets, err := c.Sets(ctx, tab.Family, tab.Name)
		if err != nil {
			t.Fatal(err)
		}
		d.Sets = append(d.Sets, sets)
		for _, s := range sets {
			elems, err := c.SetElements(ctx, tab.Family, tab.Name, s.Name)
			if err != nil {
				t.Fatal(err)
			}
			d.Elems = append(d.Elems, elems)
		}
		objs, err := c.Objects(ctx, tab.Family, tab.Name)
		if err != nil {
			t.Fatal(err)
		}
		d.Objects = append(d.Objects, objs)
	}
	return d
}

const lifecycleSetup = `
table ip t {
	chain c {
		counter accept
		jump d
	}
	chain d {
		counter
	}
	chain e {
	}
}
table ip u {
	chain x {
		accept
	}
}
`

// Deleting and flushing tables and chains sends what nft sends for
// `delete table`, `flush table` (NFT_MSG_DELRULE naming only the table),
// `delete chain` and `flush chain` (NFT_MSG_DELRULE naming the chain), and
// leaves what nft leaves.
func TestKernelDeleteFlushMatchesNft(t *testing.T) {
	const ip = expr.FamilyIP
	for _, tc := range []struct {
		script string
		fill   func(tx *kernel.Tx)
	}{
		{"delete table ip u\n", func(tx *kernel.Tx) { tx.DeleteTable(ip, "u") }},
		{"delete table ip t\n", func(tx *kernel.Tx) { tx.DeleteTable(ip, "t") }},
		{"flush table ip t\n", func(tx *kernel.Tx) { tx.FlushTable(ip, "t") }},
		{"flush chain ip t c\n", func(tx *kernel.Tx) { tx.FlushChain(ip, "t", "c") }},
		{"delete chain ip t e\n", func(tx *kernel.Tx) { tx.DeleteChain(ip, "t", "e") }},
		// A chain in use goes with its users in the same transaction.
		{"flush chain ip t c\nflush chain ip t d\ndelete chain ip t d\n", func(tx *kernel.Tx) {
			tx.FlushChain(ip, "t", "c")
			tx.FlushChain(ip, "t", "d")
			tx.DeleteChain(ip, "t", "d")
		}},
	} {
		t.Run(strings.ReplaceAll(strings.TrimSpace(tc.script), "\n", "; "), func(t *testing.T) {
			sameAsNft(t, lifecycleSetup, tc.script, tc.fill)
		})
	}
}

// Deleting what does not exist, or a chain in use, is refused with an
// error that names the change and says why, and nothing is changed.
func TestKernelDeleteErrors(t *testing.T) {
	ns := ktest.Namespace(t, "nft")
	ktest.Run(t, ns, lifecycleSetup, "nft", "-f", "-")
	c := kerneltest.Dial(t, ns)
	ctx := context.Background()
	const ip = expr.FamilyIP
	for _, tc := range []struct {
		fill  func(tx *kernel.Tx)
		errno unix.Errno
		want  string
	}{
		{func(tx *kernel.Tx) { tx.DeleteTable(ip, "nope") }, unix.ENOENT, "delete table ip nope: no such table ip nope"},
		{func(tx *kernel.Tx) { tx.FlushTable(ip, "nope") }, unix.ENOENT, "flush table ip nope: no such table ip nope"},
		{func(tx *kernel.Tx) { tx.DeleteChain(ip, "t", "nope") }, unix.ENOENT, "delete chain ip t nope: no such chain nope in table ip t"},
		{func(tx *kernel.Tx) { tx.FlushChain(ip, "t", "nope") }, unix.ENOENT, "flush chain ip t nope: no such chain nope in table ip t"},
		{func(tx *kernel.Tx) { tx.DeleteChain(ip, "t", "d") }, unix.EBUSY, "delete chain ip t d: chain d in table ip t is not empty, or a rule jumps to it: device or resource busy"},
		{func(tx *kernel.Tx) {
			tx.FlushChain(ip, "t", "c")
			tx.DeleteTable(ip, "nope")
		}, unix.ENOENT, "delete table ip nope: no such table ip nope; the kernel refused the whole transaction, nothing was changed"},
	} {
		before := ktest.Run(t, ns, "", "nft", "list", "ruleset")
		tx, err := c.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		tc.fill(tx)
		_, err = tx.Commit(ctx)
		if err == nil || err.Error() != tc.want || !errors.Is(err, tc.errno) {
			t.Errorf("error:\n got %v\nwant %s (wrapping %v)", err, tc.want, tc.errno)
		}
		if after := ktest.Run(t, ns, "", "nft", "list", "ruleset"); after != before {
			t.Errorf("the refused transaction changed the ruleset:\n%s", after)
		}
	}
}

// Base chains of any type, hook, priority and policy, an ingress chain with
// its device, and an empty regular chain, are sent as nft sends them, and
// listed back as they were made.
func TestKernelChainsMatchNft(t *testing.T) {
	const inet = expr.FamilyInet
	chains := []struct {
		nft  string
		name string
		base *kernel.BaseChain
	}{
		{"type nat hook prerouting priority -100; policy accept;", "natpre", &kernel.BaseChain{Type: "nat", Hook: kernel.HookPrerouting, Priority: -100}},
		{"type nat hook postrouting priority 100; policy accept;", "natpost", &kernel.BaseChain{Type: "nat", Hook: kernel.HookPostrouting, Priority: 100}},
		{"type route hook output priority -150; policy drop;", "routeout", &kernel.BaseChain{Type: "route", Hook: kernel.HookOutput, Priority: -150, Policy: kernel.PolicyDrop}},
		{"type filter hook forward priority 7; policy drop;", "filterfwd", &kernel.BaseChain{Type: "filter", Hook: kernel.HookForward, Priority: 7, Policy: kernel.PolicyDrop}},
		{"type filter hook input priority -2147483648; policy accept;", "early", &kernel.BaseChain{Hook: kernel.HookInput, Priority: -1 << 31}},
		{"type filter hook ingress device lo priority -500; policy drop;", "inlo", &kernel.BaseChain{Hook: kernel.HookIngress, Device: "lo", Priority: -500, Policy: kernel.PolicyDrop}},
		{"", "empty", nil},
	}
	var script strings.Builder
	for _, ch := range chains {
		fmt.Fprintf(&script, "add chain inet t %s { %s }\n", ch.name, ch.nft)
	}
	c, _ := sameAsNft(t, "add table inet t\n", script.String(), func(tx *kernel.Tx) {
		for _, ch := range chains {
			tx.AddChain(inet, "t", ch.name, ch.base, nil)
		}
	})
	listed, err := c.Chains(context.Background(), inet, "t")
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]kernel.Chain{}
	for _, ch := range listed {
		byName[ch.Name] = ch
	}
	for _, ch := range chains {
		got, ok := byName[ch.name]
		want := ch.base
		if want != nil && want.Type == "" {
			w := *want
			w.Type = "filter"
			want = &w
		}
		switch {
		case !ok:
			t.Errorf("chain %s not listed", ch.name)
		case (got.Base == nil) != (want == nil) || got.Base != nil && *got.Base != *want:
			t.Errorf("chain %s listed as %+v, want %+v", ch.name, got.Base, want)
		}
	}
}

// A rule's comment is nft's own userdata record, from expr's codec: the
// rule is sent as nft sends `comment "…"`, nft lists the comment, and it is
// read back, next to ctmatch's group record.
func TestKernelRuleCommentMatchesNft(t *testing.T) {
	const ip = expr.FamilyIP
	accept := kernelLower(t, ip, expr.Rule{Verdict: expr.Verdict{Kind: expr.VerdictAccept}})
	ud, err := expr.CommentUserData("web: allow 80")
	if err != nil {
		t.Fatal(err)
	}
	c, _ := sameAsNft(t, "add table ip t\nadd chain ip t c\n", `add rule ip t c accept comment "web: allow 80"`+"\n", func(tx *kernel.Tx) {
		tx.AddRule(ip, "t", "c", kernel.RuleSpec{Exprs: accept, UserData: ud})
	})
	rules, err := c.Rules(context.Background(), ip, "t", "c")
	if err != nil || len(rules) != 1 {
		t.Fatalf("%d rules (%v), want 1", len(rules), err)
	}
	if comment, _, err := expr.ParseUserData(rules[0].UserData); comment != "web: allow 80" || !errors.Is(err, expr.ErrNoGroup) {
		t.Errorf("comment %q (%v), want %q and no group record", comment, err, "web: allow 80")
	}
}

// Destroying a table or chain deletes it when it is there and does nothing
// when it is not, on kernels that have NFT_MSG_DESTROY… (Linux 6.3 or
// later; nft 1.0.6 has no `destroy`, so there are no nft bytes to compare
// with). On older kernels the transaction is refused with EOPNOTSUPP.
func TestKernelDestroy(t *testing.T) {
	ns := ktest.Namespace(t, "nft")
	ktest.Run(t, ns, lifecycleSetup, "nft", "-f", "-")
	c := kerneltest.Dial(t, ns)
	ctx := context.Background()
	const ip = expr.FamilyIP
	tx, err := c.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tx.DestroyChain(ip, "t", "e")
	tx.DestroyChain(ip, "t", "nope")
	tx.DestroyTable(ip, "u")
	tx.DestroyTable(ip, "nope")
	_, err = tx.Commit(ctx)
	var major, minor int
	fmt.Sscanf(kernel.Release(), "%d.%d", &major, &minor)
	if major < 6 || major == 6 && minor < 3 {
		if !errors.Is(err, unix.EOPNOTSUPP) {
			t.Fatalf("on Linux %s: %v, want EOPNOTSUPP", kernel.Release(), err)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	want := ktest.Run(t, ns, "", "nft", "list", "ruleset")
	other := ktest.Namespace(t, "nft")
	ktest.Run(t, other, lifecycleSetup+"delete chain ip t e\ndelete table ip u\n", "nft", "-f", "-")
	if got := ktest.Run(t, other, "", "nft", "list", "ruleset"); got != want {
		t.Errorf("after destroy:\n%s\nafter nft's delete:\n%s", want, got)
	}
}
