package parse

import (
	"fmt"
	"strings"
)

// This file reads the DSCP target, as iptables 1.8.9 reads it
// (extensions/libxt_DSCP.c):
//
//	-j DSCP --set-dscp N | --set-dscp-class CLASS
//
// N is 0-63 as strtoul with base 0 reads it; CLASS is a name of
// libxt_dscp_helper.c's table, in any case. iptables-save prints
// --set-dscp 0x%02x.

// The options of DSCP; they follow CT's.
const (
	OptSetDSCP      TargetOptionKind = iota + 100 // --set-dscp N
	OptSetDSCPClass                               // --set-dscp-class CLASS
)

// dscpClasses is libxt_dscp_helper.c's table of class names.
var dscpClasses = map[string]uint8{
	"CS0": 0x00, "CS1": 0x08, "CS2": 0x10, "CS3": 0x18, "CS4": 0x20, "CS5": 0x28, "CS6": 0x30, "CS7": 0x38,
	"BE": 0x00, "AF11": 0x0a, "AF12": 0x0c, "AF13": 0x0e, "AF21": 0x12, "AF22": 0x14, "AF23": 0x16,
	"AF31": 0x1a, "AF32": 0x1c, "AF33": 0x1e, "AF41": 0x22, "AF42": 0x24, "AF43": 0x26, "EF": 0x2e,
}

func init() {
	extOptionNames[OptSetDSCP] = "set-dscp"
	extOptionNames[OptSetDSCPClass] = "set-dscp-class"
	targetSpecs["DSCP"] = []optSpec{
		{long: "set-dscp", what: "a DSCP value (0-63)", target: OptSetDSCP},
		{long: "set-dscp-class", what: "a DSCP class", target: OptSetDSCPClass},
	}
}

// dscpValue reads the value of --set-dscp or --set-dscp-class into Num.
func (p *parser) dscpValue(v word, o *TargetOption) error {
	if o.Kind == OptSetDSCPClass {
		n, ok := dscpClasses[strings.ToUpper(v.val)]
		if !ok {
			return p.errorf(v, "Invalid DSCP value `%s'", v.val)
		}
		o.Num = uint32(n)
		return nil
	}
	n, ok := parseCNumber(v.val, 63)
	if !ok {
		return p.errorf(v, "DSCP: bad value for option \"--set-dscp\", or out of range (0-63).")
	}
	o.Num = uint32(n)
	return nil
}

// DSCP returns the DSCP value a DSCP target sets.
func (t *Target) DSCP() uint8 {
	for _, k := range []TargetOptionKind{OptSetDSCP, OptSetDSCPClass} {
		if o := t.Option(k); o != nil {
			return uint8(o.Num)
		}
	}
	return 0
}

// checkDSCP checks a DSCP target as a whole: one of its two options.
func (p *parser) checkDSCP(t *Target) error {
	a, b := t.Option(OptSetDSCP), t.Option(OptSetDSCPClass)
	switch {
	case a == nil && b == nil:
		return &Error{Pos: t.NamePos, Word: t.Name, Text: p.text, Msg: "DSCP target: Parameter --set-dscp is required"}
	case a != nil && b != nil:
		later := b
		if a.Flag > b.Flag {
			later = a
		}
		return &Error{Pos: later.Flag, Word: p.wordAt(later.Flag, "--"+later.Kind.String()), Text: p.text,
			Msg: "DSCP: option \"--set-dscp\" cannot be used together with \"--set-dscp-class\"."}
	}
	return nil
}

// dscpOptions writes DSCP's option as iptables-save prints it.
func (p *printer) dscpOptions(t *Target) {
	p.word("--set-dscp")
	p.word(fmt.Sprintf("0x%02x", t.DSCP()))
}
