// Command sync times firewall.Sync of a whole table against the kernel's
// commit time for the same rules, in the network namespace -netns names.
// It reads a file of iptables rules (argv form, one per line, each with -A
// CHAIN, as bench/rules.sh prints them), translates them (not timed) into
// the desired state of table ip s (INPUT, FORWARD and OUTPUT as the base
// chains iptables-nft makes, any other chain regular), and for each of
// -runs runs:
//
//   - floor: the same rules, with group records of the same size, in one
//     kernel.Tx into a table of their own (as bench/cmd/load does), without
//     echoes; the commit call alone is timed, then the table is deleted;
//   - create: Sync into the missing table (one transaction);
//   - list: the table's rules listed (kernel.Conn.Rules, every chain), what
//     a Sync must read;
//   - noop: Sync of the same state (it must send nothing: the generation
//     stays);
//   - change: Sync with the last rule of the longest chain replaced (one
//     transaction: the generation moves by one);
//   - the table is deleted (ChangeTables, not timed).
//
// It prints one line per run with the times in seconds and the ratio of
// create to floor, and the medians.
//
//	go run ./bench/cmd/sync -f rules.txt -netns /run/netns/NAME [-runs 3] [-cpuprofile FILE]
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"github.com/ctmatch/ctmatch"
	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/firewall"
	"github.com/ctmatch/ctmatch/kernel"
)

func main() {
	file := flag.String("f", "", "the rules file (argv form, one rule per line, each with -A CHAIN)")
	netns := flag.String("netns", "", "the network namespace, such as /run/netns/NAME")
	runs := flag.Int("runs", 3, "the number of runs")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the runs to this file")
	flag.Parse()
	if *file == "" || *netns == "" || *runs < 1 {
		fmt.Fprintln(os.Stderr, "usage: sync -f FILE -netns PATH [-runs N]")
		os.Exit(2)
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "sync:", err)
			os.Exit(1)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "sync:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	if err := run(*file, *netns, *runs); err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, "sync:", err)
		os.Exit(1)
	}
}

const fam = expr.FamilyIP

func run(file, netns string, runs int) error {
	ctx := context.Background()
	d, err := desired(file)
	if err != nil {
		return err
	}
	changed := d
	changed.Chains = slices.Clone(d.Chains)
	longest := 0
	for i, c := range d.Chains {
		if len(c.Rules) > len(d.Chains[longest].Rules) {
			longest = i
		}
	}
	lc := &changed.Chains[longest]
	lc.Rules = slices.Clone(lc.Rules)
	r, err := ctmatch.Translate("-m conntrack --ctstate NEW --ctproto udp --ctorigdstport 53 -j ACCEPT", ctmatch.Options{})
	if err != nil {
		return err
	}
	lc.Rules[len(lc.Rules)-1] = firewall.DesiredRule{Rule: r}

	conn, err := kernel.Dial(ctx, kernel.Options{NetNS: netns})
	if err != nil {
		return err
	}
	defer conn.Close()
	c, err := firewall.Dial(ctx, firewall.DialOptions{NetNS: netns})
	if err != nil {
		return err
	}
	defer c.Close()

	n, pieces := 0, 0
	for _, ch := range d.Chains {
		n += len(ch.Rules)
		for _, r := range ch.Rules {
			pieces += len(r.Rule.Rules)
		}
	}
	fmt.Printf("%d iptables rules, %d nft rules, %d chains\n", n, pieces, len(d.Chains))
	fmt.Println("run  floor-commit  sync-create  create/floor  list-rules  sync-noop  sync-change")
	var floors, creates, lists, noops, changes, ratios []float64
	for i := range runs {
		floor, err := floorCommit(ctx, conn, d)
		if err != nil {
			return fmt.Errorf("floor: %w", err)
		}
		create, err := timedSync(ctx, c, conn, d, 1)
		if err != nil {
			return fmt.Errorf("create: %w", err)
		}
		t0 := time.Now()
		for _, ch := range d.Chains {
			if _, err := conn.Rules(ctx, fam, "s", ch.Name); err != nil {
				return err
			}
		}
		list := time.Since(t0).Seconds()
		noop, err := timedSync(ctx, c, conn, d, 0)
		if err != nil {
			return fmt.Errorf("noop: %w", err)
		}
		change, err := timedSync(ctx, c, conn, changed, 1)
		if err != nil {
			return fmt.Errorf("change: %w", err)
		}
		if _, err := c.ChangeTables(ctx, []firewall.TableChange{{Op: firewall.DeleteTable, Family: fam, Table: "s"}}, firewall.TableOptions{}); err != nil {
			return err
		}
		fmt.Printf("%3d  %12.3f  %11.3f  %12.2f  %10.3f  %9.3f  %11.3f\n", i+1, floor, create, create/floor, list, noop, change)
		floors, creates, lists, noops, changes, ratios = append(floors, floor), append(creates, create), append(lists, list), append(noops, noop), append(changes, change), append(ratios, create/floor)
	}
	fmt.Printf("med  %12.3f  %11.3f  %12.2f  %10.3f  %9.3f  %11.3f\n", median(floors), median(creates), median(ratios), median(lists), median(noops), median(changes))
	return nil
}

// timedSync syncs d and checks that it took the given number of
// transactions, by the generation.
func timedSync(ctx context.Context, c *firewall.Client, conn *kernel.Conn, d firewall.DesiredTable, transactions uint32) (float64, error) {
	g0, err := conn.Generation(ctx)
	if err != nil {
		return 0, err
	}
	t0 := time.Now()
	res, err := c.Sync(ctx, d, firewall.SyncOptions{})
	secs := time.Since(t0).Seconds()
	if err != nil {
		return 0, err
	}
	g1, err := conn.Generation(ctx)
	if err != nil {
		return 0, err
	}
	if g1-g0 != transactions || res.Sent != (transactions > 0) {
		return 0, fmt.Errorf("%d transactions (sent %v), want %d", g1-g0, res.Sent, transactions)
	}
	return secs, nil
}

// floorCommit commits d's rules into table floor with kernel.Tx and
// returns the time of the commit call, then deletes the table.
func floorCommit(ctx context.Context, conn *kernel.Conn, d firewall.DesiredTable) (float64, error) {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return 0, err
	}
	tx.NoHandles()
	tx.AddTable(fam, "floor", nil)
	for _, ch := range d.Chains {
		tx.AddChain(fam, "floor", ch.Name, ch.Base, nil)
	}
	id := uint64(1 << 63)
	for _, ch := range d.Chains {
		for _, r := range ch.Rules {
			id++
			words := ctmatch.Words(r.Rule.Source)
			for k, nr := range r.Rule.Rules {
				b, err := nr.Lower(fam)
				if err != nil {
					return 0, err
				}
				ud, err := expr.Group{ID: id, Index: k, Count: len(r.Rule.Rules), Words: words}.UserData("")
				if err != nil {
					return 0, err
				}
				tx.AddRule(fam, "floor", ch.Name, kernel.RuleSpec{Exprs: b, UserData: ud})
			}
		}
	}
	t0 := time.Now()
	_, err = tx.Commit(ctx)
	secs := time.Since(t0).Seconds()
	if err != nil {
		return 0, err
	}
	del, err := conn.Begin(ctx)
	if err != nil {
		return 0, err
	}
	del.DeleteTable(fam, "floor")
	if _, err := del.Commit(ctx); err != nil {
		return 0, err
	}
	return secs, nil
}

// desired reads the rules file into the desired state of table ip s.
func desired(file string) (firewall.DesiredTable, error) {
	f, err := os.Open(file)
	if err != nil {
		return firewall.DesiredTable{}, err
	}
	defer f.Close()
	d := firewall.DesiredTable{Family: fam, Name: "s"}
	at := map[string]int{}
	sc := bufio.NewScanner(f)
	for line := 0; sc.Scan(); {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		r, err := ctmatch.Translate(text, ctmatch.Options{})
		if err != nil {
			return d, fmt.Errorf("%s:%d: %v", file, line, err)
		}
		if r.Source.Command == nil {
			return d, fmt.Errorf("%s:%d: the rule has no -A CHAIN", file, line)
		}
		chain := r.Source.Command.Chain
		r.Source.Command = nil // (the group record keeps the matches and the target)
		i, ok := at[chain]
		if !ok {
			i = len(d.Chains)
			at[chain] = i
			base, _ := firewall.CreatedChain("filter", chain)
			d.Chains = append(d.Chains, firewall.DesiredChain{Name: chain, Base: base})
		}
		d.Chains[i].Rules = append(d.Chains[i].Rules, firewall.DesiredRule{Rule: r})
	}
	return d, sc.Err()
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}
