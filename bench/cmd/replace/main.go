// Command replace times `ctmatch apply --replace -f FILE` of a whole
// iptables-save file against the kernel's commit time of the same
// replacement, in the same run, in the network namespace -netns names.
//
// It reads two files of iptables rules (argv form, one per line, each
// with -A INPUT, as bench/rules.sh prints them), a and b, and writes each
// as an iptables-save file of table filter. Then, after `ctmatch apply -f`
// of a (not timed), each of -runs runs does, in turn:
//
//   - ctmatch: `ctmatch apply --replace -f` of the other file (b, then a,
//     …): the whole command, from reading the file to its exit, timed from
//     outside (wall time);
//   - floor: the same replacement back, in one kernel.Tx made ready
//     beforehand (not timed): a flush of the chain and every rule of the
//     file, lowered, with group records of the same size, without echoes,
//     as the command sends it; the commit call alone is timed (one sendmsg
//     of the whole batch, in which the kernel applies it, and the replies);
//   - delete+create: the other way to replace a table in one transaction,
//     for comparison: the table deleted and made again with its chains and
//     the same rules (the commit call alone).
//
// Each transaction replaces N rules with N others, and is checked: the
// generation moves by one, and the chain holds N rules after it. It prints
// one line per run and the medians, and the ratio ctmatch/floor.
//
//	go run ./bench/cmd/replace -a a.txt -b b.txt -ctmatch BIN -netns /run/netns/NAME [-runs 3]
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/ctmatch/ctmatch"
	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/kernel"
)

func main() {
	a := flag.String("a", "", "the first rules file (argv form, -A INPUT …)")
	b := flag.String("b", "", "the second rules file")
	bin := flag.String("ctmatch", "", "the ctmatch command")
	netns := flag.String("netns", "", "the network namespace, such as /run/netns/NAME")
	runs := flag.Int("runs", 3, "the number of runs")
	flag.Parse()
	if *a == "" || *b == "" || *bin == "" || *netns == "" || *runs < 1 {
		fmt.Fprintln(os.Stderr, "usage: replace -a FILE -b FILE -ctmatch BIN -netns PATH [-runs N]")
		os.Exit(2)
	}
	if err := run(*a, *b, *bin, *netns, *runs); err != nil {
		fmt.Fprintln(os.Stderr, "replace:", err)
		os.Exit(1)
	}
}

const (
	fam   = expr.FamilyIP
	table = "filter"
	chain = "INPUT"
)

// ruleset is one rules file: its iptables-save form and its rules.
type ruleset struct {
	save  string // the iptables-save file
	rules []*ctmatch.Rule
}

func run(a, b, bin, netns string, runs int) error {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "ctmatch-bench-replace")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	var sets [2]ruleset
	for i, f := range []string{a, b} {
		if sets[i], err = read(f, filepath.Join(dir, fmt.Sprintf("%d.save", i))); err != nil {
			return err
		}
	}
	if len(sets[0].rules) != len(sets[1].rules) {
		return fmt.Errorf("%s and %s hold %d and %d rules: want as many", a, b, len(sets[0].rules), len(sets[1].rules))
	}
	n := len(sets[0].rules)
	conn, err := kernel.Dial(ctx, kernel.Options{NetNS: netns})
	if err != nil {
		return err
	}
	defer conn.Close()
	if out, err := exec.Command(bin, "apply", "--netns", netns, "-f", sets[0].save).CombinedOutput(); err != nil {
		return fmt.Errorf("ctmatch apply -f %s: %v\n%s", sets[0].save, err, out)
	}
	fmt.Printf("%d iptables rules replaced by %d others in chain %s of table ip %s\n", n, n, chain, table)
	fmt.Println("run  ctmatch-replace  floor-commit  ctmatch/floor  delete+create")
	var cts, floors, ratios, recreates []float64
	for i := range runs {
		ct, err := timed(ctx, conn, n, func() error {
			out, err := exec.Command(bin, "apply", "--netns", netns, "--replace", "-f", sets[1].save).CombinedOutput()
			if err != nil {
				return fmt.Errorf("ctmatch apply --replace: %v\n%s", err, out)
			}
			return nil
		})
		if err != nil {
			return err
		}
		tx, err := replaceTx(ctx, conn, sets[0].rules)
		if err != nil {
			return err
		}
		var floor float64
		if _, err := timed(ctx, conn, n, func() error {
			t0 := time.Now()
			_, err := tx.Commit(ctx)
			floor = time.Since(t0).Seconds()
			return err
		}); err != nil {
			return fmt.Errorf("floor: %w", err)
		}
		tx, err = recreateTx(ctx, conn, sets[1].rules)
		if err != nil {
			return err
		}
		var recreate float64
		if _, err := timed(ctx, conn, n, func() error {
			t0 := time.Now()
			_, err := tx.Commit(ctx)
			recreate = time.Since(t0).Seconds()
			return err
		}); err != nil {
			return fmt.Errorf("delete+create: %w", err)
		}
		// (The table holds b's rules again, for the next run's ctmatch to
		// replace with a's: the files swap.)
		sets[0], sets[1] = sets[1], sets[0]
		fmt.Printf("%3d  %15.3f  %12.3f  %13.2f  %13.3f\n", i+1, ct, floor, ct/floor, recreate)
		cts, floors, ratios, recreates = append(cts, ct), append(floors, floor), append(ratios, ct/floor), append(recreates, recreate)
	}
	fmt.Printf("med  %15.3f  %12.3f  %13.2f  %13.3f\n", median(cts), median(floors), median(ratios), median(recreates))
	return nil
}

// timed runs f, checks that it made one transaction and left n rules in
// the chain, and returns its wall time.
func timed(ctx context.Context, conn *kernel.Conn, n int, f func() error) (float64, error) {
	g0, err := conn.Generation(ctx)
	if err != nil {
		return 0, err
	}
	t0 := time.Now()
	if err := f(); err != nil {
		return 0, err
	}
	secs := time.Since(t0).Seconds()
	g1, err := conn.Generation(ctx)
	if err != nil {
		return 0, err
	}
	if g1 != g0+1 {
		return 0, fmt.Errorf("%d transactions, want 1", g1-g0)
	}
	rules, err := conn.Rules(ctx, fam, table, chain)
	if err != nil {
		return 0, err
	}
	if len(rules) < n {
		return 0, fmt.Errorf("%d rules in %s after the replacement, want at least %d", len(rules), chain, n)
	}
	return secs, nil
}

// replaceTx makes ready, without sending it, the transaction that replaces
// the chain's rules with rules: a flush of the chain, then each rule's nft
// rules with a group record, as ctmatch apply --replace sends them.
func replaceTx(ctx context.Context, conn *kernel.Conn, rules []*ctmatch.Rule) (*kernel.Tx, error) {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return nil, err
	}
	tx.NoHandles()
	for _, c := range []string{"INPUT", "FORWARD", "OUTPUT"} {
		tx.FlushChain(fam, table, c)
	}
	return tx, addRules(tx, rules)
}

// addRules adds each rule's nft rules with a group record to chain.
func addRules(tx *kernel.Tx, rules []*ctmatch.Rule) error {
	id := uint64(1 << 63)
	for _, r := range rules {
		id++
		words := ctmatch.Words(r.Source)
		for k, nr := range r.Rules {
			b, err := nr.Lower(fam)
			if err != nil {
				return err
			}
			ud, err := expr.Group{ID: id, Index: k, Count: len(r.Rules), Words: words}.UserData("")
			if err != nil {
				return err
			}
			tx.AddRule(fam, table, chain, kernel.RuleSpec{Exprs: b, UserData: ud})
		}
	}
	return nil
}

// recreateTx makes ready the transaction that replaces the table by
// deleting it and making it again, with its three base chains and rules.
func recreateTx(ctx context.Context, conn *kernel.Conn, rules []*ctmatch.Rule) (*kernel.Tx, error) {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return nil, err
	}
	tx.NoHandles()
	tx.DeleteTable(fam, table)
	ud, err := expr.TableUserData("")
	if err != nil {
		return nil, err
	}
	tx.AddTable(fam, table, ud)
	for _, c := range []struct {
		name string
		hook kernel.Hook
	}{{"INPUT", kernel.HookInput}, {"FORWARD", kernel.HookForward}, {"OUTPUT", kernel.HookOutput}} {
		tx.AddChain(fam, table, c.name, &kernel.BaseChain{Type: "filter", Hook: c.hook, Policy: kernel.PolicyAccept}, nil)
	}
	return tx, addRules(tx, rules)
}

// read reads a rules file, compiles its rules, and writes it as the
// iptables-save file save.
func read(file, save string) (ruleset, error) {
	var rs ruleset
	f, err := os.Open(file)
	if err != nil {
		return rs, err
	}
	defer f.Close()
	var out strings.Builder
	out.WriteString("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n")
	sc := bufio.NewScanner(f)
	for line := 0; sc.Scan(); {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		r, err := ctmatch.Translate(text, ctmatch.Options{})
		if err != nil {
			return rs, fmt.Errorf("%s:%d: %v", file, line, err)
		}
		if r.Source.Command == nil || r.Source.Command.Chain != chain {
			return rs, fmt.Errorf("%s:%d: the rule is not -A %s", file, line, chain)
		}
		r.Source.Command = nil // (the group record keeps the matches and the target)
		rs.rules = append(rs.rules, r)
		out.WriteString(text)
		out.WriteByte('\n')
	}
	if err := sc.Err(); err != nil {
		return rs, err
	}
	out.WriteString("COMMIT\n")
	rs.save = save
	return rs, os.WriteFile(save, []byte(out.String()), 0o644)
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}
