package ctmatch_test

import (
	"fmt"

	"github.com/ctmatch/ctmatch"
	"github.com/ctmatch/ctmatch/parse"
)

func ExampleCompileAll() {
	r, err := parse.ParseText("-A INPUT -s 10.0.0.1,10.0.0.2 -d 192.168.0.1,192.168.0.2 -j ACCEPT", parse.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	rules, err := ctmatch.CompileAll(r, ctmatch.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, cr := range rules {
		fmt.Printf("%s\n\t%s", cr.Iptables(), cr)
	}
	// Output:
	// -A INPUT -s 10.0.0.1/32 -d 192.168.0.1/32 -j ACCEPT
	// 	ip saddr 10.0.0.1 ip daddr 192.168.0.1 counter accept
	// -A INPUT -s 10.0.0.1/32 -d 192.168.0.2/32 -j ACCEPT
	// 	ip saddr 10.0.0.1 ip daddr 192.168.0.2 counter accept
	// -A INPUT -s 10.0.0.2/32 -d 192.168.0.1/32 -j ACCEPT
	// 	ip saddr 10.0.0.2 ip daddr 192.168.0.1 counter accept
	// -A INPUT -s 10.0.0.2/32 -d 192.168.0.2/32 -j ACCEPT
	// 	ip saddr 10.0.0.2 ip daddr 192.168.0.2 counter accept
}
