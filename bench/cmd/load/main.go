// Command load loads rules through the Go API rather than the CLI, and times
// the kernel's part alone: it reads a file of iptables rules (argv form, one
// per line, each with -A CHAIN, as bench/rules.sh prints them), translates
// each with ctmatch.Translate and loads them all, with the table and the
// base chains they need, in one kernel transaction through package kernel
// (kernel.Tx directly), in the network namespace -netns names.
//
//	go run ./bench/cmd/load -f rules.txt -netns /run/netns/NAME [-table t]
//
// Each rule's pieces carry ctmatch's group record in their userdata, as
// ctmatch apply writes them. On standard error it reports the time of
// each phase; the commit line is the kernel's floor: one sendmsg of the whole
// batch (the kernel applies it inside that call) and the reading of the
// replies.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/ctmatch/ctmatch"
	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/kernel"
)

func main() {
	file := flag.String("f", "", "the rules file (argv form, one rule per line, each with -A CHAIN)")
	netns := flag.String("netns", "", "the network namespace to load into, such as /run/netns/NAME")
	table := flag.String("table", "t", "the nft table (family ip) to create and load into")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile to this file")
	memprofile := flag.String("memprofile", "", "write a heap profile (allocations) to this file at the end")
	flag.Parse()
	if *file == "" || *netns == "" {
		fmt.Fprintln(os.Stderr, "usage: load -f FILE -netns PATH [-table NAME] [-cpuprofile FILE] [-memprofile FILE]")
		os.Exit(2)
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fatal(err)
		}
		defer pprof.StopCPUProfile()
	}
	if err := run(*file, *netns, *table); err != nil {
		pprof.StopCPUProfile()
		fatal(err)
	}
	if *memprofile != "" {
		f, err := os.Create(*memprofile)
		if err != nil {
			fatal(err)
		}
		if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
			fatal(err)
		}
		f.Close()
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "load:", err)
	os.Exit(1)
}

func run(file, netns, table string) error {
	ctx := context.Background()
	t0 := time.Now()
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()

	conn, err := kernel.Dial(ctx, kernel.Options{NetNS: netns})
	if err != nil {
		return err
	}
	defer conn.Close()
	tx, err := conn.Begin(ctx)
	if err != nil {
		return err
	}
	tx.NoHandles() // as ctmatch apply without --echo: no echo of every rule
	tx.AddTable(expr.FamilyIP, table, nil)
	chains := map[string]bool{}
	ids := map[string]uint64{}
	rules, pieces := 0, 0
	sc := bufio.NewScanner(f)
	for line := 0; sc.Scan(); {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		r, err := ctmatch.Translate(text, ctmatch.Options{})
		if err != nil {
			return fmt.Errorf("%s:%d: %v", file, line, err)
		}
		if r.Source.Command == nil {
			return fmt.Errorf("%s:%d: the rule has no -A CHAIN", file, line)
		}
		chain := r.Source.Command.Chain
		if !chains[chain] {
			chains[chain] = true
			tx.AddChain(expr.FamilyIP, table, chain, baseChain(chain), nil)
		}
		wire, err := r.Wire()
		if err != nil {
			return fmt.Errorf("%s:%d: %v", file, line, err)
		}
		// The group record's words: the matches and the target, without
		// the command.
		src := *r.Source
		src.Command = nil
		ids[chain]++
		for i, b := range wire {
			g := expr.Group{ID: ids[chain], Index: i, Count: len(wire), Words: src.String()}
			ud, err := g.UserData("")
			if err != nil {
				return fmt.Errorf("%s:%d: %v", file, line, err)
			}
			tx.AddRule(expr.FamilyIP, table, chain, kernel.RuleSpec{Exprs: b, UserData: ud, Source: fmt.Sprintf("%s:%d", file, line)})
			pieces++
		}
		rules++
	}
	if err := sc.Err(); err != nil {
		return err
	}
	t1 := time.Now()
	res, err := tx.Commit(ctx)
	t2 := time.Now()
	if err != nil {
		return err
	}
	s := res.Stats
	fmt.Fprintf(os.Stderr, "load: %d iptables rules, %d nft rules; read+translate+encode %.3f s, commit %.3f s (batch %d messages, %d bytes; replies %d datagrams, %d bytes, %d acks, %d echoes; buffers snd %d rcv %d)\n",
		rules, pieces, t1.Sub(t0).Seconds(), t2.Sub(t1).Seconds(),
		s.Messages, s.BatchBytes, s.Datagrams, s.ReplyBytes, s.Acks, s.Echoes, s.SendBuffer, s.ReceiveBuffer)
	fmt.Fprintf(os.Stderr, "commit-seconds %.6f\n", t2.Sub(t1).Seconds())
	return nil
}

// baseChain returns the base chain iptables-nft makes for an iptables
// built-in chain of the filter table, or nil for a regular chain.
func baseChain(name string) *kernel.BaseChain {
	hooks := map[string]kernel.Hook{"INPUT": kernel.HookInput, "FORWARD": kernel.HookForward, "OUTPUT": kernel.HookOutput}
	if h, ok := hooks[name]; ok {
		return &kernel.BaseChain{Type: "filter", Hook: h, Priority: 0, Policy: kernel.PolicyAccept}
	}
	return nil
}
