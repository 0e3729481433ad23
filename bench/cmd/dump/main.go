// Command dump prints the rules of one chain as the kernel holds them, read
// with a raw GETRULE dump through package kernel: one line per rule, the
// payload of its NFTA_RULE_EXPRESSIONS in hex (counters included: a chain
// no packet went through has all of them at zero). bench/load.sh compares
// the dumps of two loads byte for byte and counts rules with it.
//
//	go run ./bench/cmd/dump -netns /run/netns/NAME -family ip -table t -chain INPUT
package main

import (
	"bufio"
	"context"
	"encoding/hex"
	"flag"
	"fmt"
	"os"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/kernel"
)

func main() {
	netns := flag.String("netns", "", "the network namespace, such as /run/netns/NAME")
	family := flag.String("family", "ip", "the table's family: ip, ip6 or inet")
	table := flag.String("table", "t", "the table")
	chain := flag.String("chain", "INPUT", "the chain")
	flag.Parse()
	fams := map[string]expr.Family{"ip": expr.FamilyIP, "ip6": expr.FamilyIP6, "inet": expr.FamilyInet}
	f, ok := fams[*family]
	if !ok || *netns == "" {
		fmt.Fprintln(os.Stderr, "usage: dump -netns PATH [-family ip|ip6|inet] [-table NAME] [-chain NAME]")
		os.Exit(2)
	}
	ctx := context.Background()
	conn, err := kernel.Dial(ctx, kernel.Options{NetNS: *netns})
	if err != nil {
		fmt.Fprintln(os.Stderr, "dump:", err)
		os.Exit(1)
	}
	defer conn.Close()
	rules, err := conn.Rules(ctx, f, *table, *chain)
	if err != nil {
		fmt.Fprintln(os.Stderr, "dump:", err)
		os.Exit(1)
	}
	w := bufio.NewWriter(os.Stdout)
	for _, r := range rules {
		fmt.Fprintln(w, hex.EncodeToString(r.Exprs))
	}
	if err := w.Flush(); err != nil {
		fmt.Fprintln(os.Stderr, "dump:", err)
		os.Exit(1)
	}
}
