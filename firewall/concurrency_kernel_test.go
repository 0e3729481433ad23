package firewall

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ctmatch/ctmatch"
	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/kernel"
)

// The child process of TestKernelApplyConcurrent: the variable holds the
// chain it writes into and its mode, "CHAIN:turns" or "CHAIN:free".
const concurrentChildEnv = "CTMATCH_FIREWALL_CONCURRENT_CHILD"

// The figures of TestKernelApplyConcurrent.
const (
	concGoroutines = 4
	concEach       = 25 // applies per goroutine: 100 in all
	concChild      = 20 // applies of the second process
	concFirst      = 2000
)

// concChange is the nth change of the test into chain (from 1; the second
// process's are concFirst+1 …): every change has words of its own, so that
// the chain can be counted after; every other change is inserted at the
// top by its index, which reads the chain's rules (and so conflicts with a
// change of the other process that lands in between).
func concChange(n int, chain string) (Change, error) {
	const fam = expr.FamilyInet
	r, err := ctmatch.Translate(fmt.Sprintf("-m conntrack --ctstate NEW --ctorigdstport %d -j ACCEPT", n), ctmatch.Options{Table: fam})
	if err != nil {
		return Change{}, err
	}
	ch := Change{Family: fam, Table: "fw", Chain: chain, Rule: r}
	if n%2 == 0 {
		ch.Insert, ch.Index = true, 1
	}
	return ch, nil
}

// concFigures are what one run of TestKernelApplyConcurrent counted.
type concFigures struct {
	applied, reported, retried, conflicts int // the goroutines' applies
	childApplied, childReported           int // the second process's
	childRetried, childConflicts          int
	groups, lost, duplicated              int // in the chain after
	unexpected                            []string
	elapsed                               time.Duration
}

func (f concFigures) String() string {
	return fmt.Sprintf("%d applies from %d goroutines on one Client: %d applied, %d reported a conflict, %d retried (%d conflicts); "+
		"%d from a second process: %d applied, %d reported, %d retried (%d conflicts); the chain holds %d groups (%d lost, %d duplicated); %v",
		concGoroutines*concEach, concGoroutines, f.applied, f.reported, f.retried, f.conflicts,
		concChild, f.childApplied, f.childReported, f.childRetried, f.childConflicts, f.groups, f.lost, f.duplicated, f.elapsed.Round(time.Millisecond))
}

// One Client shared by 4 goroutines (100 applies) and a second process (20
// applies, through a Client of its own: the test binary run again) write
// into one chain at once. The goroutines never conflict with each other
// (each Apply holds the Client whole); the conflicts with the other process
// are retried (ApplyOptions.Retry) or reported. After, the chain holds
// every rule applied once, and no other: none lost, none twice.
//
// Twice. First the conflicts are made, not left to timing: 20 times,
// between the check of an Apply of the goroutines and its send
// (testBeforeSend), the second process is let apply one rule and waited
// for, so that the kernel refuses that Apply's transaction; its retry (the
// next call of the hook) goes through. So the figures are exact: 20 applies
// retried once, 20 conflicts, none in the second process. Then both run
// freely, with Retry 3: how often they meet is up to the scheduler, so the
// test checks only what holds however they interleave (every apply applied
// or its conflict reported, and the chain holding exactly the rules
// applied). Both runs are bounded by a context of two minutes.
func TestKernelApplyConcurrent(t *testing.T) {
	if mode := os.Getenv(concurrentChildEnv); mode != "" {
		concurrentChild(mode)
		return
	}
	ns, c := kernelClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for _, chain := range []string{"turns", "free"} {
		first, err := concChange(1000, chain)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Apply(ctx, []Change{first}, ApplyOptions{Create: true}); err != nil {
			t.Fatal(err)
		}
	}

	turns := concRun(ctx, t, c, ns.File(), "turns", 1)
	t.Log("with the conflicts made: " + turns.String())
	if turns.applied != concGoroutines*concEach || turns.childApplied != concChild || turns.lost != 0 || turns.duplicated != 0 ||
		turns.groups != 1+concGoroutines*concEach+concChild || len(turns.unexpected) != 0 {
		t.Errorf("want every apply applied, the chain holding %d groups, none lost or duplicated; unexpected: %q", 1+concGoroutines*concEach+concChild, turns.unexpected)
	}
	if turns.retried != concChild || turns.conflicts != concChild || turns.childConflicts != 0 {
		t.Errorf("want %d applies of the goroutines retried once each and no conflict in the second process", concChild)
	}

	free := concRun(ctx, t, c, ns.File(), "free", 3)
	t.Log("running freely: " + free.String())
	if free.applied+free.reported != concGoroutines*concEach || free.childApplied+free.childReported != concChild ||
		free.lost != 0 || free.duplicated != 0 || free.groups != 1+free.applied+free.childApplied || len(free.unexpected) != 0 {
		t.Errorf("want every apply applied or its conflict reported, the chain holding exactly the rules applied; unexpected: %q", free.unexpected)
	}
}

// concRun runs the goroutines' applies into chain on c and the second
// process's at once, with ApplyOptions.Retry retry, and counts. In chain
// "turns" the second process applies one rule on each of the first
// concChild calls of testBeforeSend that are not retries; otherwise it runs
// freely.
func concRun(ctx context.Context, t *testing.T, c *Client, ns *os.File, chain string, retry int) concFigures {
	t.Helper()
	var f concFigures
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	mode := "free"
	if chain == "turns" {
		mode = "turns"
	}
	child := exec.CommandContext(ctx, exe, "-test.run=^TestKernelApplyConcurrent$", "-test.count=1")
	child.Env = append(os.Environ(), fmt.Sprintf("%s=%s:%s:%d", concurrentChildEnv, chain, mode, retry))
	child.ExtraFiles = []*os.File{ns}
	var stderr strings.Builder
	child.Stderr = &stderr
	stdin, err := child.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	out := bufio.NewScanner(stdout)
	// The child dials, then says it is ready and waits for its turns, or
	// for the start.
	if !out.Scan() || out.Text() != "conc-ready" {
		child.Wait()
		t.Fatalf("child did not get ready: %q\n%s", out.Text(), stderr.String())
	}
	var childLines []string
	if mode == "turns" {
		// The hook runs with the Client held: its calls are one at a time.
		sends := 0
		testBeforeSend = func() {
			defer func() { sends++ }()
			if sends%2 == 1 || sends/2 >= concChild {
				return // a retry, or the child is done
			}
			io.WriteString(stdin, "go\n")
			if out.Scan() {
				childLines = append(childLines, out.Text())
			}
		}
		defer func() { testBeforeSend = nil }()
	}

	type result struct {
		n, retries int
		err        error
	}
	results := make(chan result, concGoroutines*concEach)
	var wg sync.WaitGroup
	began := time.Now()
	for g := range concGoroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range concEach {
				n := 1 + g*concEach + i
				ch, err := concChange(n, chain)
				if err == nil {
					var res Applied
					res, err = c.Apply(ctx, []Change{ch}, ApplyOptions{Retry: retry})
					results <- result{n, res.Retries, err}
					continue
				}
				results <- result{n, 0, err}
			}
		}()
	}
	if mode == "free" {
		io.WriteString(stdin, "go\n")
	}
	if mode == "free" {
		for out.Scan() {
			childLines = append(childLines, out.Text())
		}
	}
	wg.Wait()
	close(results)
	stdin.Close()
	for out.Scan() {
		childLines = append(childLines, out.Text())
	}
	if err := child.Wait(); err != nil {
		t.Errorf("child: %v\n%s", err, stderr.String())
	}
	f.elapsed = time.Since(began)

	applied := map[string]bool{}
	for r := range results {
		if r.err == nil {
			ch, _ := concChange(r.n, chain)
			applied[ctmatch.Words(ch.Rule.Source)] = true
		}
		f.conflicts += r.retries
		if r.retries > 0 {
			f.retried++
		}
		switch {
		case r.err == nil:
			f.applied++
		case errors.Is(r.err, kernel.ErrConcurrentChange):
			f.reported++
		default:
			f.unexpected = append(f.unexpected, r.err.Error())
		}
	}
	for _, line := range childLines {
		var n, retries int
		switch {
		case line == "PASS": // (the child's test framework)
		case strings.HasPrefix(line, "conc-conflict "):
			f.childReported++
		default:
			if _, err := fmt.Sscanf(line, "conc-ok %d %d", &n, &retries); err != nil {
				f.unexpected = append(f.unexpected, "child: "+line)
				continue
			}
			f.childApplied++
			f.childConflicts += retries
			if retries > 0 {
				f.childRetried++
			}
			ch, _ := concChange(n, chain)
			applied[ctmatch.Words(ch.Rule.Source)] = true
		}
	}

	l, err := c.List(ctx, Scope{Family: expr.FamilyInet, Table: "fw", Chain: chain})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, g := range l.Tables[0].Chains[0].Groups {
		seen[g.Rule.String()]++
	}
	f.groups = len(l.Tables[0].Chains[0].Groups)
	// A rule is lost when its apply succeeded and the chain lacks it (or
	// when its apply failed and the chain has it all the same).
	for _, n := range concNumbers() {
		ch, _ := concChange(n, chain)
		w := ctmatch.Words(ch.Rule.Source)
		if k := seen[w]; k > 1 {
			f.duplicated += k - 1
		} else if (k == 1) != applied[w] {
			f.lost++
		}
	}
	return f
}

// concNumbers are the numbers of every change of the test but the first:
// the goroutines', then the second process's.
func concNumbers() []int {
	var out []int
	for n := 1; n <= concGoroutines*concEach; n++ {
		out = append(out, n)
	}
	for n := concFirst + 1; n <= concFirst+concChild; n++ {
		out = append(out, n)
	}
	return out
}

// concurrentChild runs in the second process, with mode "CHAIN:MODE:RETRY":
// it applies its changes into CHAIN, in the namespace of descriptor 3, one
// for each line of its standard input (MODE turns) or all after the first
// line (MODE free), and reports each on a line: "conc-ok N RETRIES",
// "conc-conflict ERROR" or "conc-error ERROR".
func concurrentChild(mode string) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var chain, how string
	var retry int
	if parts := strings.Split(mode, ":"); len(parts) == 3 {
		chain, how = parts[0], parts[1]
		fmt.Sscanf(parts[2], "%d", &retry)
	}
	c, err := Dial(ctx, DialOptions{NetNS: "/proc/self/fd/3"})
	if err != nil {
		fmt.Printf("conc-error dial: %v\n", err)
		return
	}
	defer c.Close()
	var changes []Change
	for n := concFirst + 1; n <= concFirst+concChild; n++ {
		ch, err := concChange(n, chain)
		if err != nil {
			fmt.Printf("conc-error %v\n", err)
			return
		}
		changes = append(changes, ch)
	}
	fmt.Println("conc-ready")
	in := bufio.NewReader(os.Stdin)
	for i, ch := range changes {
		if how == "turns" || i == 0 {
			if _, err := in.ReadString('\n'); err != nil {
				fmt.Printf("conc-error no turn: %v\n", err)
				return
			}
		}
		res, err := c.Apply(ctx, []Change{ch}, ApplyOptions{Retry: retry})
		switch {
		case errors.Is(err, kernel.ErrConcurrentChange):
			fmt.Printf("conc-conflict %v\n", strings.ReplaceAll(err.Error(), "\n", " "))
		case err != nil:
			fmt.Printf("conc-error %v\n", strings.ReplaceAll(err.Error(), "\n", " "))
		default:
			fmt.Printf("conc-ok %d %d\n", concFirst+1+i, res.Retries)
		}
	}
}
