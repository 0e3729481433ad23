package expr

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/ctmatch/ctmatch/internal/nfnl"
)

// This file holds nft's log statement, in its two kinds (nft_log.c):
//
//   - Log: "log prefix "P" level debug flags tcp sequence,options" logs the
//     packet to the kernel log (NF_LOG_TYPE_LOG), as xt_LOG does: both call
//     nf_log_packet with the same level and NF_LOG_* flags.
//   - LogGroup: "log prefix "P" group 5 snaplen 100 queue-threshold 3"
//     sends it to the nfnetlink_log group (NF_LOG_TYPE_ULOG), as xt_NFLOG
//     does.

// LogFlags are the NF_LOG_* flags of a Log (include/uapi/linux/netfilter/
// nf_log.h), the same bits as xt_LOG's XT_LOG_*.
type LogFlags uint32

// Log flags.
const (
	LogTCPSeq    LogFlags = 0x01 // NF_LOG_TCPSEQ: "flags tcp sequence"
	LogTCPOpt    LogFlags = 0x02 // NF_LOG_TCPOPT: "flags tcp options"
	LogIPOpt     LogFlags = 0x04 // NF_LOG_IPOPT: "flags ip options"
	LogUID       LogFlags = 0x08 // NF_LOG_UID: "flags skuid"
	LogMacDecode LogFlags = 0x20 // NF_LOG_MACDECODE: "flags ether"

	logFlagsAll LogFlags = 0x2f // NF_LOG_MASK: "flags all"
)

// LogLevelDefault is the level of a log statement without one
// (NFT_LOGLEVEL_WARNING, nft_log_init's default; xt_LOG's too).
const LogLevelDefault = 4

// MaxLogPrefix is the longest prefix the kernel keeps (NF_LOG_PREFIXLEN-1).
const MaxLogPrefix = 127

// logLevelNames are nft's names of the syslog levels 0-7.
var logLevelNames = []string{"emerg", "alert", "crit", "err", "warn", "notice", "info", "debug"}

// Log is nft's log statement to the kernel log: Level 0-7 (syslog's; 4, the
// default, is written without "level" and sent without NFTA_LOG_LEVEL, as
// nft does for "log"), Prefix ("" for none) and Flags.
type Log struct {
	Prefix string
	Level  uint8
	Flags  LogFlags
}

func (Log) isStmt() {}

// LogGroup is nft's log statement to an nfnetlink_log group: Group,
// Prefix ("" for none), Snaplen with HasSnaplen (the bytes of the packet
// copied: NF_LOG_F_COPY_LEN; without it, the listener's copy range), and
// QThreshold (0: the listener's threshold).
type LogGroup struct {
	Prefix     string
	Group      uint16
	Snaplen    uint32
	HasSnaplen bool
	QThreshold uint16
}

func (LogGroup) isStmt() {}

// appendLogPrefix writes ` prefix "P"`.
func appendLogPrefix(b []byte, p string) []byte {
	if p == "" {
		return b
	}
	return append(append(append(b, ` prefix "`...), p...), '"')
}

func (l Log) appendText(b []byte) []byte {
	b = appendLogPrefix(append(b, "log"...), l.Prefix)
	if l.Level != LogLevelDefault {
		if int(l.Level) >= len(logLevelNames) {
			return appendInvalid(b, " level "+strconv.Itoa(int(l.Level)))
		}
		b = append(b, " level "+logLevelNames[l.Level]...)
	}
	switch {
	case l.Flags&^logFlagsAll != 0:
		return appendInvalid(b, " log flags "+strconv.FormatUint(uint64(l.Flags), 16))
	case l.Flags == logFlagsAll:
		return append(b, " flags all"...)
	}
	if l.Flags&(LogTCPSeq|LogTCPOpt) != 0 {
		b = append(b, " flags tcp "...)
		switch l.Flags & (LogTCPSeq | LogTCPOpt) {
		case LogTCPSeq:
			b = append(b, "sequence"...)
		case LogTCPOpt:
			b = append(b, "options"...)
		default:
			b = append(b, "sequence,options"...)
		}
	}
	if l.Flags&LogIPOpt != 0 {
		b = append(b, " flags ip options"...)
	}
	if l.Flags&LogUID != 0 {
		b = append(b, " flags skuid"...)
	}
	if l.Flags&LogMacDecode != 0 {
		b = append(b, " flags ether"...)
	}
	return b
}

func (l LogGroup) appendText(b []byte) []byte {
	b = appendLogPrefix(append(b, "log"...), l.Prefix)
	b = strconv.AppendUint(append(b, " group "...), uint64(l.Group), 10)
	if l.HasSnaplen {
		b = strconv.AppendUint(append(b, " snaplen "...), uint64(l.Snaplen), 10)
	}
	if l.QThreshold != 0 {
		b = strconv.AppendUint(append(b, " queue-threshold "...), uint64(l.QThreshold), 10)
	}
	return b
}

// checkLogPrefix says why nft cannot write p: too long for the kernel, or a
// byte its text cannot hold (a string ends at a double quote; log prefix
// expands $ as a variable; NUL ends the kernel's string).
func checkLogPrefix(p string) error {
	if len(p) > MaxLogPrefix {
		return fmt.Errorf("a log prefix of %d bytes (the kernel keeps %d)", len(p), MaxLogPrefix)
	}
	if strings.ContainsAny(p, "\"$\x00\n") {
		return errors.New("a log prefix with a double quote, $, NUL or a newline")
	}
	return nil
}

func (l Log) check() error {
	if l.Level > 7 {
		return fmt.Errorf("log level %d", l.Level)
	}
	if l.Flags&^logFlagsAll != 0 {
		return fmt.Errorf("log flags %#x", uint32(l.Flags))
	}
	return checkLogPrefix(l.Prefix)
}

func (l LogGroup) check() error {
	if !l.HasSnaplen && l.Snaplen != 0 {
		return errors.New("a snaplen without HasSnaplen")
	}
	return checkLogPrefix(l.Prefix)
}

// Attributes of the log expression.
const (
	attrLogGroup      = 1 // NFTA_LOG_GROUP, be16
	attrLogPrefix     = 2 // NFTA_LOG_PREFIX
	attrLogSnaplen    = 3 // NFTA_LOG_SNAPLEN, be32
	attrLogQThreshold = 4 // NFTA_LOG_QTHRESHOLD, be16
	attrLogLevel      = 5 // NFTA_LOG_LEVEL
	attrLogFlags      = 6 // NFTA_LOG_FLAGS
)

func init() {
	schemas["log"] = map[uint16]attrKind{
		attrLogGroup: kindU16, attrLogPrefix: kindString, attrLogSnaplen: kindU32,
		attrLogQThreshold: kindU16, attrLogLevel: kindU32, attrLogFlags: kindU32,
	}
}

// lower encodes l as nft 1.0.6 does: prefix, level (not for 4), flags (not
// for none).
func (l Log) lower(ae *nfnl.Encoder) {
	at := ae.BeginExpr("log")
	if l.Prefix != "" {
		ae.String(attrLogPrefix, l.Prefix)
	}
	if l.Level != LogLevelDefault {
		ae.U32(attrLogLevel, uint32(l.Level))
	}
	if l.Flags != 0 {
		ae.U32(attrLogFlags, uint32(l.Flags))
	}
	ae.EndExpr(at)
}

// lower encodes l as nft 1.0.6 does: prefix, group, snaplen, threshold
// (not for 0).
func (l LogGroup) lower(ae *nfnl.Encoder) {
	at := ae.BeginExpr("log")
	if l.Prefix != "" {
		ae.String(attrLogPrefix, l.Prefix)
	}
	ae.U16(attrLogGroup, l.Group)
	if l.HasSnaplen {
		ae.U32(attrLogSnaplen, l.Snaplen)
	}
	if l.QThreshold != 0 {
		ae.U16(attrLogQThreshold, l.QThreshold)
	}
	ae.EndExpr(at)
}

// raiseLog reads a log expression, as nft sends it and as the kernel dumps
// it (nft_log_dump adds the level 4 nft_log_init gave a log without one,
// and leaves out a threshold of 0).
func (p *raiser) raiseLog(i int) (Stmt, error) {
	e := &p.es[i]
	prefix := e.str[attrLogPrefix]
	if err := checkLogPrefix(prefix); err != nil {
		return nil, p.fail(i, "%v", err)
	}
	if e.has(attrLogGroup) {
		if e.has(attrLogLevel) || e.has(attrLogFlags) {
			return nil, p.fail(i, "a log to a group with a level or flags, which the kernel refuses")
		}
		l := LogGroup{Prefix: prefix, Group: uint16(e.u[attrLogGroup]), QThreshold: uint16(e.u[attrLogQThreshold])}
		if e.has(attrLogSnaplen) {
			l.HasSnaplen, l.Snaplen = true, uint32(e.u[attrLogSnaplen])
		}
		return l, nil
	}
	if e.has(attrLogSnaplen) || e.has(attrLogQThreshold) {
		return nil, p.fail(i, "a snaplen or queue threshold without a group")
	}
	l := Log{Prefix: prefix, Level: LogLevelDefault, Flags: LogFlags(e.u[attrLogFlags])}
	if e.has(attrLogLevel) {
		if lv := e.u[attrLogLevel]; lv > 7 {
			return nil, p.fail(i, "log level %d (8 is nft's audit, which no iptables target sends)", lv)
		}
		l.Level = uint8(e.u[attrLogLevel])
	}
	if err := l.check(); err != nil {
		return nil, p.fail(i, "%v", err)
	}
	return l, nil
}

// debugLog spells a log expression as libnftnl does.
func (e *wireExpr) debugLog() ([]byte, bool) {
	var b []byte
	if e.has(attrLogPrefix) {
		b = append(b, "prefix "+e.str[attrLogPrefix]+" "...)
	}
	if e.has(attrLogGroup) {
		b = fmt.Appendf(b, "group %d snaplen %d qthreshold %d ", e.u[attrLogGroup], e.u[attrLogSnaplen], e.u[attrLogQThreshold])
		return b, true
	}
	if e.has(attrLogLevel) {
		b = fmt.Appendf(b, "level %d ", e.u[attrLogLevel])
	}
	if e.has(attrLogFlags) {
		f := LogFlags(e.u[attrLogFlags])
		for _, x := range []struct {
			f    LogFlags
			name string
		}{{LogTCPSeq, "tcpseq "}, {LogTCPOpt, "tcpopt "}, {LogIPOpt, "ipopt "}, {LogUID, "uid "}, {LogMacDecode, "macdecode "}} {
			if f&x.f != 0 {
				b = append(b, x.name...)
			}
		}
	}
	return b, true
}

// appendJSON writes {"log": null} for a plain log, else {"log": {…}} with
// "prefix", "level" (when not the default) and "flags" as nft 1.0.6 names
// them ("all" for every flag).
func (l Log) appendJSON(b []byte) []byte {
	var o []byte
	if l.Prefix != "" {
		o = appendJSONString(append(o, `,"prefix":`...), l.Prefix)
	}
	if l.Level != LogLevelDefault {
		if int(l.Level) >= len(logLevelNames) {
			return appendJSONInvalid(b, "log level "+strconv.Itoa(int(l.Level)))
		}
		o = appendJSONString(append(o, `,"level":`...), logLevelNames[l.Level])
	}
	if l.Flags&^logFlagsAll != 0 {
		return appendJSONInvalid(b, "log flags "+strconv.FormatUint(uint64(l.Flags), 16))
	}
	var names []string
	if l.Flags == logFlagsAll {
		names = []string{"all"}
	} else {
		for _, f := range []struct {
			f    LogFlags
			name string
		}{{LogTCPSeq, "tcp sequence"}, {LogTCPOpt, "tcp options"}, {LogIPOpt, "ip options"}, {LogUID, "skuid"}, {LogMacDecode, "ether"}} {
			if l.Flags&f.f != 0 {
				names = append(names, f.name)
			}
		}
	}
	o = appendJSONNames(o, `,"flags":`, names)
	if len(o) == 0 {
		return append(b, `{"log":null}`...)
	}
	return append(append(append(b, `{"log":{`...), o[1:]...), "}}"...)
}

// appendJSON writes {"log": {"prefix": …, "group": G, "snaplen": N,
// "queue-threshold": Q}}, each but the group when there.
func (l LogGroup) appendJSON(b []byte) []byte {
	b = append(b, `{"log":{`...)
	if l.Prefix != "" {
		b = append(appendJSONString(append(b, `"prefix":`...), l.Prefix), ',')
	}
	b = strconv.AppendUint(append(b, `"group":`...), uint64(l.Group), 10)
	if l.HasSnaplen {
		b = strconv.AppendUint(append(b, `,"snaplen":`...), uint64(l.Snaplen), 10)
	}
	if l.QThreshold != 0 {
		b = strconv.AppendUint(append(b, `,"queue-threshold":`...), uint64(l.QThreshold), 10)
	}
	return append(b, "}}"...)
}
