package firewall_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ctmatch/ctmatch/internal/ktest"
)

// TestKernelManager runs the manager of Example_manager (docs/api.md) in a
// namespace: every call succeeds, the second sync is one transaction with
// the diff shown, the third sends nothing, and the table is gone at the
// end.
func TestKernelManager(t *testing.T) {
	ns := ktest.Namespace(t, "nft")
	var out bytes.Buffer
	if err := manage(context.Background(), ns.Path(), &out); err != nil {
		t.Fatalf("%v\noutput so far:\n%s", err, out.String())
	}
	want := `# sync: ports 22 and 80
add table inet fw
add ct helper inet fw ftp-std { type "ftp" protocol tcp; }
add chain inet fw input { type filter hook input priority 10; policy drop; }
+ -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT # replies
+ -p udp -m multiport --dports 53,123 -j ACCEPT # dns and ntp
+ -m conntrack --ctstate NEW -j services
add chain inet fw services
+ -m conntrack --ctstate NEW --ctproto 6 --ctorigdstport 22 -j ACCEPT # port 22
+ -m conntrack --ctstate NEW --ctproto 6 --ctorigdstport 80 -j ACCEPT # port 80
# list
# table inet fw
# chain input (type filter hook input priority 10; policy drop)
-A input -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A input -p udp -m multiport --dports 53,123 -j ACCEPT
-A input -m conntrack --ctstate NEW -j services
# chain services
-A services -m conntrack --ctstate NEW --ctproto 6 --ctorigdstport 22 -j ACCEPT
-A services -m conntrack --ctstate NEW --ctproto 6 --ctorigdstport 80 -j ACCEPT
-A services -m conntrack --ctstate NEW --ctproto 6 --ctorigdstport 8080 -j ACCEPT
# ct helper ftp-std: "ftp", used by 0 rules
# sync: ports 22 and 443
flush chain inet fw services
- -m conntrack --ctstate NEW --ctproto 6 --ctorigdstport 80 -j ACCEPT # port 80
- -m conntrack --ctstate NEW --ctproto 6 --ctorigdstport 8080 -j ACCEPT # by hand
+ -m conntrack --ctstate NEW --ctproto 6 --ctorigdstport 443 -j ACCEPT # port 443
# sync: the same again
# nothing to change: nothing sent
# delete
`
	if diff := cmp.Diff(want, out.String()); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
	if rs := ktest.Run(t, ns, "", "nft", "list", "ruleset"); rs != "" {
		t.Errorf("the ruleset after manage:\n%s", rs)
	}
}
