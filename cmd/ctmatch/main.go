// Command ctmatch turns iptables conntrack matches into native nftables ct
// expressions with the exact semantics of the kernel's xt_conntrack match.
package main

import (
	"context"
	"os"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
