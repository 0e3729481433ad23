// Command testcount reads the output of `go test -json` on standard input,
// passes the usual test output through, and closes with a summary: how many
// tests passed, failed and were skipped, and how many of them were kernel
// tests (tests that log ktest's marker). With -require-kernel it fails when a
// kernel test skipped or when fewer kernel tests ran than -floor says.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
)

const marker = "ctmatch-kernel-test: "

type event struct {
	Action  string
	Package string
	Test    string
	Output  string
}

type result struct {
	action string
	kernel bool
	reason string // why a kernel test skipped
	output []string
}

func main() {
	requireKernel := flag.Bool("require-kernel", false, "fail when a kernel test skipped or too few ran")
	floorFile := flag.String("floor", "", "`FILE` holding the least number of kernel tests that must run")
	flag.Parse()

	results := map[string]*result{}
	var order []string
	pkgFailed := map[string]bool{}
	var pkgOutput = map[string][]string{}
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		var e event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			fmt.Println(sc.Text()) // not JSON: build errors and the like
			continue
		}
		if e.Test == "" {
			if e.Action == "output" {
				pkgOutput[e.Package] = append(pkgOutput[e.Package], e.Output)
			}
			if e.Action == "fail" {
				pkgFailed[e.Package] = true
			}
			continue
		}
		key := e.Package + " " + e.Test
		r := results[key]
		if r == nil {
			r = &result{}
			results[key] = r
			order = append(order, key)
		}
		switch e.Action {
		case "output":
			r.output = append(r.output, e.Output)
			if i := strings.Index(e.Output, marker); i >= 0 {
				r.kernel = true
				if rest, ok := strings.CutPrefix(e.Output[i+len(marker):], "skipped: "); ok && r.reason == "" {
					r.reason = strings.TrimSpace(rest)
				}
			}
		case "pass", "fail", "skip":
			r.action = e.Action
		}
	}

	var passed, failed, skipped, kRan, kSkipped int
	var kernelSkips []string
	for _, key := range order {
		r := results[key]
		// Subtests are counted on their own; a parent's marker counts once.
		switch r.action {
		case "pass":
			passed++
		case "fail":
			failed++
			fmt.Printf("--- FAIL: %s\n%s", key, strings.Join(r.output, ""))
		case "skip":
			skipped++
		}
		if r.kernel {
			switch r.action {
			case "skip":
				kSkipped++
				kernelSkips = append(kernelSkips, key+": "+r.reason)
			case "pass", "fail":
				kRan++
			}
		}
	}
	var pkgs []string
	for p := range pkgFailed {
		pkgs = append(pkgs, p)
	}
	sort.Strings(pkgs)
	for _, p := range pkgs {
		fmt.Printf("--- FAIL: package %s\n%s", p, strings.Join(pkgOutput[p], ""))
		failed++
	}

	bad := failed > 0
	fmt.Printf("kernel tests: %d ran, %d skipped\n", kRan, kSkipped)
	for _, k := range kernelSkips {
		fmt.Printf("  skipped: %s\n", k)
	}
	if *requireKernel {
		if kSkipped > 0 {
			fmt.Printf("FAIL: CTMATCH_E2E=1 but %d kernel tests skipped\n", kSkipped)
			bad = true
		}
		if *floorFile != "" {
			data, err := os.ReadFile(*floorFile)
			floor, perr := strconv.Atoi(strings.TrimSpace(string(data)))
			if err != nil || perr != nil {
				fmt.Printf("FAIL: cannot read the kernel test floor from %s\n", *floorFile)
				bad = true
			} else if kRan < floor {
				fmt.Printf("FAIL: %d kernel tests ran, fewer than the floor of %d in %s\n", kRan, floor, *floorFile)
				bad = true
			}
		}
	}
	fmt.Printf("tests: %d passed, %d failed, %d skipped\n", passed, failed, skipped)
	if bad {
		os.Exit(1)
	}
}
