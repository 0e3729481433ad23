package lab

// SweepMatchScenario returns, for the lab with conntrack, the phases of
// the classes the random sweep's other matches need beside Scenario and
// SweepRuleScenario, for each family in order: the AH class (ah), the
// local-out class (owner, at ClientOut) and the router-local class
// (addrtype and pkttype, at RouterIn). Their packets set no timeout beyond
// PacketTimeouts (the generic tracker's 600 s for IPv4's AH, whose
// conntrack has no ports; TCP's SYN_SENT and UDP's 30 s for the segments
// after IPv6's AH header, which conntrack skips; UDP's 30 s for the
// others), and each phase names the flows' first packets (FirstPackets),
// which the stateless lab's classes leave out.
func SweepMatchScenario(families ...Family) []Phase {
	var ps []Phase
	for _, f := range families {
		f := f
		s := f.digit()
		ps = append(ps,
			Phase{"ah" + s, func(l *Lab) (Class, error) {
				c, err := l.AH(f)
				if f == IPv4 {
					// Both packets are of one conntrack: addresses and
					// protocol 51.
					c.First = both(FirstGeneric, 1)
				} else {
					c.First = FirstPackets{Router: []uint32{FirstTCP, FirstUDP}, Server: []uint32{FirstTCP, FirstUDP}}
				}
				return c, err
			}},
			Phase{"local-out" + s, func(l *Lab) (Class, error) { return l.LocalOut(f) }},
			Phase{"router-local" + s, func(l *Lab) (Class, error) {
				c, err := l.RouterLocal(f)
				// One flow per destination, each packet its first; At
				// gives the router's list at RouterIn.
				n := 4
				if f == IPv6 {
					n = 2
				}
				for range n {
					c.First.Router = append(c.First.Router, FirstUDP)
				}
				return c, err
			}},
		)
	}
	return ps
}
