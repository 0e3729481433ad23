package lab

import (
	"math"
	"time"
)

// What --ctexpire reads on a packet, and why a flow's first packet reads a
// value that depends on the host's uptime.
//
// xt_conntrack compares nf_ct_expires(ct) / HZ, and nft's ct expiration is
// jiffies_to_msecs(nf_ct_expires(ct)) (net/netfilter/xt_conntrack.c,
// conntrack_mt; net/netfilter/nft_ct.c, NFT_CT_EXPIRATION), where
// nf_ct_expires is max((s32)(ct->timeout − (u32)jiffies), 0)
// (include/net/netfilter/nf_conntrack.h). ct->timeout is a deadline only
// once the conntrack is confirmed: until then the protocol tracker stores
// the timeout itself there (__nf_ct_refresh_acct adds jiffies only to a
// confirmed conntrack), and __nf_conntrack_confirm adds the jiffies of the
// moment (nf_conntrack_core.c). So on a flow's first packet, in the hooks
// before confirmation (the filter hooks the lab measures at), both read
// timeout·HZ − (u32)jiffies; and jiffies start 300 s below zero
// (INITIAL_JIFFIES, include/linux/jiffies.h). On a fresh machine a UDP
// flow's first packet reads 330 s minus the uptime (a TCP SYN 420 s, the
// generic tracker's 900 s), 0 from then on, and after 2³¹ jiffies (24.9
// days at HZ=1000, 99.4 at HZ=250) large values again; jiffies_to_msecs
// returns 32 bits, so where that value is above 2³²−1 ms (HZ below 500;
// from 4,294,967.296 s on) nft reads it modulo 2³² ms.

// A Reading is what the two matches read on one packet: xt_conntrack's
// whole seconds and nft's milliseconds.
type Reading struct {
	Seconds uint64 // nf_ct_expires / HZ: what --ctexpire compares
	Millis  uint32 // jiffies_to_msecs(nf_ct_expires): nft's ct expiration
}

// InitialJiffies is the kernel's jiffies counter at boot, in seconds:
// INITIAL_JIFFIES is −300·HZ, so that the 32-bit counter wraps five minutes
// after boot.
const InitialJiffies = -300

// Jiffies returns the low 32 bits of the jiffies counter of a kernel
// ticking hz times a second, uptime after boot (without suspend). Whole
// seconds and the nanoseconds under one are scaled apart, so that no product
// overflows for any uptime a Duration holds (292 years) at any HZ up to
// 1000 (the nanoseconds times HZ alone would overflow after 106 days at
// HZ=1000).
func Jiffies(uptime time.Duration, hz uint32) uint32 {
	secs, frac := int64(uptime/time.Second), int64(uptime%time.Second)
	return uint32((int64(InitialJiffies)+secs)*int64(hz) + frac*int64(hz)/int64(time.Second))
}

// Remaining returns what both matches read on a conntrack with left
// jiffies to live on a kernel ticking hz times a second (left ≤ 0: 0).
func Remaining(left int32, hz uint32) Reading {
	if left <= 0 {
		return Reading{}
	}
	j := uint64(left)
	var ms uint64
	if 1000%hz == 0 {
		ms = 1000 / uint64(hz) * j
	} else {
		ms = (j*1000 + uint64(hz) - 1) / uint64(hz) // DIV_ROUND_UP on 64-bit kernels
	}
	return Reading{Seconds: j / uint64(hz), Millis: uint32(ms)}
}

// FirstPacket returns what --ctexpire and ct expiration read on the first
// packet of a conntrack (not yet confirmed) that sets timeout seconds, when
// the kernel's jiffies counter, ticking hz times a second, reads jiffies.
func FirstPacket(timeout uint32, jiffies uint32, hz uint32) Reading {
	return Remaining(int32(timeout*hz-jiffies), hz)
}

// Beyond32 reports whether a reading is above what nft's 32 bits of
// milliseconds hold: xt reads it, nft reads it modulo 2³² ms. It compares
// milliseconds, not seconds: a reading of 4,294,967 s is beyond them from
// 4,294,967.296 s on (Millis then holds 0 to 703). The reading's whole
// milliseconds are Seconds·1000 plus under a second, which Millis, modulo
// 2³², gives.
func (r Reading) Beyond32() bool {
	under := uint64(r.Millis - uint32(r.Seconds*1000)) // the milliseconds past Seconds
	return r.Seconds*1000+under > math.MaxUint32
}

// MaybeBeyond32 reports whether a reading's whole seconds, all that xt's
// --ctexpire compares, allow it to be beyond nft's 32 bits (Beyond32): from
// 4,294,967 s on, whose last 0.704 s are beyond them and the rest is not.
// No --ctexpire range counts exactly the readings beyond 32 bits: the lab's
// own rule counts these (beyondWords).
func (r Reading) MaybeBeyond32() bool { return r.Seconds >= MaybeBeyondSeconds }

// MaybeBeyondSeconds is the first whole second of readings that may be
// beyond nft's 32 bits of milliseconds: 2³² ms, truncated to seconds.
const MaybeBeyondSeconds = (1 << 32) / 1000

// The timeouts, in seconds, that a flow's first packet sets: UDP's and
// ICMP's unreplied 30 s, TCP's SYN_SENT 120 s, and the generic tracker's
// 600 s (protocol 253).
const (
	FirstUDP     = 30
	FirstICMP    = 30
	FirstTCP     = 120
	FirstGeneric = 600
)

// FirstPackets are the packets of a class that are the first of their
// conntrack at a point, by the timeout each sets (FirstUDP…). On them
// --ctexpire reads a value that depends on the host's uptime (FirstPacket):
// no expectation of the lab may rest on it.
type FirstPackets struct {
	Router, Server []uint32
}

// At returns the first packets at a point (by Point.Name).
func (f FirstPackets) At(point string) []uint32 {
	if point == "server" {
		return f.Server
	}
	return f.Router
}

// both is one first packet of timeout t at the router and one at the server,
// n times.
func both(t uint32, n int) FirstPackets {
	var f FirstPackets
	for range n {
		f.Router = append(f.Router, t)
		f.Server = append(f.Server, t)
	}
	return f
}
