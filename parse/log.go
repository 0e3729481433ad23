package parse

import (
	"math"
	"strconv"
	"strings"
)

// This file reads the logging targets, as iptables 1.8.9 reads them
// (extensions/libxt_LOG.c, libxt_NFLOG.c):
//
//	-j LOG [--log-prefix P] [--log-level L] [--log-tcp-sequence]
//	       [--log-tcp-options] [--log-ip-options] [--log-uid] [--log-macdecode]
//	-j NFLOG [--nflog-group N] [--nflog-prefix P] [--nflog-range N]
//	         [--nflog-size N] [--nflog-threshold N]
//
// A prefix is at least one byte; iptables keeps its first 29 (LOG, struct
// xt_log_info's prefix[30]) or 63 (NFLOG, xt_nflog_info's prefix[64]) and
// refuses a newline. A level is a name of libxt_LOG's table (case matters)
// or a number 0-7 as strtoul with base 0 reads it. --nflog-range sets a
// length the kernel never uses (xt_NFLOG passes it without
// XT_NFLOG_F_COPY_LEN): iptables-nft drops it and prints nothing, as ctmatch
// does; --nflog-size sets the copy length and cannot go with it.

// The options of LOG and NFLOG; they follow the options of target.go.
const (
	OptLogPrefix      TargetOptionKind = iota + 32 // --log-prefix P (LOG)
	OptLogLevel                                    // --log-level L
	OptLogTCPSequence                              // --log-tcp-sequence
	OptLogTCPOptions                               // --log-tcp-options
	OptLogIPOptions                                // --log-ip-options
	OptLogUID                                      // --log-uid
	OptLogMacdecode                                // --log-macdecode
	OptNflogPrefix                                 // --nflog-prefix P (NFLOG)
	OptNflogGroup                                  // --nflog-group N
	OptNflogRange                                  // --nflog-range N (ignored by the kernel)
	OptNflogSize                                   // --nflog-size N
	OptNflogThreshold                              // --nflog-threshold N
)

// extOptionNames are the names of the options of LOG and NFLOG, and of
// the target extensions after them (mark.go, ct.go, dscp.go add theirs).
var extOptionNames = map[TargetOptionKind]string{
	OptLogPrefix: "log-prefix", OptLogLevel: "log-level", OptLogTCPSequence: "log-tcp-sequence",
	OptLogTCPOptions: "log-tcp-options", OptLogIPOptions: "log-ip-options", OptLogUID: "log-uid",
	OptLogMacdecode: "log-macdecode", OptNflogPrefix: "nflog-prefix", OptNflogGroup: "nflog-group",
	OptNflogRange: "nflog-range", OptNflogSize: "nflog-size", OptNflogThreshold: "nflog-threshold",
}

// Longest prefixes iptables keeps.
const (
	MaxLogPrefix   = 29 // LOG: struct xt_log_info's prefix[30]
	MaxNflogPrefix = 63 // NFLOG: struct xt_nflog_info's prefix[64]
)

// DefaultLogLevel is LOG's level when --log-level is not given
// (LOG_WARNING); iptables-save prints no --log-level for it.
const DefaultLogLevel = 4

// logLevelNames is libxt_LOG.c's table of level names.
var logLevelNames = map[string]uint8{
	"alert": 1, "crit": 2, "debug": 7, "emerg": 0, "error": 3, "info": 6, "notice": 5, "panic": 0, "warning": 4,
}

func init() {
	targetSpecs["LOG"] = []optSpec{
		{long: "log-level", what: "a log level", target: OptLogLevel},
		{long: "log-prefix", what: "a prefix", target: OptLogPrefix},
		{long: "log-tcp-sequence", target: OptLogTCPSequence},
		{long: "log-tcp-options", target: OptLogTCPOptions},
		{long: "log-ip-options", target: OptLogIPOptions},
		{long: "log-uid", target: OptLogUID},
		{long: "log-macdecode", target: OptLogMacdecode},
	}
	targetSpecs["NFLOG"] = []optSpec{
		{long: "nflog-group", what: "a group number", target: OptNflogGroup},
		{long: "nflog-prefix", what: "a prefix", target: OptNflogPrefix},
		{long: "nflog-range", what: "a length", target: OptNflogRange},
		{long: "nflog-size", what: "a length", target: OptNflogSize},
		{long: "nflog-threshold", what: "a number of packets", target: OptNflogThreshold},
	}
}

// isLogOption reports whether k is an option of LOG or NFLOG.
func isLogOption(k TargetOptionKind) bool { return k >= OptLogPrefix && k <= OptNflogThreshold }

// logValue reads the value v of a LOG or NFLOG option.
func (p *parser) logValue(v word, o *TargetOption) error {
	t := p.rule.Target
	switch o.Kind {
	case OptLogPrefix, OptNflogPrefix:
		s, max := v.val, MaxLogPrefix
		if o.Kind == OptNflogPrefix {
			max = MaxNflogPrefix
		}
		if s == "" {
			return p.errorf(v, "Argument must have a minimum length of 1 characters")
		}
		if strings.IndexByte(s, '\n') >= 0 {
			return p.errorf(v, "Newlines not allowed in --%s", o.Kind)
		}
		if len(s) > max {
			s = s[:max] // xtopt_parse_string copies at most size-1 bytes
		}
		o.Text = s
		if i := strings.IndexAny(s, "\"$"); i >= 0 && p.unsupported == nil {
			p.unsupported = p.unsupportedf(v, "a prefix with %q is valid iptables, but nft's text cannot hold it (a string holds no double quote; log prefix expands $ as a variable)", s[i:i+1])
			p.unsupported.Hint = "write the prefix without \" and $"
		}
		return nil
	case OptLogLevel:
		if n, ok := logLevelNames[v.val]; ok {
			o.Num = uint32(n)
			return nil
		}
		n, ok := parseCNumber(v.val, 7)
		if !ok {
			e := p.errorf(v, "log level %q unknown", v.val)
			e.Hint = "expected 0-7 or one of emerg, alert, crit, error, warning, notice, info, debug, panic"
			return e
		}
		o.Num = uint32(n)
		return nil
	case OptNflogRange, OptNflogSize:
		other := OptNflogSize
		if o.Kind == OptNflogSize {
			other = OptNflogRange
		}
		if t.Option(other) != nil {
			return p.errorf(v, "NFLOG: option \"--%s\" cannot be used together with \"--%s\"", OptNflogRange, OptNflogSize)
		}
		n, ok := parseCNumber(v.val, math.MaxUint32)
		if !ok {
			return p.errorf(v, "NFLOG: bad value for option \"--%s\", or out of range (0-4294967295)", o.Kind)
		}
		o.Num = uint32(n)
		return nil
	case OptNflogGroup, OptNflogThreshold:
		n, ok := parseCNumber(v.val, math.MaxUint16)
		if !ok {
			return p.errorf(v, "NFLOG: bad value for option \"--%s\", or out of range (0-65535)", o.Kind)
		}
		o.Num = uint32(n)
		return nil
	}
	return p.errorf(v, "option --%s", o.Kind)
}

// logOptions writes LOG's and NFLOG's options as iptables-save prints them
// (libxt_LOG.c's LOG_save, libxt_NFLOG.c's nflog_print): no level 4, no
// group or threshold 0, no --nflog-range.
func (p *printer) logOptions(t *Target) {
	num := func(k TargetOptionKind, skip uint32) {
		if o := t.Option(k); o != nil && o.Num != skip {
			p.word("--" + k.String())
			p.word(strconv.FormatUint(uint64(o.Num), 10))
		}
	}
	str := func(k TargetOptionKind) {
		if o := t.Option(k); o != nil {
			p.word("--" + k.String())
			p.word(SaveString(o.Text))
		}
	}
	flag := func(k TargetOptionKind) {
		if t.Option(k) != nil {
			p.word("--" + k.String())
		}
	}
	if t.Name == "LOG" {
		str(OptLogPrefix)
		num(OptLogLevel, DefaultLogLevel)
		for _, k := range []TargetOptionKind{OptLogTCPSequence, OptLogTCPOptions, OptLogIPOptions, OptLogUID, OptLogMacdecode} {
			flag(k)
		}
		return
	}
	str(OptNflogPrefix)
	num(OptNflogGroup, 0)
	if o := t.Option(OptNflogSize); o != nil {
		p.word("--" + OptNflogSize.String())
		p.word(strconv.FormatUint(uint64(o.Num), 10))
	}
	num(OptNflogThreshold, 0)
}
