package parse

import (
	"encoding/json"
)

// State is a set of xt_conntrack state bits, as --ctstate and --state take
// them. These are the kernel's XT_CONNTRACK_STATE_* bits, not nft's ct state
// bits (compile/ maps one onto the other).
type State uint16

// The states, with the kernel's values.
const (
	StateInvalid     State = 1 << 0 // XT_CONNTRACK_STATE_INVALID
	StateEstablished State = 1 << 1 // XT_CONNTRACK_STATE_BIT(IP_CT_ESTABLISHED)
	StateRelated     State = 1 << 2 // XT_CONNTRACK_STATE_BIT(IP_CT_RELATED)
	StateNew         State = 1 << 3 // XT_CONNTRACK_STATE_BIT(IP_CT_NEW)
	StateSNAT        State = 1 << 6 // XT_CONNTRACK_STATE_SNAT
	StateDNAT        State = 1 << 7 // XT_CONNTRACK_STATE_DNAT
	StateUntracked   State = 1 << 8 // XT_CONNTRACK_STATE_UNTRACKED
)

type named[T ~uint8 | ~uint16 | ~uint32] struct {
	name string
	bit  T
}

// stateParseOrder is the order in which iptables tries state names, so that a
// prefix means the first name it starts.
var stateParseOrder = []named[State]{
	{"INVALID", StateInvalid}, {"NEW", StateNew}, {"ESTABLISHED", StateEstablished},
	{"RELATED", StateRelated}, {"UNTRACKED", StateUntracked}, {"SNAT", StateSNAT}, {"DNAT", StateDNAT},
}

// statePrintOrder is the order in which iptables-save prints states.
var statePrintOrder = []named[State]{
	{"INVALID", StateInvalid}, {"NEW", StateNew}, {"RELATED", StateRelated},
	{"ESTABLISHED", StateEstablished}, {"UNTRACKED", StateUntracked}, {"SNAT", StateSNAT}, {"DNAT", StateDNAT},
}

// String returns the states as iptables-save prints them: "NEW,ESTABLISHED".
func (s State) String() string { return joinNames(statePrintOrder, s, "") }

// MarshalJSON returns the states as a list of names.
func (s State) MarshalJSON() ([]byte, error) { return json.Marshal(splitNames(statePrintOrder, s)) }

// Status is a set of the kernel's IPS_* conntrack status bits, as --ctstatus
// takes them. The empty set is written NONE.
type Status uint32

// The statuses --ctstatus names, with the kernel's values.
const (
	StatusExpected  Status = 1 << 0 // IPS_EXPECTED
	StatusSeenReply Status = 1 << 1 // IPS_SEEN_REPLY
	StatusAssured   Status = 1 << 2 // IPS_ASSURED
	StatusConfirmed Status = 1 << 3 // IPS_CONFIRMED
)

// statusOrder is both the order in which iptables tries status names (after
// NONE, which is 0) and the order in which it prints them.
var statusOrder = []named[Status]{
	{"EXPECTED", StatusExpected}, {"SEEN_REPLY", StatusSeenReply},
	{"ASSURED", StatusAssured}, {"CONFIRMED", StatusConfirmed},
}

// String returns the statuses as iptables-save prints them: "SEEN_REPLY,ASSURED",
// or "NONE" for the empty set.
func (s Status) String() string { return joinNames(statusOrder, s, "NONE") }

// MarshalJSON returns the statuses as a list of names (["NONE"] for none).
func (s Status) MarshalJSON() ([]byte, error) {
	if s == 0 {
		return []byte(`["NONE"]`), nil
	}
	return json.Marshal(splitNames(statusOrder, s))
}

func splitNames[T ~uint8 | ~uint16 | ~uint32](order []named[T], v T) []string {
	var out []string
	for _, n := range order {
		if v&n.bit != 0 {
			out = append(out, n.name)
		}
	}
	return out
}

func joinNames[T ~uint8 | ~uint16 | ~uint32](order []named[T], v T, none string) string {
	if v == 0 {
		return none
	}
	return string(appendNames(nil, order, v, none))
}

// appendNames appends the names of v's bits in order, separated by commas, or
// none when v is 0.
func appendNames[T ~uint8 | ~uint16 | ~uint32](b []byte, order []named[T], v T, none string) []byte {
	if v == 0 {
		return append(b, none...)
	}
	first := true
	for _, n := range order {
		if v&n.bit != 0 {
			if !first {
				b = append(b, ',')
			}
			b = append(b, n.name...)
			first = false
		}
	}
	return b
}

// Dir is the value of --ctdir.
type Dir uint8

// Directions.
const (
	DirOriginal Dir = iota + 1 // ORIGINAL: the packet goes the way the connection was opened
	DirReply                   // REPLY
)

// String returns "ORIGINAL" or "REPLY".
func (d Dir) String() string {
	switch d {
	case DirOriginal:
		return "ORIGINAL"
	case DirReply:
		return "REPLY"
	}
	return ""
}

// MarshalText returns the direction's name.
func (d Dir) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// OptionKind names a conntrack match option. The kinds are numbered in the
// order iptables-save prints the options.
type OptionKind uint8

// The options of the conntrack match (revision 3).
const (
	OptState       OptionKind = iota // --ctstate (and --state of -m state)
	OptProto                         // --ctproto
	OptOrigSrc                       // --ctorigsrc
	OptOrigDst                       // --ctorigdst
	OptReplSrc                       // --ctreplsrc
	OptReplDst                       // --ctrepldst
	OptOrigSrcPort                   // --ctorigsrcport
	OptOrigDstPort                   // --ctorigdstport
	OptReplSrcPort                   // --ctreplsrcport
	OptReplDstPort                   // --ctrepldstport
	OptStatus                        // --ctstatus
	OptExpire                        // --ctexpire
	OptDir                           // --ctdir
	numOptions
)

// String returns the option's name without dashes: "ctstate".
func (k OptionKind) String() string {
	if k < numOptions {
		return options[k].name
	}
	return "option?"
}

// MarshalText returns the option as written: "--ctstate".
func (k OptionKind) MarshalText() ([]byte, error) { return []byte("--" + k.String()), nil }

// IsAddr reports whether the option takes an address.
func (k OptionKind) IsAddr() bool { return k >= OptOrigSrc && k <= OptReplDst }

// IsPort reports whether the option takes a port range.
func (k OptionKind) IsPort() bool { return k >= OptOrigSrcPort && k <= OptReplDstPort }

// Kinds returns every conntrack option kind, in canonical order: the
// parser's dispatch table, for tests that check every option is covered.
func Kinds() []OptionKind {
	out := make([]OptionKind, numOptions)
	for i := range out {
		out[i] = OptionKind(i)
	}
	return out
}

// Invertible reports whether "!" may precede the option.
func (k OptionKind) Invertible() bool { return k != OptDir }
