package lab

import (
	"bufio"
	"fmt"
	"math"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ctmatch/ctmatch/expr"
)

// The kernel's jiffies counter, as the test reads it: /proc/timer_list
// gives it (64 bits) with the monotonic time of the reading ("now at N
// nsecs").

// readJiffies returns the kernel's jiffies and the CLOCK_MONOTONIC time, in
// nanoseconds, at which /proc/timer_list read them.
func readJiffies() (j uint64, mono int64, err error) {
	f, err := os.Open("/proc/timer_list")
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	haveNow, haveJ := false, false
	sc := bufio.NewScanner(f)
	for sc.Scan() && !(haveNow && haveJ) {
		line := sc.Text()
		if s, ok := strings.CutPrefix(line, "now at "); ok && !haveNow {
			mono, err = strconv.ParseInt(strings.TrimSuffix(s, " nsecs"), 10, 64)
			haveNow = err == nil
		}
		if s, ok := strings.CutPrefix(line, "jiffies: "); ok && !haveJ {
			j, err = strconv.ParseUint(s, 10, 64)
			haveJ = err == nil
		}
	}
	if !haveNow || !haveJ {
		return 0, 0, fmt.Errorf("/proc/timer_list: no \"now at\" and \"jiffies:\" lines (%v)", sc.Err())
	}
	return j, mono, nil
}

func monoNow() int64 {
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return ts.Nano()
}

// A jiffyClock maps the monotonic clock onto the kernel's jiffies.
type jiffyClock struct {
	hz   uint32
	j    uint64
	mono int64
}

// newJiffyClock reads the jiffies twice, half a second apart, and takes HZ
// as the one of the kernel's choices (CONFIG_HZ) that the rate is.
func newJiffyClock(t *testing.T) jiffyClock {
	t.Helper()
	j0, m0, err := readJiffies()
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	j1, m1, err := readJiffies()
	if err != nil {
		t.Fatal(err)
	}
	rate := float64(j1-j0) / (float64(m1-m0) / 1e9)
	for _, hz := range []uint32{100, 250, 300, 1000} {
		if math.Abs(rate-float64(hz)) < 0.05*float64(hz) {
			return jiffyClock{hz: hz, j: j1, mono: m1}
		}
	}
	t.Fatalf("the jiffies advance %.1f times a second: no CONFIG_HZ the test knows", rate)
	return jiffyClock{}
}

// at returns the jiffies at monotonic time mono.
func (c jiffyClock) at(mono int64) uint64 {
	return c.j + uint64((mono-c.mono)*int64(c.hz)/1e9)
}

// monoAt returns the monotonic time at which the jiffies reach j.
func (c jiffyClock) monoAt(j uint64) int64 {
	return c.mono + int64(j-c.j)*1e9/int64(c.hz)
}

// aim returns the first jiffies, from 200 ms on, that ok accepts, within
// two seconds.
func (c jiffyClock) aim(ok func(j uint32) bool) (uint64, bool) {
	from := c.at(monoNow()) + uint64(c.hz)/5
	for j := from; j < from+2*uint64(c.hz); j++ {
		if ok(uint32(j)) {
			return j, true
		}
	}
	return 0, false
}

// A firstFlow is one UDP flow of the test: its client port, how its first
// packet is aimed (the UDP timeout to set, the jiffies to send at), and what
// that packet reads.
type firstFlow struct {
	name   string
	port   int
	target uint64                                                 // the second the flow's timeout puts its first packet at (and a half)
	aimed  func(c jiffyClock) (timeout uint32, j uint64, ok bool) // the timeout to set and the jiffies to send at
	want   Reading                                                // what the first packet reads, set when it is sent
	sent   bool
}

// firstWords is a case of the test: the first packet of the flow from port,
// reading second s.
func firstWords(port int, s uint64) string {
	return fmt.Sprintf("-m conntrack ! --ctstatus CONFIRMED --ctorigsrcport %d --ctexpire %d", port, s)
}

// readsSecond is the nft side of such a case: ctmatch's rule for the words
// but --ctexpire, and ct expiration within the milliseconds of second s as
// nft's 32 bits hold them (modulo 2³², where xt's seconds are beyond them).
func readsSecond(port int, s uint64) Translation {
	return func(c Case, table expr.Family) ([]Piece, error) {
		rules, err := CtmatchRules(Case{Words: fmt.Sprintf("-m conntrack ! --ctstatus CONFIRMED --ctorigsrcport %d", port), Family: c.Family}, table)
		if err != nil {
			return nil, err
		}
		if len(rules) != 1 {
			return nil, fmt.Errorf("%d rules for the words without --ctexpire", len(rules))
		}
		lo := uint32(s * 1000)
		hi := lo + 999
		if hi < lo {
			hi = math.MaxUint32
		}
		r := rules[0]
		r.Matches = append(r.Matches, expr.Ct{Key: expr.CtExpiration, Op: expr.OpRange, Lo: lo, Hi: hi})
		b, err := r.Lower(table)
		return []Piece{{Wire: b}}, err
	}
}

// On a flow's first packet, whose conntrack is not confirmed yet,
// xt_conntrack's --ctexpire and nft's ct expiration read the same remaining
// time, the one FirstPacket gives: timeout·HZ − jiffies, which depends on
// the host's uptime. Three UDP flows, each first packet sent when the
// remaining time is in the middle of a second (so that a tick between the
// two reads changes no whole second): one with the kernel's UDP timeout, at
// this machine's uptime; and two with a timeout set in the lab's namespaces
// (nf_conntrack_udp_timeout) so that timeout·HZ − jiffies is what a UDP
// flow's first packet reads at an uptime of 120 s, and of 100 days. For each
// second the test counts, with xt and with nft, the flow's first packet if
// it reads that second: exactly the second FirstPacket predicts counts it,
// at the router and at the server, in xt and in nft (nft's milliseconds
// taken modulo 2³², where the seconds are beyond 32 bits: there the lab's
// own rule, which Report.Limits rests on, counts the packet too).
func TestLabFirstPacketReadings(t *testing.T) {
	l := New(t)
	clock := newJiffyClock(t)
	hz := clock.hz
	deflt, err := Sysctl(l.Router, "net/netfilter/nf_conntrack_udp_timeout")
	if err != nil {
		t.Fatal(err)
	}
	udpTimeout, err := strconv.ParseUint(deflt, 10, 32)
	if err != nil {
		t.Fatal(err)
	}
	// emulate sets the timeout so that a first packet sent at the jiffies it
	// returns reads r.5 s.
	emulate := func(r uint64) func(c jiffyClock) (uint32, uint64, bool) {
		return func(c jiffyClock) (uint32, uint64, bool) {
			left := r*uint64(hz) + uint64(hz)/2
			if left > math.MaxInt32 {
				return 0, 0, false
			}
			var timeout uint32
			j, ok := c.aim(func(j uint32) bool {
				x := uint32(left) + j // timeout·HZ, modulo 2³²
				timeout = x / hz
				return x%hz == 0 && x <= math.MaxInt32 // the sysctl holds an int of jiffies
			})
			return timeout, j, ok
		}
	}
	flows := []*firstFlow{
		{name: "now", port: 40401, aimed: func(c jiffyClock) (uint32, uint64, bool) {
			j, ok := c.aim(func(j uint32) bool {
				left := int32(uint32(udpTimeout)*hz - j)
				return left <= 0 || uint32(left)%hz == hz/2
			})
			return uint32(udpTimeout), j, ok
		}},
		// 30 + 300 − 120 s, at any HZ.
		{name: "uptime 120 s", port: 40402, target: 210},
		// At HZ=250 (TestFirstPacket): reachable where 8,540,199.5·HZ
		// jiffies fit the sysctl's int.
		{name: "uptime 100 days", port: 40403, target: 8540199},
	}
	for _, f := range flows {
		if f.aimed == nil {
			f.aimed = emulate(f.target)
		}
	}
	// The seconds each flow's first packet may read: the emulated ones
	// are known; at this uptime, those of the next two minutes.
	seconds := func(f *firstFlow) []uint64 {
		if f.name != "now" {
			r := f.target
			if r == 0 {
				return []uint64{0, 1}
			}
			return []uint64{r - 1, r, r + 1}
		}
		j := clock.at(monoNow())
		var out []uint64
		for d := uint64(0); d <= 120*uint64(hz); d += uint64(hz) / 2 {
			s := FirstPacket(uint32(udpTimeout), uint32(j+d), hz).Seconds
			if len(out) == 0 || out[len(out)-1] != s {
				out = append(out, s)
			}
		}
		return out
	}
	var cases []Case
	caseOf := map[int]*firstFlow{}
	caseSecond := map[int]uint64{}
	for _, f := range flows {
		for _, s := range seconds(f) {
			caseOf[len(cases)] = f
			caseSecond[len(cases)] = s
			w := firstWords(f.port, s)
			cases = append(cases, Case{Name: f.name + ": " + w, Words: w, Family: IPv4, Translation: readsSecond(f.port, s)})
		}
	}
	// And ctmatch's own translation of the seconds beyond 32 bits of
	// milliseconds, which never matches: where the 100-day flow's first
	// packet is beyond them, xt counts it and nft cannot, and the lab
	// reports that as the limit it is.
	const limitName = "ctmatch beyond 32 bits"
	limitWords := fmt.Sprintf("-m conntrack ! --ctstatus CONFIRMED --ctorigsrcport %d --ctexpire 4294968:4294967295", flows[2].port)
	cases = append(cases, Case{Name: limitName, Words: limitWords, Family: IPv4})
	var phases []Phase
	for _, f := range flows {
		phases = append(phases, Phase{Name: f.name, Run: func(l *Lab) (Class, error) {
			a := IPv4.Addrs()
			c := Class{Name: "first " + f.name, Family: IPv4, Desc: fmt.Sprintf("UDP %s → %s, one datagram each way", hostPort(a.Client, f.port), hostPort(a.Server, PortUDP)),
				States: []string{"NEW", "ESTABLISHED"}, Router: 2, Server: 1}
			timeout, j, ok := f.aimed(clock)
			if !ok {
				// Not every reading can be had at every uptime: the sysctl
				// holds at most 2³¹−1 jiffies. The flow still runs.
				t.Logf("%s: no timeout puts a first packet there at this uptime", f.name)
				timeout, j = uint32(udpTimeout), clock.at(monoNow())
			}
			if err := setSysctls(l.Router, [][2]string{{"net/netfilter/nf_conntrack_udp_timeout", strconv.Itoa(int(timeout))}}); err != nil {
				return c, err
			}
			if err := setSysctls(l.Server, [][2]string{{"net/netfilter/nf_conntrack_udp_timeout", strconv.Itoa(int(timeout))}}); err != nil {
				return c, err
			}
			c.First = both(timeout, 1)
			time.Sleep(time.Duration(clock.monoAt(j) - monoNow()))
			sent := clock.at(monoNow())
			if off := time.Duration((int64(sent) - int64(j)) * 1e9 / int64(hz)); ok && off > 200*time.Millisecond {
				return c, fmt.Errorf("%s: the first packet left %v after its aim, outside x.3–x.7 s", f.name, off)
			}
			f.want, f.sent = FirstPacket(timeout, uint32(j), hz), ok
			if f.target != 0 && ok {
				// By construction the packet reads target.5 s; the lab's
				// model of the kernel (FirstPacket) must say so too.
				want := Reading{f.target, uint32(f.target*1000 + 500)}
				if f.want != want {
					t.Errorf("%s: FirstPacket(%d, %d, %d) = %+v, want %+v", f.name, timeout, uint32(j), hz, f.want, want)
				}
				f.want = want
			}
			srv := netip.AddrPortFrom(a.Server, PortUDP)
			c.Desc += fmt.Sprintf(", timeout %d s, sent at jiffies %d: the first packet reads %d s (nft %d ms)", timeout, uint32(j), f.want.Seconds, f.want.Millis)
			return c, l.udpExchange(IPv4, f.port, srv, srv)
		}})
	}
	rep, err := l.Differential(expr.FamilyIP, cases, phases)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	rep.Format(&b)
	t.Logf("HZ %d\n%s", hz, b.String())
	for _, d := range rep.Divergences {
		t.Errorf("xt and nft read different times: %s", d)
	}
	var limits []string
	for _, d := range rep.Limits {
		limits = append(limits, d.Class+" "+d.Point+" "+d.Case)
	}
	var wantLimits []string
	if f := flows[2]; f.sent && f.want.Beyond32() {
		for _, pt := range Points {
			wantLimits = append(wantLimits, "first "+f.name+" "+pt.Name+" "+limitName)
		}
	}
	if !slices.Equal(limits, wantLimits) {
		t.Errorf("the lab reports the limit at %q, want %q", limits, wantLimits)
	}
	for p, f := range flows {
		if !f.sent {
			continue
		}
		for q, pt := range Points {
			for i := range cases {
				if caseOf[i] != f {
					continue
				}
				n := rep.Counts[p][q][i]
				want := uint64(0)
				if caseSecond[i] == f.want.Seconds {
					want = 1
				}
				if n.XT != want || n.NFT != want {
					t.Errorf("%s, at the %s, %s: xt counted %d, nft %d; want %d (the first packet reads %d s)", f.name, pt.Name, cases[i].Words, n.XT, n.NFT, want, f.want.Seconds)
				}
			}
			beyond := uint64(0)
			if f.want.Beyond32() {
				beyond = 1
			}
			if rep.Beyond[p][q] != beyond {
				t.Errorf("%s, at the %s: the lab's rule counted %d first packets beyond nft's 32 bits, want %d", f.name, pt.Name, rep.Beyond[p][q], beyond)
			}
		}
	}
}
