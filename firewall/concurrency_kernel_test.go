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

const concurrentChildEnv = "CTMATCH_FIREWALL_CONCURRENT_CHILD"

// The figures of TestKernelApplyConcurrent.
const (
	concGoroutines = 4
	concEach       = 25 // applies per goroutine: 100 in all
	concChild      = 20 // applies of the second process
	concRetry      = 3  // ApplyOptions.Retry of every apply
)

// concChange is the nth change of the test (from 1): every change has words
// of its own, so that the chain can be counted after; every other change is
// inserted at the top by its index, which reads the chain's rules (and so
// conflicts with a change of the other process that lands in between).
func concChange(n int) (Change, error) {
	const fam = expr.FamilyInet
	r, err := ctmatch.Translate(fmt.Sprintf("-m conntrack --ctstate NEW --ctorigdstport %d -j ACCEPT", n), ctmatch.Options{Table: fam})
	if err != nil {
		return Change{}, err
	}
	ch := Change{Family: fam, Table: "fw", Chain: "input", Rule: r}
	if n%2 == 0 {
		ch.Insert, ch.Index = true, 1
	}
	return ch, nil
}

// One Client shared by 4 goroutines (100 applies) and a second process (20
// applies, through a Client of its own) write into one chain at once: the
// goroutines never conflict with each other (each Apply holds the Client
// whole), and the conflicts with the other process are retried
// (ApplyOptions.Retry). After, the chain holds every rule once: none lost,
// none twice.
//
// The conflicts are made, not left to timing luck: 20 times, between the
// check of an Apply of the goroutines and its send (testBeforeSend), the
// second process is let apply one rule and waited for, so that the kernel
// refuses that Apply's transaction; its retry (the next call of the hook)
// goes through. So the figures are exact: 20 applies retried once, 20
// conflicts, none in the second process. The test is bounded by its
// context (two minutes).
func TestKernelApplyConcurrent(t *testing.T) {
	if os.Getenv(concurrentChildEnv) == "1" {
		concurrentChild()
		return
	}
	ns, c := kernelClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	first, err := concChange(1000)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Apply(ctx, []Change{first}, ApplyOptions{Create: true}); err != nil {
		t.Fatal(err)
	}

	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	child := exec.CommandContext(ctx, exe, "-test.run=^TestKernelApplyConcurrent$", "-test.count=1")
	child.Env = append(os.Environ(), concurrentChildEnv+"=1")
	child.ExtraFiles = []*os.File{ns.File()}
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
	// The child dials, then says it is ready and waits for its turns.
	if !out.Scan() || out.Text() != "conc-ready" {
		child.Wait()
		t.Fatalf("child did not get ready: %q\n%s", out.Text(), stderr.String())
	}
	// The hook runs with the Client held: its calls are one at a time.
	var childLines []string
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

	type result struct {
		retries int
		err     error
	}
	results := make(chan result, concGoroutines*concEach)
	var wg sync.WaitGroup
	began := time.Now()
	for g := range concGoroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range concEach {
				ch, err := concChange(1 + g*concEach + i)
				if err == nil {
					var res Applied
					res, err = c.Apply(ctx, []Change{ch}, ApplyOptions{Retry: concRetry})
					results <- result{res.Retries, err}
					continue
				}
				results <- result{0, err}
			}
		}()
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
	elapsed := time.Since(began)

	var retried, conflicts, failed, applied int
	for r := range results {
		conflicts += r.retries
		if r.retries > 0 {
			retried++
		}
		switch {
		case r.err == nil:
			applied++
		case errors.Is(r.err, kernel.ErrConcurrentChange):
			t.Errorf("apply still conflicting after %d retries: %v", concRetry, r.err)
			failed++
		default:
			t.Errorf("apply: %v", r.err)
			failed++
		}
	}
	var childApplied, childConflicts, childRetried int
	for _, line := range childLines {
		var retries int
		if _, err := fmt.Sscanf(line, "conc-ok %d", &retries); err == nil {
			childApplied++
			childConflicts += retries
			if retries > 0 {
				childRetried++
			}
			continue
		}
		if line != "PASS" { // (the child's test framework)
			t.Errorf("child: %s", line)
		}
	}

	l, err := c.List(ctx, Scope{Family: expr.FamilyInet, Table: "fw", Chain: "input"})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, g := range l.Tables[0].Chains[0].Groups {
		seen[g.Rule.String()]++
	}
	lost, dup := 0, 0
	for n := 1; n <= concGoroutines*concEach+concChild; n++ {
		ch, _ := concChange(n)
		if n > concGoroutines*concEach {
			ch, _ = concChange(2000 + n)
		}
		switch k := seen[ctmatch.Words(ch.Rule.Source)]; {
		case k == 0:
			lost++
		case k > 1:
			dup += k - 1
		}
	}
	total := len(l.Tables[0].Chains[0].Groups)
	t.Logf("%d applies from %d goroutines on one Client: %d applied, %d failed, %d retried (%d conflicts); "+
		"%d from a second process: %d applied, %d retried (%d conflicts); the chain holds %d groups (%d lost, %d duplicated); %v",
		concGoroutines*concEach, concGoroutines, applied, failed, retried, conflicts,
		concChild, childApplied, childRetried, childConflicts, total, lost, dup, elapsed.Round(time.Millisecond))
	if want := 1 + concGoroutines*concEach + concChild; applied != concGoroutines*concEach || childApplied != concChild || lost != 0 || dup != 0 || total != want {
		t.Errorf("want every apply applied, the chain holding %d groups, none lost or duplicated", want)
	}
	if retried != concChild || conflicts != concChild || childConflicts != 0 {
		t.Errorf("want %d applies of the goroutines retried once each and no conflict in the second process", concChild)
	}
}

// concurrentChild runs in the second process: it applies one of its
// changes, into the namespace of descriptor 3, for each line of its
// standard input, and reports each on a line: "conc-ok RETRIES" or
// "conc-error ERROR".
func concurrentChild() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := Dial(ctx, DialOptions{NetNS: "/proc/self/fd/3"})
	if err != nil {
		fmt.Printf("conc-error dial: %v\n", err)
		return
	}
	defer c.Close()
	var changes []Change
	for n := 1; n <= concChild; n++ {
		ch, err := concChange(2000 + concGoroutines*concEach + n)
		if err != nil {
			fmt.Printf("conc-error %v\n", err)
			return
		}
		changes = append(changes, ch)
	}
	fmt.Println("conc-ready")
	in := bufio.NewReader(os.Stdin)
	for _, ch := range changes {
		if _, err := in.ReadString('\n'); err != nil {
			fmt.Printf("conc-error no turn: %v\n", err)
			return
		}
		res, err := c.Apply(ctx, []Change{ch}, ApplyOptions{Retry: concRetry})
		if err != nil {
			fmt.Printf("conc-error %v\n", strings.ReplaceAll(err.Error(), "\n", " "))
			continue
		}
		fmt.Printf("conc-ok %d\n", res.Retries)
	}
}
