package lab

import (
	"fmt"
	"maps"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/internal/netns"
)

// The kernel's jiffies counter, as the test reads it (readJiffies, hz.go):
// /proc/timer_list gives it (64 bits) with the monotonic time of the
// reading ("now at N nsecs").

// A jiffyClock maps the monotonic clock onto the kernel's jiffies.
type jiffyClock struct {
	hz   uint32
	j    uint64
	mono int64
}

// newJiffyClock measures HZ (measureHZ) and keeps its last reading.
func newJiffyClock(t *testing.T) jiffyClock {
	t.Helper()
	hz, j, mono, err := measureHZ()
	if err != nil {
		t.Fatal(err)
	}
	return jiffyClock{hz: hz, j: j, mono: mono}
}

// at returns the jiffies at monotonic time mono.
func (c jiffyClock) at(mono int64) uint64 {
	return c.j + uint64((mono-c.mono)*int64(c.hz)/1e9)
}

// monoAt returns the monotonic time at which the jiffies reach j.
func (c jiffyClock) monoAt(j uint64) int64 {
	return c.mono + int64(j-c.j)*1e9/int64(c.hz)
}

// aim returns the first jiffies, from lead after now on, that ok accepts,
// within two seconds.
func (c jiffyClock) aim(lead time.Duration, ok func(j uint32) bool) (uint64, bool) {
	from := c.at(monoNow() + int64(lead))
	for j := from; j < from+2*uint64(c.hz); j++ {
		if ok(uint32(j)) {
			return j, true
		}
	}
	return 0, false
}

// A firstFlow is one UDP flow of the test: its client port, how its first
// packet is aimed (the UDP timeout to set, the jiffies to send at), and when
// it was sent.
type firstFlow struct {
	name   string
	port   int
	target uint64 // the second the flow's timeout puts its first packet at (and a half)
	// aimed returns the timeout to set and the jiffies, lead or more from
	// now, to send at.
	aimed func(c jiffyClock, lead time.Duration) (timeout uint32, j uint64, ok bool)
	// Set when the flow's first packet is sent: the timeout it set, the
	// jiffies it was aimed at, and those read from the kernel right before
	// it was sent (from) and once the exchange was over (after), when it
	// had crossed both points. ok says that the timeout is the one aimed
	// for.
	timeout          uint32
	aim, from, after uint64
	ok               bool
}

// An observed reading is what the counts say a first packet read at a point:
// the second xt and nft counted it in, and whether nft's milliseconds
// passed 32 bits (Reading.Beyond32).
type observed struct {
	seconds uint64
	beyond  bool
}

func (o observed) String() string {
	if o.beyond {
		return fmt.Sprintf("%d s beyond 32 bits of ms", o.seconds)
	}
	return fmt.Sprintf("%d s", o.seconds)
}

// readable returns what the flow's first packet may have read at a point
// (FirstPacket), sent and through both points between the jiffies from and
// after.
func (f *firstFlow) readable(hz uint32) map[observed]bool {
	out := map[observed]bool{}
	for j := f.from; j <= f.after; j++ {
		r := FirstPacket(f.timeout, uint32(j), hz)
		out[observed{r.Seconds, r.Beyond32()}] = true
	}
	return out
}

// firstWords is a case of the test: the first packet of the flow from port,
// reading second s.
func firstWords(port int, s uint64) string {
	return fmt.Sprintf("-m conntrack ! --ctstatus CONFIRMED --ctorigsrcport %d --ctexpire %d", port, s)
}

// readsSecond is the nft side of such a case: ctmatch's rule for the words
// but --ctexpire, and ct expiration within the milliseconds of second s as
// nft's 32 bits hold them, modulo 2³². Where the second's milliseconds pass
// 2³²−1 (second 4,294,967, past its first 0.296 s), the second piece holds
// those past it: its count says that the packet read beyond 32 bits.
func readsSecond(port int, s uint64) Translation {
	return func(c Case, table expr.Family) ([]Piece, error) {
		rules, err := CtmatchRules(Case{Words: fmt.Sprintf("-m conntrack ! --ctstatus CONFIRMED --ctorigsrcport %d", port), Family: c.Family}, table)
		if err != nil {
			return nil, err
		}
		if len(rules) != 1 {
			return nil, fmt.Errorf("%d rules for the words without --ctexpire", len(rules))
		}
		lo := s * 1000 % (1 << 32)
		hi := lo + 999
		ranges := [][2]uint64{{lo, hi}}
		if hi > math.MaxUint32 {
			ranges = [][2]uint64{{lo, math.MaxUint32}, {0, hi - 1<<32}}
		}
		var ps []Piece
		for _, rg := range ranges {
			r := rules[0]
			r.Matches = append(slices.Clip(r.Matches), expr.Ct{Key: expr.CtExpiration, Op: expr.OpRange, Lo: uint32(rg[0]), Hi: uint32(rg[1])})
			b, err := r.Lower(table)
			if err != nil {
				return nil, err
			}
			ps = append(ps, Piece{Wire: b})
		}
		return ps, nil
	}
}

// On a flow's first packet, whose conntrack is not confirmed yet,
// xt_conntrack's --ctexpire and nft's ct expiration read the same remaining
// time, the one FirstPacket gives: timeout·HZ − jiffies, which depends on
// the host's uptime. Four UDP flows, each first packet aimed at when the
// remaining time is in the middle of a second: one with the kernel's UDP
// timeout, at this machine's uptime; and three with a timeout set in the
// lab's namespaces (nf_conntrack_udp_timeout) so that timeout·HZ − jiffies
// is what a UDP flow's first packet reads at an uptime of 120 s, at one of
// 100 days, and at the edge of nft's 32 bits of milliseconds (4,294,967.5 s,
// whose milliseconds are past 2³²−1). For each second the test counts,
// with xt and with nft, the flow's first packet if it reads that second (nft's
// milliseconds taken modulo 2³²): at the router and at the server, xt and nft
// count it in the same second, one that FirstPacket gives for a jiffies
// counter between the packet's aim and the end of its exchange (a busy
// machine may send it late), and beyond 32 bits where FirstPacket says so.
// The lab's own rule counts the packets that may be beyond 32 bits, and
// reports as limits the divergences of ctmatch's rules that they make, and
// only those.
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
	emulate := func(r uint64) func(c jiffyClock, lead time.Duration) (uint32, uint64, bool) {
		return func(c jiffyClock, lead time.Duration) (uint32, uint64, bool) {
			left := r*uint64(hz) + uint64(hz)/2
			if left > math.MaxInt32 {
				return 0, 0, false
			}
			var timeout uint32
			j, ok := c.aim(lead, func(j uint32) bool {
				x := uint32(left) + j // timeout·HZ, modulo 2³²
				timeout = x / hz
				return x%hz == 0 && x <= math.MaxInt32 // the sysctl holds an int of jiffies
			})
			return timeout, j, ok
		}
	}
	flows := []*firstFlow{
		{name: "now", port: 40401, aimed: func(c jiffyClock, lead time.Duration) (uint32, uint64, bool) {
			j, ok := c.aim(lead, func(j uint32) bool {
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
		// 4,294,967,500 ms: nft reads 204 ms, xt 4294967 s. Reachable
		// at HZ below 500.
		{name: "32-bit edge", port: 40404, target: MaybeBeyondSeconds},
	}
	for _, f := range flows {
		if f.aimed == nil {
			f.aimed = emulate(f.target)
		}
	}
	hundredDays, edge := flows[2], flows[3]
	// A reading that needs more jiffies than a timeout holds (2³¹−1, see
	// MaxTimeout) cannot be had on this kernel at any uptime: its flow is
	// left out, and said so. At HZ=100 and 250 every flow runs; at HZ=300
	// the 100-day one is out; at HZ=1000 the 32-bit edge too.
	flows = slices.DeleteFunc(flows, func(f *firstFlow) bool {
		if f.target != 0 && f.target >= MaxTimeout(hz) {
			t.Logf("%s: left out at HZ=%d: a first packet reading %d.5 s needs a timeout of more than 2³¹−1 jiffies, the most the kernel holds (%d s)", f.name, hz, f.target, MaxTimeout(hz))
			return true
		}
		return false
	})
	// The seconds each flow's first packet may read: around the emulated
	// ones (a late packet reads a second less); at this uptime, those of
	// the next two minutes.
	seconds := func(f *firstFlow) []uint64 {
		if f.name != "now" {
			var out []uint64
			for s := max(f.target, 2) - 2; s <= f.target+1; s++ {
				out = append(out, s)
			}
			return out
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
	secondsOf := map[*firstFlow][]uint64{}
	for _, f := range flows {
		secondsOf[f] = seconds(f)
		for _, s := range secondsOf[f] {
			caseOf[len(cases)] = f
			caseSecond[len(cases)] = s
			w := firstWords(f.port, s)
			cases = append(cases, Case{Name: f.name + ": " + w, Words: w, Family: IPv4, Translation: readsSecond(f.port, s)})
		}
	}
	// And ctmatch's own translations where 32 bits of milliseconds end:
	// 4294968:4294967295, which never matches, and 4294967, which matches
	// up to 4,294,967,295 ms. xt counts the 100-day flow's first packet
	// with the first, where it reads beyond them, and the edge flow's with
	// the second, where nft cannot: the lab reports each as the limit it
	// is.
	type limitCase struct {
		flow     *firstFlow
		name     string
		diverges func(o observed) bool // whether xt counts a packet that reads o and ctmatch's rule does not
	}
	limitCases := map[int]limitCase{}
	for _, lc := range []limitCase{
		{hundredDays, "ctmatch beyond 32 bits", func(o observed) bool { return o.seconds > MaybeBeyondSeconds }},
		{edge, "ctmatch at the 32-bit edge", func(o observed) bool { return o.seconds == MaybeBeyondSeconds && o.beyond }},
	} {
		if !slices.Contains(flows, lc.flow) {
			continue
		}
		limitCases[len(cases)] = lc
		words := fmt.Sprintf("-m conntrack ! --ctstatus CONFIRMED --ctorigsrcport %d --ctexpire 4294968:4294967295", lc.flow.port)
		if lc.flow == edge {
			words = fmt.Sprintf("-m conntrack ! --ctstatus CONFIRMED --ctorigsrcport %d --ctexpire 4294967", lc.flow.port)
		}
		cases = append(cases, Case{Name: lc.name, Words: words, Family: IPv4})
	}
	var phases []Phase
	for _, f := range flows {
		phases = append(phases, Phase{Name: f.name, Run: func(l *Lab) (Class, error) {
			a := IPv4.Addrs()
			c := Class{Name: "first " + f.name, Family: IPv4, Desc: fmt.Sprintf("UDP %s → %s, one datagram each way", hostPort(a.Client, f.port), hostPort(a.Server, PortUDP)),
				States: []string{"NEW", "ESTABLISHED"}, Router: 2, Server: 1}
			// Once the sockets are open: set the timeout, and wait for the
			// jiffies to send at. A sender that wakes more than 100 ms
			// late aims again, from further ahead, up to five times; then
			// it sends anyway, and the counts are judged on what the packet
			// may read from its aim on.
			var late time.Duration
			ready := func() error {
				for tries := 1; ; tries++ {
					timeout, j, ok := f.aimed(clock, 200*time.Millisecond<<(tries-1))
					if !ok {
						// Not every reading can be had at every uptime: the
						// sysctl holds at most 2³¹−1 jiffies. The flow still
						// runs.
						t.Logf("%s: no timeout puts a first packet there at this uptime", f.name)
						timeout, j = uint32(udpTimeout), clock.at(monoNow())
					}
					for _, ns := range []*netns.NS{l.Router, l.Server} {
						if err := setSysctls(ns, [][2]string{{"net/netfilter/nf_conntrack_udp_timeout", strconv.Itoa(int(timeout))}}); err != nil {
							return err
						}
					}
					time.Sleep(time.Duration(clock.monoAt(j) - monoNow()))
					// The jiffies of the moment, read from the kernel: the
					// packet is sent after them.
					now, _, err := readJiffies()
					if err != nil {
						return err
					}
					f.timeout, f.aim, f.from, f.ok = timeout, j, now, ok
					late = time.Duration((int64(now) - int64(j)) * 1e9 / int64(hz))
					if !ok || late <= 100*time.Millisecond || tries == 5 {
						if ok && now < j {
							// The clock woke the sender early: the packet is
							// judged from now on, all the same.
							t.Logf("%s: sent %d jiffies before its aim", f.name, j-now)
						}
						return nil
					}
				}
			}
			c.First = both(uint32(udpTimeout), 1)
			srv := netip.AddrPortFrom(a.Server, PortUDP)
			if err := l.udpExchangeAt(IPv4, f.port, srv, srv, ready); err != nil {
				return c, err
			}
			after, _, err := readJiffies()
			if err != nil {
				return c, err
			}
			f.after = after
			c.First = both(f.timeout, 1)
			aimed := FirstPacket(f.timeout, uint32(f.aim), hz)
			if f.target != 0 && f.ok {
				// By construction the packet aimed reads target.5 s; the
				// lab's model of the kernel (FirstPacket) must say so too.
				if want := (Reading{f.target, uint32(f.target*1000 + 500)}); aimed != want {
					t.Errorf("%s: FirstPacket(%d, %d, %d) = %+v, want %+v", f.name, f.timeout, uint32(f.aim), hz, aimed, want)
				}
			}
			c.Desc += fmt.Sprintf(", timeout %d s, aimed at jiffies %d, sent from %d (%v late), the exchange over by %d: the first packet aimed reads %d s (nft %d ms)",
				f.timeout, uint32(f.aim), uint32(f.from), late.Round(time.Millisecond), uint32(f.after), aimed.Seconds, aimed.Millis)
			return c, nil
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
	var limits, wantLimits []string
	for _, d := range rep.Limits {
		limits = append(limits, d.Class+" "+d.Point+" "+d.Case)
	}
	for p, f := range flows {
		can := f.readable(hz)
		covered := true
		for o := range can {
			covered = covered && slices.Contains(secondsOf[f], o.seconds)
		}
		for q, pt := range Points {
			var read []observed
			for i := range cases {
				if caseOf[i] != f {
					continue
				}
				n := rep.Counts[p][q][i]
				if n.XT != n.NFT || n.XT > 1 {
					t.Errorf("%s, at the %s, %s: xt counted %d, nft %d; want both 0 or both 1", f.name, pt.Name, cases[i].Words, n.XT, n.NFT)
				}
				if n.XT == 1 {
					s := caseSecond[i]
					read = append(read, observed{s, s > MaybeBeyondSeconds || len(n.Pieces) > 1 && n.Pieces[1] == 1})
				}
			}
			switch {
			case len(read) > 1:
				t.Errorf("%s, at the %s: the first packet counted as reading %v", f.name, pt.Name, read)
				continue
			case len(read) == 0 && covered:
				t.Errorf("%s, at the %s: the first packet counted in no second; it may read %v", f.name, pt.Name, slices.Collect(maps.Keys(can)))
				continue
			case len(read) == 0:
				t.Logf("%s, at the %s: the first packet may read %v, beyond the seconds the test counts (the jiffies from %d to %d)", f.name, pt.Name, slices.Collect(maps.Keys(can)), f.from, f.after)
				continue
			}
			o := read[0]
			if !can[o] {
				t.Errorf("%s, at the %s: the first packet read %v; FirstPacket(%d, j, %d) gives %v for j from %d to %d", f.name, pt.Name, o, f.timeout, hz, slices.Collect(maps.Keys(can)), f.from, f.after)
			}
			beyond := uint64(0)
			if o.seconds >= MaybeBeyondSeconds {
				beyond = 1
			}
			if rep.Beyond[p][q] != beyond {
				t.Errorf("%s, at the %s: the first packet read %v; the lab's rule counted %d first packets that may be beyond nft's 32 bits, want %d", f.name, pt.Name, o, rep.Beyond[p][q], beyond)
			}
			for i := len(cases) - len(limitCases); i < len(cases); i++ {
				if lc := limitCases[i]; lc.flow == f && lc.diverges(o) {
					wantLimits = append(wantLimits, "first "+f.name+" "+pt.Name+" "+lc.name)
				}
			}
		}
	}
	if !slices.Equal(limits, wantLimits) {
		t.Errorf("the lab reports the limit at %q, want %q", limits, wantLimits)
	}
}
