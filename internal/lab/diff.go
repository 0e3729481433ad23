package lab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ctmatch/ctmatch"
	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/internal/netns"
	"github.com/ctmatch/ctmatch/kernel"
)

// A Case is one conntrack match the differential check runs: as an
// iptables rule, run by the kernel's xt_conntrack, and as the nft rules a
// Translation gives for it.
type Case struct {
	Name   string
	Words  string // the match as iptables words: "-m conntrack --ctstate NEW"
	Family Family // IPv4: iptables words; IPv6: ip6tables words
	// Never says that no packet of the lab's traffic can match (such as
	// --ctstatus NONE). Every other case must match some packets of its
	// family and not others, or the report says it proves nothing.
	Never bool
	// Always says that every packet of the case's family that the lab
	// sends matches (such as the list of every state).
	Always bool
	// Translation gives the nft rules; nil means ctmatch's (Ctmatch).
	Translation Translation
	// Points names the points (of Points) the case runs at; nil means
	// every point whose hook its words may be used in (a rule with -o
	// runs at the router's forward hook only). At the other points both
	// sides count nothing for it.
	Points []string
}

// A Piece is one nft rule of a translation, as wire expressions (the
// payload of NFTA_RULE_EXPRESSIONS, loaded through kernel/) or as nft text
// (loaded with the nft tool). Its first counter is what the lab reads; the
// lab appends the statement that sets the piece's own bit in the packet's priority (PriorityBit).
type Piece struct {
	Wire []byte
	Text string
	// Rule, when set, is the rule itself, which the lab lowers when it
	// loads it (expr.Rule.LowerSets) with the anonymous sets its lookups
	// need, sent before it in the same transaction; Wire is then unused.
	Rule *expr.Rule
}

// A Translation gives the nft rules of a case for a table of family table.
type Translation func(c Case, table expr.Family) ([]Piece, error)

// Ctmatch is ctmatch's translation: ctmatch.Translate, lowered for the
// table's family.
func Ctmatch(c Case, table expr.Family) ([]Piece, error) {
	rules, err := CtmatchRules(c, table)
	if err != nil {
		return nil, err
	}
	var ps []Piece
	for _, r := range rules {
		if r.HasLookup() {
			// Multiport's lists: lowered with their sets when loaded.
			if _, _, err := r.LowerSets(table, 1); err != nil {
				return nil, err
			}
			ps = append(ps, Piece{Rule: &r})
			continue
		}
		b, err := r.Lower(table)
		if err != nil {
			return nil, err
		}
		ps = append(ps, Piece{Wire: b})
	}
	return ps, nil
}

// CtmatchRules returns ctmatch's nft rules for a case, checking that they
// count and have no verdict (a case is a match alone).
func CtmatchRules(c Case, table expr.Family) ([]expr.Rule, error) {
	r, err := ctmatch.Translate(c.Words, ctmatch.Options{Table: table, IPv6: c.Family == IPv6})
	if err != nil {
		return nil, err
	}
	for _, nr := range r.Rules {
		if !nr.Counter || nr.Verdict.Kind != expr.VerdictNone {
			return nil, fmt.Errorf("%q: rule %q: want a counter and no verdict", c.Words, nr)
		}
	}
	return r.Rules, nil
}

// A Point is where the lab puts every case: a hook in one of its namespaces.
type Point struct {
	Name    string // "router" or "server"
	Hook    kernel.Hook
	XTChain string // the iptables built-in chain of the hook
	ns      func(*Lab) *netns.NS
	// in, for a point that shares its namespace with another, sets its
	// chains and tables apart: the xt chains are L<in>N and the native
	// table lab<in>.
	in string
}

// chain returns the name of the xt chain of case i at the point.
func (pt Point) chain(i int) string { return "L" + pt.in + strconv.Itoa(i) }

// beyond returns the name of the lab's own xt chain at the point.
func (pt Point) beyond() string { return "L" + pt.in + "BEYOND" }

// table returns the name of the native table at the point.
func (pt Point) table() string { return tableName + pt.in }

// Points are the router's forward hook and the server's input hook: where
// a lab measures unless its Points say otherwise.
var Points = []Point{
	{"router", kernel.HookForward, "FORWARD", func(l *Lab) *netns.NS { return l.Router }, ""},
	{"server", kernel.HookInput, "INPUT", func(l *Lab) *netns.NS { return l.Server }, ""},
}

// The points of locally made and locally delivered packets, which whole
// rules need (owner, addrtype, pkttype): the client's output hook, which
// sees every packet the client sends with the socket that sent it, and the
// router's input hook, which sees what the client sends to the router's
// own addresses, to the link's broadcast and to multicast groups.
var (
	ClientOut = Point{"client-out", kernel.HookOutput, "OUTPUT", func(l *Lab) *netns.NS { return l.Client }, ""}
	RouterIn  = Point{"router-in", kernel.HookInput, "INPUT", func(l *Lab) *netns.NS { return l.Router }, "I"}
)

// AllPoints are Points and the points of locally made and delivered
// packets, in the order a report lists them.
var AllPoints = append(slices.Clip(Points), ClientOut, RouterIn)

// points returns where the lab measures.
func (l *Lab) points() []Point {
	if l.Points != nil {
		return l.Points
	}
	return Points
}

// Count is what one case counted at one point during one phase.
type Count struct {
	XT     uint64   // the xt rule's packets
	NFT    uint64   // the sum of the nft pieces' packets
	Pieces []uint64 // each piece's packets
	// Overlap is the packets that set two pieces' priority bits: a packet that
	// two pieces of one translation both matched.
	Overlap uint64
}

// A Divergence is a case, a class and a point where xt and nft counted
// different numbers of packets.
type Divergence struct {
	Case, Words, Class, Point string
	XT, NFT                   uint64
}

func (d Divergence) String() string {
	return fmt.Sprintf("%s (%s), class %s at the %s: xt counted %d, nft %d", d.Case, d.Words, d.Class, d.Point, d.XT, d.NFT)
}

// An Overlap is a class and a point where two pieces of one translation
// matched the same packet.
type Overlap struct {
	Case, Class, Point string
	Packets            uint64
}

func (o Overlap) String() string {
	return fmt.Sprintf("%s, class %s at the %s: %d packets matched two pieces", o.Case, o.Class, o.Point, o.Packets)
}

// Report is the outcome of a differential run.
type Report struct {
	Table   expr.Family
	Points  []Point // where the lab measured: Counts[phase][point] follow them
	Cases   []Case
	Pieces  []int    // the number of nft rules of each case
	Saved   []string // each xt rule as iptables-save or iptables-legacy-save lists it (at the first point it runs at)
	Classes []Class
	// Counts[phase][point][case] and Totals[phase][point][family]: the
	// packets of the lab's addresses each point saw in each phase.
	Counts      [][][]Count
	Totals      [][]map[Family]uint64
	Divergences []Divergence
	// Limits are the divergences of cases that read the remaining time
	// (ReadsExpire) at a class and a point where flows' first packets may
	// have read more than nft's 32 bits of milliseconds hold
	// (Reading.Beyond32: the host's uptime puts them there, see
	// FirstPacket), as many as make the whole difference between xt and
	// nft (Beyond): xt reads the seconds, nft the milliseconds modulo 2³²,
	// which no translation can make agree. They are not divergences of the
	// translation. A difference larger than those packets explain is a
	// divergence.
	Limits []Divergence
	// Beyond[phase][point] is the number of first packets, of the phase's
	// family, that xt counted as reading 4,294,967 s or more
	// (Reading.MaybeBeyond32: a rule of the lab's own, beyondWords). Those
	// that read exactly 4,294,967 s are beyond 32 bits in the last 0.704 s
	// of that second only, which xt's whole seconds cannot tell: the count
	// may be higher than the packets beyond, never lower.
	Beyond   [][]uint64
	Overlaps []Overlap
	// Uncovered names the cases whose xt rule matched every packet of its
	// family or none, unless the case says it must (Always, Never): such a
	// case proves little. A case with --ctexpire is judged on the packets
	// whose remaining time is the same at any uptime (Coverage).
	Uncovered []string
	Elapsed   time.Duration
	// At[point][case] says whether the case ran at the point: not where
	// its words cannot be used (Case.Points) or iptables refused its rule
	// (Refused says why).
	At      [][]bool
	Refused []string
}

// points returns where the report's counts were taken: Points unless it
// says otherwise.
func (r *Report) points() []Point {
	if r.Points != nil {
		return r.Points
	}
	return Points
}

// Comparisons is the number of (case, phase, point) counts compared.
func (r *Report) Comparisons() int { return len(r.Counts) * len(r.points()) * len(r.Cases) }

// Diverged reports whether case name diverged anywhere.
func (r *Report) Diverged(name string) bool {
	return slices.ContainsFunc(r.Divergences, func(d Divergence) bool { return d.Case == name })
}

// Overlapped reports whether two pieces of case name ever matched one packet.
func (r *Report) Overlapped(name string) bool {
	return slices.ContainsFunc(r.Overlaps, func(o Overlap) bool { return o.Case == name })
}

// Format writes, for each case, its words, its number of nft rules and, for
// each class where either side counted, the counts at the router and the
// server as xt/nft; divergences are marked with "!=".
func (r *Report) Format(w io.Writer) {
	fmt.Fprintf(w, "%s table: %d cases × %d classes × %d points = %d comparisons, %d divergences, %d overlaps, %d uncovered, in %v\n",
		r.Table, len(r.Cases), len(r.Classes), len(r.points()), r.Comparisons(), len(r.Divergences), len(r.Overlaps), len(r.Uncovered), r.Elapsed.Round(time.Millisecond))
	if len(r.Limits) > 0 {
		fmt.Fprintf(w, "  %d divergences at the 32-bit limit of ct expiration, on first packets the host's uptime puts beyond it\n", len(r.Limits))
	}
	for _, c := range r.Classes {
		fmt.Fprintf(w, "  class %s\n", c)
	}
	for i, c := range r.Cases {
		var parts []string
		for p, cl := range r.Classes {
			var pp []string
			for q, pt := range r.points() {
				n := r.Counts[p][q][i]
				if n.XT == 0 && n.NFT == 0 {
					continue
				}
				op := "/"
				if n.XT != n.NFT {
					op = "!="
				}
				pp = append(pp, fmt.Sprintf("%c%d%s%d", pt.Name[0], n.XT, op, n.NFT))
			}
			if len(pp) > 0 {
				parts = append(parts, cl.Name+":"+strings.Join(pp, ","))
			}
		}
		name := c.Words
		if c.Name != c.Words {
			name = c.Name + ": " + c.Words
		}
		fmt.Fprintf(w, "  %-60s [%d] %s\n", name, r.Pieces[i], strings.Join(parts, " "))
	}
	for _, d := range r.Divergences {
		fmt.Fprintf(w, "DIVERGENCE %s\n", d)
	}
	for _, d := range r.Limits {
		fmt.Fprintf(w, "LIMIT %s\n", d)
	}
	for _, o := range r.Overlaps {
		fmt.Fprintf(w, "OVERLAP %s\n", o)
	}
	for _, u := range r.Uncovered {
		fmt.Fprintf(w, "UNCOVERED %s\n", u)
	}
	for _, x := range r.Refused {
		fmt.Fprintf(w, "REFUSED %s\n", x)
	}
}

// tableName is the name of the native table the lab loads the translations
// into, in every namespace.
const tableName = "lab"

// installed is what the lab set up at one point.
type installed struct {
	pt    Point
	ns    *netns.NS
	conn  *kernel.Conn
	table expr.Family
	infos []wordsInfo
	// xt lists the xt sides and families that hold rules at the point;
	// beyond the families whose lab rule (Point.beyond) is installed.
	xt     map[Family][]backend
	beyond map[Family]bool
	// refused holds, by case, what iptables said when it refused the
	// case's rule at this point (a match the kernel allows at other hooks
	// only): the case does not run here.
	refused map[int]string
}

// has reports whether case i runs at the point.
func (in *installed) has(i int, c Case) bool {
	return c.at(in.pt, in.infos[i]) && in.refused[i] == ""
}

// Differential installs every case at every point of the lab (l.Points, by
// default Points) where it runs — the xt rule in a chain of its own of
// iptables' filter table (iptables-nft's for conntrack matches alone,
// iptables-legacy's for whole rules: rule.go), the translation's pieces in
// a chain of their own of a native table of family table, at the same hook
// and priority — runs each phase once, and compares, phase by phase, the
// packets each side counted. It returns an error only when the lab itself
// failed; what it found is in the report.
func (l *Lab) Differential(table expr.Family, cases []Case, phases []Phase) (*Report, error) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rep := &Report{Table: table, Points: l.points(), Cases: cases, Pieces: make([]int, len(cases)), Saved: make([]string, len(cases))}
	pieces := make([][]Piece, len(cases))
	for i, c := range cases {
		if table == expr.FamilyIP && c.Family == IPv6 || table == expr.FamilyIP6 && c.Family == IPv4 {
			return nil, fmt.Errorf("case %s: %s words in an %s table", c.Name, c.Family, table)
		}
		tr := c.Translation
		if tr == nil {
			tr = Ctmatch
		}
		ps, err := tr(c, table)
		if err != nil {
			return nil, fmt.Errorf("case %s: %w", c.Name, err)
		}
		if len(ps) == 0 || len(ps) > 16 {
			return nil, fmt.Errorf("case %s: %d pieces", c.Name, len(ps))
		}
		pieces[i] = ps
		rep.Pieces[i] = len(ps)
	}
	infos := make([]wordsInfo, len(cases))
	for i, c := range cases {
		w, err := readWords(c)
		if err != nil {
			return nil, err
		}
		if l.Stateless && w.conntrack {
			return nil, fmt.Errorf("case %s: a conntrack match in the lab without conntrack", c.Name)
		}
		if backendOf(w) == xtLegacy {
			if _, ok := xtWords(c.Words); ok {
				return nil, fmt.Errorf("case %s: a non-contiguous conntrack mask in a rule that iptables-legacy runs, where the lab cannot patch it", c.Name)
			}
		}
		infos[i] = w
	}
	var ins []*installed
	for _, pt := range rep.Points {
		in, err := l.install(ctx, pt, table, cases, infos, pieces)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", pt.Name, err)
		}
		ins = append(ins, in)
	}
	for q, in := range ins {
		rep.At = append(rep.At, make([]bool, len(cases)))
		for i, c := range cases {
			rep.At[q][i] = in.has(i, c)
			if why := in.refused[i]; why != "" {
				rep.Refused = append(rep.Refused, fmt.Sprintf("%s at the %s: %s", c.Name, in.pt.Name, why))
			}
		}
	}
	saved, err := l.xtSaved(ins, cases)
	if err != nil {
		return nil, err
	}
	rep.Saved = saved
	for i, c := range cases {
		if xr, ok := xtWords(c.Words); ok {
			for _, p := range xr.patches {
				if !strings.Contains(saved[i], p.text) {
					return nil, fmt.Errorf("case %s: iptables-save lists %q after the mask was patched, without %s", c.Name, saved[i], p.text)
				}
			}
		}
	}

	before, err := l.snapshot(ctx, ins, cases, pieces)
	if err != nil {
		return nil, err
	}
	for _, ph := range phases {
		cl, err := ph.Run(l)
		if err != nil {
			return nil, fmt.Errorf("phase %s: %w", ph.Name, err)
		}
		if err := l.settle(ctx, ins); err != nil {
			return nil, fmt.Errorf("phase %s: %w", ph.Name, err)
		}
		after, err := l.snapshot(ctx, ins, cases, pieces)
		if err != nil {
			return nil, err
		}
		d := after.minus(before)
		before = after
		var seen uint64
		for q := range rep.Points {
			seen += d.totals[q][cl.Family]
		}
		if seen == 0 {
			return nil, fmt.Errorf("phase %s: no packet of %s reached a point of the lab", ph.Name, cl.Family)
		}
		rep.Classes = append(rep.Classes, cl)
		rep.Counts = append(rep.Counts, d.counts)
		rep.Totals = append(rep.Totals, d.totals)
		beyond := make([]uint64, len(rep.Points))
		for q := range rep.Points {
			beyond[q] = d.beyond[q][cl.Family]
		}
		rep.Beyond = append(rep.Beyond, beyond)
		rep.judge(len(rep.Classes) - 1)
	}
	if l.Stateless {
		if err := l.checkUntracked(); err != nil {
			return nil, err
		}
	}
	rep.Uncovered = coverageAt(rep.Points, rep.At, cases, rep.Classes, rep.Counts, rep.Totals)
	rep.Elapsed = time.Since(start)
	return rep, nil
}

// checkUntracked checks that nothing in the lab without conntrack made the
// kernel track its packets: a translation with a ct expression (nft_ct
// asks for conntrack, and with it nf_defrag, in its namespace) would have
// the router reassemble the fragments the lab sends, and show nothing.
func (l *Lab) checkUntracked() error {
	for _, ns := range []struct {
		name string
		ns   *netns.NS
	}{{"router", l.Router}, {"server", l.Server}} {
		out, err := l.Run(ns.ns, "", "conntrack", "-C")
		if err != nil {
			return err
		}
		if n := strings.TrimSpace(out); n != "0" {
			return fmt.Errorf("the lab without conntrack tracked %s connections in the %s: a translation uses conntrack (a ct expression) and the kernel reassembled the fragments; run it in the lab with conntrack", n, ns.name)
		}
	}
	return nil
}

// judge sorts the counts of phase p: a case whose xt and nft counts differ
// is a divergence, or a limit (Report.Limits) when it reads the remaining
// time and the first packets that may be beyond nft's 32 bits there
// (Report.Beyond) are enough to make the whole difference: each such packet
// can make xt and nft differ by one, no more. A difference larger than that
// is a divergence still, beyond-32-bit packets or not.
func (r *Report) judge(p int) {
	cl := r.Classes[p]
	for q, pt := range r.points() {
		for i, c := range r.Cases {
			n := r.Counts[p][q][i]
			if n.XT != n.NFT {
				dv := Divergence{c.Name, c.Words, cl.Name, pt.Name, n.XT, n.NFT}
				if ReadsExpire(c.Words) && max(n.XT, n.NFT)-min(n.XT, n.NFT) <= r.Beyond[p][q] {
					r.Limits = append(r.Limits, dv)
				} else {
					r.Divergences = append(r.Divergences, dv)
				}
			}
			if n.Overlap != 0 {
				r.Overlaps = append(r.Overlaps, Overlap{c.Name, cl.Name, pt.Name, n.Overlap})
			}
		}
	}
}

// ReadsExpire reports whether a case's words read the conntrack's
// remaining time (--ctexpire).
func ReadsExpire(words string) bool {
	return slices.Contains(strings.Fields(words), "--ctexpire")
}

// Settled reports whether what --ctexpire reads on the packets a class put
// through point q (of Points) is the same on every machine: none of them is
// the first packet of its conntrack there, whose reading depends on the
// host's uptime (FirstPacket).
func Settled(cl Class, q int) bool { return len(cl.First.At(Points[q].Name)) == 0 }

// Coverage returns the cases that prove little on the traffic counted
// (counts[phase][point][case] and totals[phase][point][family], phase by
// phase the classes): those whose xt rule matched none of their family's
// packets or all of them, unless the case says it must (Never, Always). It
// judges from what the classes' packets read on any machine: a case that
// reads the remaining time (ReadsExpire) is judged on the packets of the
// settled classes and points only (Settled), since a flow's first packet
// reads a value that depends on the host's uptime.
func Coverage(cases []Case, classes []Class, counts [][][]Count, totals [][]map[Family]uint64) []string {
	return coverageAt(Points, nil, cases, classes, counts, totals)
}

// coverageAt is Coverage at the points pts, for the cases that ran at each
// (at[point][case]; nil: where their words may be used).
func coverageAt(pts []Point, at [][]bool, cases []Case, classes []Class, counts [][][]Count, totals [][]map[Family]uint64) []string {
	var out []string
	for i, c := range cases {
		expire := ReadsExpire(c.Words)
		w, _ := readWords(c)
		var xt, total uint64
		for p := range counts {
			for q, pt := range pts {
				ran := c.at(pt, w)
				if at != nil {
					ran = at[q][i]
				}
				if expire && len(classes[p].First.At(pt.Name)) != 0 || !ran {
					continue
				}
				xt += counts[p][q][i].XT
				total += totals[p][q][c.Family]
			}
		}
		what := fmt.Sprintf("%d %s packets", total, c.Family)
		if expire {
			what += " whose remaining time is the same at any uptime"
		}
		switch {
		case c.Never && xt != 0:
			out = append(out, fmt.Sprintf("%s (%s): marked Never, but xt matched %d of the %s", c.Name, c.Words, xt, what))
		case !c.Never && xt == 0:
			out = append(out, fmt.Sprintf("%s (%s): xt matched none of the %s", c.Name, c.Words, what))
		case c.Always && xt != total:
			out = append(out, fmt.Sprintf("%s (%s): marked Always, but xt matched %d of the %s", c.Name, c.Words, xt, what))
		case !c.Never && !c.Always && xt == total:
			out = append(out, fmt.Sprintf("%s (%s): xt matched all the %s", c.Name, c.Words, what))
		}
	}
	return out
}

func families(table expr.Family) []Family {
	switch table {
	case expr.FamilyIP:
		return []Family{IPv4}
	case expr.FamilyIP6:
		return []Family{IPv6}
	}
	return []Family{IPv4, IPv6}
}

// prefilter is the nft condition that selects the lab's packets of family f.
func prefilter(f Family) string {
	if f == IPv6 {
		return "ip6 saddr " + IPv6.Addrs().Lab.String()
	}
	return "ip saddr " + IPv4.Addrs().Lab.String()
}

func (l *Lab) install(ctx context.Context, pt Point, table expr.Family, cases []Case, infos []wordsInfo, pieces [][]Piece) (*installed, error) {
	ns := pt.ns(l)
	conn, err := kernel.Dial(ctx, kernel.Options{NetNS: ns.Path()})
	if err != nil {
		return nil, err
	}
	l.t.Cleanup(func() { conn.Close() })
	in := &installed{pt: pt, ns: ns, conn: conn, table: table, infos: infos, xt: map[Family][]backend{}, beyond: map[Family]bool{}, refused: map[int]string{}}

	// The xt side: a chain Ln per case, holding the case's rule alone, and
	// a jump to it for the lab's packets, in the filter table of the
	// case's xt side (rule.go).
	for _, f := range []Family{IPv4, IPv6} {
		for _, be := range []backend{xtNFT, xtLegacy} {
			if err := l.installXT(ctx, in, f, be, cases); err != nil {
				return nil, err
			}
		}
	}

	// The nft side: table lab with a base chain at the same hook and
	// priority as iptables' filter chain. It counts the lab's packets of
	// each family, then for each case clears the priority and jumps to the
	// case's chain cN, which jumps to pN (the pieces, each setting its own
	// priority bit) and then counts the packets that set two bits.
	return in, l.installNFT(in, cases, pieces)
}

// installXT installs, at in's point, the xt rules of the cases of family
// f that xt side be runs, and, in iptables-nft, the lab's own rule of
// chain Point.beyond when a case of f reads conntrack.
func (l *Lab) installXT(ctx context.Context, in *installed, f Family, be backend, cases []Case) error {
	pt, ns, conn := in.pt, in.ns, in.conn
	var b strings.Builder
	b.WriteString("*filter\n")
	n := 0
	beyond := false
	for i, c := range cases {
		if c.Family != f {
			continue
		}
		beyond = beyond || in.infos[i].conntrack
		if backendOf(in.infos[i]) != be || !in.has(i, c) {
			continue
		}
		n++
		fmt.Fprintf(&b, ":%s - [0:0]\n", pt.chain(i))
	}
	beyond = beyond && be == xtNFT
	if n == 0 && !beyond {
		return nil
	}
	if beyond {
		fmt.Fprintf(&b, ":%s - [0:0]\n", pt.beyond())
	}
	for i, c := range cases {
		if c.Family != f || backendOf(in.infos[i]) != be || !in.has(i, c) {
			continue
		}
		xr, _ := xtWords(c.Words)
		fmt.Fprintf(&b, "-A %s -s %s -j %s\n", pt.XTChain, f.Addrs().Lab, pt.chain(i))
		fmt.Fprintf(&b, "-A %s %s\n", pt.chain(i), xr.words)
	}
	if beyond {
		// The lab's own rule: the first packets that read more than
		// nft's 32 bits of milliseconds hold (see Report.Limits).
		fmt.Fprintf(&b, "-A %s -s %s -j %s\n-A %s %s\n", pt.XTChain, f.Addrs().Lab, pt.beyond(), pt.beyond(), beyondWords)
		in.beyond[f] = true
	}
	b.WriteString("COMMIT\n")
	if _, err := l.Run(ns, b.String(), be.tool(f, "-restore"), "--noflush"); err != nil {
		if be != xtLegacy {
			return err
		}
		// Nothing was installed (a restore is one transaction): find the
		// rules iptables refuses at this hook, one by one, and install
		// the others.
		if err2 := l.installEach(in, f, cases); err2 != nil {
			return fmt.Errorf("%w\n%v", err, err2)
		}
	}
	in.xt[f] = append(in.xt[f], be)
	if be == xtLegacy {
		return nil
	}
	for i, c := range cases {
		if c.Family != f || backendOf(in.infos[i]) != be || !in.has(i, c) {
			continue
		}
		if xr, ok := xtWords(c.Words); ok {
			if err := patchMasks(ctx, conn, xtFamily(f), pt.chain(i), xr.patches, len(f.Addrs().Client.AsSlice())); err != nil {
				return fmt.Errorf("case %s: %w", c.Name, err)
			}
		}
		if err := xtOnly(ctx, conn, xtFamily(f), pt.chain(i)); err != nil {
			return fmt.Errorf("case %s: %w", c.Name, err)
		}
	}
	return nil
}

// installEach installs the iptables-legacy rules of the cases of family f
// at in's point one by one, and records those iptables refuses there
// (in.refused). It fails when it refuses none: then the fault is not a
// case's.
func (l *Lab) installEach(in *installed, f Family, cases []Case) error {
	pt, n := in.pt, 0
	for i, c := range cases {
		if c.Family != f || backendOf(in.infos[i]) != xtLegacy || !in.has(i, c) {
			continue
		}
		text := fmt.Sprintf("*filter\n:%[1]s - [0:0]\n-A %[2]s -s %[3]s -j %[1]s\n-A %[1]s %[4]s\nCOMMIT\n", pt.chain(i), pt.XTChain, f.Addrs().Lab, c.Words)
		_, stderr, err := commandOutput(in.ns, nil, text, xtLegacy.tool(f, "-restore"), "--noflush")
		if err != nil {
			in.refused[i] = strings.TrimSpace(stderr)
			n++
		}
	}
	if n == 0 {
		return fmt.Errorf("%s: iptables-legacy-restore refuses the rules together and takes each alone", pt.Name)
	}
	return nil
}

// installNFT installs the nft side at in's point.
func (l *Lab) installNFT(in *installed, cases []Case, pieces [][]Piece) error {
	ctx, ns, pt, table, conn := context.Background(), in.ns, in.pt, in.table, in.conn
	var b strings.Builder
	fmt.Fprintf(&b, "table %s %s {\n", table, pt.table())
	for i, ps := range pieces {
		fmt.Fprintf(&b, "\tchain p%d {\n\t}\n", i)
		fmt.Fprintf(&b, "\tchain c%d {\n\t\tjump p%d\n", i, i)
		for x := range ps {
			for y := x + 1; y < len(ps); y++ {
				m := uint32(1)<<x | uint32(1)<<y
				fmt.Fprintf(&b, "\t\tmeta priority & 0x%x == 0x%x counter comment \"pieces %d %d\"\n", m, m, x, y)
			}
		}
		b.WriteString("\t}\n")
	}
	b.WriteString("\tchain cases {\n")
	for i, c := range cases {
		if in.has(i, c) {
			fmt.Fprintf(&b, "\t\tmeta priority set 0 jump c%d\n", i)
		}
	}
	b.WriteString("\t\tmeta priority set 0\n\t}\n")
	fmt.Fprintf(&b, "\tchain base {\n\t\ttype filter hook %s priority 0; policy accept;\n", pt.Hook)
	for _, f := range families(table) {
		fmt.Fprintf(&b, "\t\t%s counter comment \"total %s\"\n", prefilter(f), f)
	}
	for _, f := range families(table) {
		fmt.Fprintf(&b, "\t\t%s jump cases\n", prefilter(f))
	}
	b.WriteString("\t}\n}\n")
	var text strings.Builder
	type spec struct {
		chain string
		r     kernel.RuleSpec
		sets  []expr.Set
	}
	setID := uint32(1) // the ids of the anonymous sets of the transaction
	var wire []spec
	for i, ps := range pieces {
		for j, p := range ps {
			bit := uint32(1) << j
			if p.Text != "" {
				fmt.Fprintf(&text, "add rule %s %s p%d %s meta priority set meta priority | 0x%x\n", table, pt.table(), i, p.Text, bit)
				continue
			}
			exprs, sets := p.Wire, []expr.Set(nil)
			if p.Rule != nil {
				var err error
				if exprs, sets, err = p.Rule.LowerSets(table, setID); err != nil {
					return fmt.Errorf("case %s piece %d: %w", cases[i].Name, j, err)
				}
				setID += uint32(len(sets))
			}
			wire = append(wire, spec{"p" + strconv.Itoa(i), kernel.RuleSpec{
				Exprs:  append(slices.Clip(exprs), PriorityBit(bit)...),
				Source: fmt.Sprintf("case %s piece %d", cases[i].Name, j),
			}, sets})
		}
	}
	if _, err := l.Run(ns, b.String(), "nft", "-f", "-"); err != nil {
		return err
	}
	if len(wire) > 0 {
		tx, err := conn.Begin(ctx)
		if err != nil {
			return err
		}
		for _, w := range wire {
			for _, st := range w.sets {
				tx.AddAnonymousSet(table, pt.table(), st)
			}
			tx.AddRule(table, pt.table(), w.chain, w.r)
		}
		if _, err := tx.Commit(ctx); err != nil {
			return err
		}
	}
	if text.Len() > 0 {
		if _, err := l.Run(ns, text.String(), "nft", "-f", "-"); err != nil {
			return err
		}
	}
	return nil
}

// A RefusedError is nft refusing a rule of a translation: its standard
// error, which names the problem ("Error: value too large", "Error: syntax
// error, …").
type RefusedError struct {
	Text   string // the rule as nft text
	Stderr string
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("nft refuses %q: %s", e.Text, e.Stderr)
}

// Complaint returns nft's first error message, from "Error:" on (without
// the file position before it): "Error: value too large".
func (e *RefusedError) Complaint() string {
	for _, line := range strings.Split(e.Stderr, "\n") {
		if i := strings.Index(line, "Error: "); i >= 0 {
			return line[i:]
		}
	}
	return strings.TrimSpace(e.Stderr)
}

// TryText loads one rule given as nft text into the lab's native table of
// family table, in a base chain at pt's hook and priority, the way
// Differential loads a text piece (the statement that sets a priority bit
// appended), and deletes that chain in the same transaction: nothing stays.
// It returns a *RefusedError when nft refuses the rule, nil when it loads.
// Call it before Differential, whose own load of the same text then
// succeeds.
func (l *Lab) TryText(pt Point, table expr.Family, text string) error {
	in := fmt.Sprintf("table %[1]s %[2]s {\n\tchain probe {\n\t\ttype filter hook %[3]s priority 0; policy accept;\n\t}\n}\n"+
		"add rule %[1]s %[2]s probe %[4]s meta priority set meta priority | 0x1\n"+
		"delete chain %[1]s %[2]s probe\n", table, pt.table(), pt.Hook, text)
	_, stderr, err := commandOutput(pt.ns(l), nil, in, "nft", "-f", "-")
	if err == nil {
		return nil
	}
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		return fmt.Errorf("nft -f: %w\n%s", err, stderr)
	}
	return &RefusedError{Text: text, Stderr: strings.TrimSpace(stderr)}
}

// snap is the cumulative counters of every point.
type snap struct {
	counts [][]Count // [point][case]
	totals []map[Family]uint64
	beyond []map[Family]uint64
}

func (s snap) minus(o snap) snap {
	d := snap{counts: make([][]Count, len(s.counts)), totals: make([]map[Family]uint64, len(s.totals)), beyond: make([]map[Family]uint64, len(s.beyond))}
	for q := range s.counts {
		d.counts[q] = make([]Count, len(s.counts[q]))
		for i, n := range s.counts[q] {
			p := o.counts[q][i]
			c := Count{XT: n.XT - p.XT, NFT: n.NFT - p.NFT, Overlap: n.Overlap - p.Overlap}
			for j := range n.Pieces {
				c.Pieces = append(c.Pieces, n.Pieces[j]-p.Pieces[j])
			}
			d.counts[q][i] = c
		}
		d.totals[q] = map[Family]uint64{}
		for f, v := range s.totals[q] {
			d.totals[q][f] = v - o.totals[q][f]
		}
		d.beyond[q] = map[Family]uint64{}
		for f, v := range s.beyond[q] {
			d.beyond[q][f] = v - o.beyond[q][f]
		}
	}
	return d
}

func (l *Lab) snapshot(ctx context.Context, ins []*installed, cases []Case, pieces [][]Piece) (snap, error) {
	var s snap
	for _, in := range ins {
		xt, _, beyond, err := l.xtCounts(in, cases)
		if err != nil {
			return s, err
		}
		s.beyond = append(s.beyond, beyond)
		counts := make([]Count, len(cases))
		for i := range cases {
			counts[i].XT = xt[i]
			rules, err := in.conn.Rules(ctx, in.table, in.pt.table(), "p"+strconv.Itoa(i))
			if err != nil {
				return s, err
			}
			if len(rules) != len(pieces[i]) {
				return s, fmt.Errorf("%s: chain p%d holds %d rules, want %d", in.pt.Name, i, len(rules), len(pieces[i]))
			}
			for j, r := range rules {
				if r.Counter == nil {
					return s, fmt.Errorf("%s: case %s piece %d has no counter", in.pt.Name, cases[i].Name, j)
				}
				counts[i].Pieces = append(counts[i].Pieces, r.Counter.Packets)
				counts[i].NFT += r.Counter.Packets
			}
			if len(pieces[i]) > 1 {
				rules, err := in.conn.Rules(ctx, in.table, in.pt.table(), "c"+strconv.Itoa(i))
				if err != nil {
					return s, err
				}
				for _, r := range rules[1:] {
					counts[i].Overlap += r.Counter.Packets
				}
			}
		}
		tot, err := totals(ctx, in)
		if err != nil {
			return s, err
		}
		s.counts = append(s.counts, counts)
		s.totals = append(s.totals, tot)
	}
	return s, nil
}

// totals reads the counters of the lab's packets of each family at a point.
func totals(ctx context.Context, in *installed) (map[Family]uint64, error) {
	rules, err := in.conn.Rules(ctx, in.table, in.pt.table(), "base")
	if err != nil {
		return nil, err
	}
	t := map[Family]uint64{}
	for _, r := range rules {
		comment, _, _ := expr.ParseUserData(r.UserData)
		for _, f := range []Family{IPv4, IPv6} {
			if comment == "total "+f.String() && r.Counter != nil {
				t[f] = r.Counter.Packets
			}
		}
	}
	return t, nil
}

// settle waits until no packet of the lab's has crossed any point for
// 50 ms: a phase's last packets (a TCP ACK, an ICMP error) may still be on
// their way when the phase returns.
func (l *Lab) settle(ctx context.Context, ins []*installed) error {
	return waitQuiet(func() (string, error) {
		var b strings.Builder
		for _, in := range ins {
			t, err := totals(ctx, in)
			if err != nil {
				return "", err
			}
			fmt.Fprintf(&b, "%d/%d ", t[IPv4], t[IPv6])
		}
		return b.String(), nil
	})
}

// waitQuiet polls every 10 ms until poll has returned the same value five
// times in a row, for at most 3 s.
func waitQuiet(poll func() (string, error)) error {
	deadline := time.Now().Add(3 * time.Second)
	last, stable := "", 0
	for time.Now().Before(deadline) {
		cur, err := poll()
		if err != nil {
			return err
		}
		if cur == last {
			stable++
			if stable >= 5 {
				return nil
			}
		} else {
			stable = 0
		}
		last = cur
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("traffic did not settle within 3 s")
}

// Merge returns the report of two runs of the same phases in two labs (of
// the same table family) as one: the cases of a after those of b, each
// with its own counts; the totals and the beyond counts are a's (each
// run's coverage was judged on its own totals already).
func Merge(a, b *Report) (*Report, error) {
	if a.Table != b.Table || len(a.Classes) != len(b.Classes) || len(a.Points) != len(b.Points) {
		return nil, fmt.Errorf("merge: reports of %s and %s tables, %d and %d classes", a.Table, b.Table, len(a.Classes), len(b.Classes))
	}
	for p := range a.Classes {
		if a.Classes[p].Name != b.Classes[p].Name {
			return nil, fmt.Errorf("merge: class %d is %s and %s", p, a.Classes[p].Name, b.Classes[p].Name)
		}
	}
	m := *a
	m.Cases = slices.Concat(a.Cases, b.Cases)
	m.Pieces = slices.Concat(a.Pieces, b.Pieces)
	m.Saved = slices.Concat(a.Saved, b.Saved)
	m.Counts = make([][][]Count, len(a.Counts))
	for p := range a.Counts {
		m.Counts[p] = make([][]Count, len(a.Counts[p]))
		for q := range a.Counts[p] {
			m.Counts[p][q] = slices.Concat(a.Counts[p][q], b.Counts[p][q])
		}
	}
	m.Divergences = slices.Concat(a.Divergences, b.Divergences)
	m.Limits = slices.Concat(a.Limits, b.Limits)
	m.Overlaps = slices.Concat(a.Overlaps, b.Overlaps)
	m.Uncovered = slices.Concat(a.Uncovered, b.Uncovered)
	m.Refused = slices.Concat(a.Refused, b.Refused)
	m.At = make([][]bool, len(a.At))
	for q := range a.At {
		m.At[q] = slices.Concat(a.At[q], b.At[q])
	}
	m.Elapsed = a.Elapsed + b.Elapsed
	return &m, nil
}
