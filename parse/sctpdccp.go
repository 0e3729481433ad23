package parse

import (
	"math"
	"strings"
)

// This file reads the ports of the sctp and dccp matches (-p sctp, -p dccp,
// -m sctp, -m dccp: extensions/libxt_sctp.c and libxt_dccp.c), which mean
// what the tcp match's mean (xt_sctp.c and xt_dccp.c test the ports as
// xt_tcpudp.c does). Their other options (--chunk-types, --dccp-types,
// --dccp-option) are valid iptables that ctmatch does not support yet.

// portModules are the matches that read ports, with their protocol.
var portModules = map[string]uint8{"tcp": ProtoTCP, "udp": ProtoUDP, "sctp": ProtoSCTP, "dccp": ProtoDCCP}

// portModuleOf returns the match that -p PROTO loads for ports, or "".
func portModuleOf(proto uint8) string {
	switch proto {
	case ProtoTCP:
		return "tcp"
	case ProtoUDP:
		return "udp"
	case ProtoSCTP:
		return "sctp"
	case ProtoDCCP:
		return "dccp"
	}
	return ""
}

var (
	sctpOnlySpecs = []optSpec{
		{long: "chunk-types", unsupported: "--chunk-types of the sctp match", args: 2, invertible: true},
	}
	dccpOnlySpecs = []optSpec{
		{long: "dccp-types", unsupported: "--dccp-types of the dccp match", args: 1, invertible: true},
		{long: "dccp-option", unsupported: "--dccp-option of the dccp match", args: 1, invertible: true},
	}
)

// portsOnlySpec returns the option of the sctp or dccp match whose name is
// name exactly, when that match's options may come now, or nil.
func (p *parser) portsOnlySpec(name string) *optSpec {
	specs := p.portsOnlySpecs()
	for i := range specs {
		if specs[i].long == name {
			return &specs[i]
		}
	}
	return nil
}

// portsOnlySpecs returns the other options of the sctp or dccp match when it
// is the one whose options may come now, or nil.
func (p *parser) portsOnlySpecs() []optSpec {
	module := ""
	if p.lastPorts != nil {
		module = p.lastPorts.Module
	} else if pr := p.rule.Protocol; pr != nil {
		module = portModuleOf(pr.Num)
	}
	switch module {
	case "sctp":
		return sctpOnlySpecs
	case "dccp":
		return dccpOnlySpecs
	}
	return nil
}

// keepsAll reports whether iptables-save prints a port option of the match
// that holds for every port: the sctp and dccp matches print every option
// that was given (--dport 0:65535); the tcp and udp matches leave it out.
func (m *Ports) keepsAll() bool { return m.Module == "sctp" || m.Module == "dccp" }

// modulePort reads one port of a match of module:
//   - tcp, udp and sctp: a service name, else a number as C's strtoul with
//     base 0 reads it (xtables_parse_port). The sctp match looks names up
//     for the protocol sctp, which /etc/services hardly lists: ctmatch
//     takes numbers only, as iptables does on such a system.
//   - dccp: a number in decimal (xtopt_parse_mport reads it with
//     getaddrinfo: "022" is 22, "0x16" resolves to nothing), else a service
//     name of any protocol.
func (p *parser) modulePort(module string, v word, s string, off int) (uint64, error) {
	switch module {
	case "sctp":
		if n, ok := parseCNumber(s, math.MaxUint16); ok {
			return n, nil
		}
		e := p.itemError(v, off, s, "invalid port/service %q specified", s)
		e.Hint = "the sctp match takes a port number 0-65535: iptables looks names up for sctp, which /etc/services does not list"
		return 0, e
	case "dccp":
		if s != "" && strings.Trim(s, "0123456789") == "" {
			if n, ok := parseDecimal(s, math.MaxUint16); ok {
				return n, nil
			}
		} else if port, ok := p.opts.Resolver.Service(s); ok {
			return uint64(port), nil
		}
		e := p.itemError(v, off, s, "invalid port/service %q specified", s)
		e.Hint = "the dccp match takes a decimal port number 0-65535 or a service name such as ssh"
		return 0, e
	}
	return p.port(v, s, off)
}
