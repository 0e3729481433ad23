package parse_test

import (
	"fmt"

	"github.com/ctmatch/ctmatch/parse"
)

func ExampleParseArgs() {
	rule, err := parse.ParseArgs([]string{
		"-A", "INPUT", "-m", "conntrack", "--ctstate", "est,rel", "--ctproto", "tcp", "--ctorigsrc", "10.1.2.3/255.255.0.0", "-j", "ACCEPT",
	}, parse.Options{Family: parse.IPv4})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(rule)

	ct := rule.Matches[0].(*parse.Conntrack)
	for _, o := range ct.Options {
		fmt.Printf("col %d: --%s %s\n", o.Pos()+1, o.Kind, o.ValueString())
	}

	_, err = parse.ParseArgs([]string{"-m", "conntrack", "--ctstate", "NEW,BOGUS"}, parse.Options{})
	fmt.Printf("%+v\n", err)
	// Output:
	// -A INPUT -m conntrack --ctstate RELATED,ESTABLISHED --ctproto 6 --ctorigsrc 10.1.2.3/16 -j ACCEPT
	// col 23: --ctstate RELATED,ESTABLISHED
	// col 41: --ctproto 6
	// col 55: --ctorigsrc 10.1.2.3/16
	// col 28: unknown conntrack state "BOGUS"
	//   -m conntrack --ctstate NEW,BOGUS
	//                              ^^^^^
	// expected INVALID, NEW, ESTABLISHED, RELATED, UNTRACKED, SNAT or DNAT
}
