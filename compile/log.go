package compile

import (
	"fmt"
	"strconv"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/parse"
)

// This file compiles LOG and NFLOG to nft's log statement, and back. Both
// call the same kernel function with the same arguments
// (docs/semantics.md, "LOG and NFLOG"):
//
//   - LOG: xt_LOG's log_tg and nft_log_eval both call nf_log_packet with
//     NF_LOG_TYPE_LOG, the level and the NF_LOG_* flags (XT_LOG_* are the
//     same bits), and the prefix: "log prefix "P" level debug flags tcp
//     sequence". Level 4, iptables' default, is nft's default too.
//   - NFLOG: xt_NFLOG's nflog_tg and nft_log_eval both call nf_log_packet
//     with NF_LOG_TYPE_ULOG, the group, the threshold, and the copy length
//     with NF_LOG_F_COPY_LEN only for --nflog-size (nft's snaplen): "log
//     prefix "P" group 5 snaplen 100 queue-threshold 3". --nflog-range sets
//     the length without NF_LOG_F_COPY_LEN, which nfulnl_log_packet then
//     ignores, so it compiles to nothing.

// logStmts returns the log statement of a LOG or NFLOG target.
func logStmts(t *parse.Target) []expr.Stmt {
	num := func(k parse.TargetOptionKind) (uint32, bool) {
		if o := t.Option(k); o != nil {
			return o.Num, true
		}
		return 0, false
	}
	text := func(k parse.TargetOptionKind) string {
		if o := t.Option(k); o != nil {
			return o.Text
		}
		return ""
	}
	if t.Name == "LOG" {
		l := expr.Log{Prefix: text(parse.OptLogPrefix), Level: parse.DefaultLogLevel}
		if n, ok := num(parse.OptLogLevel); ok {
			l.Level = uint8(n)
		}
		for k, f := range map[parse.TargetOptionKind]expr.LogFlags{
			parse.OptLogTCPSequence: expr.LogTCPSeq, parse.OptLogTCPOptions: expr.LogTCPOpt,
			parse.OptLogIPOptions: expr.LogIPOpt, parse.OptLogUID: expr.LogUID, parse.OptLogMacdecode: expr.LogMacDecode,
		} {
			if t.Option(k) != nil {
				l.Flags |= f
			}
		}
		return []expr.Stmt{l}
	}
	g := expr.LogGroup{Prefix: text(parse.OptNflogPrefix)}
	n, _ := num(parse.OptNflogGroup)
	g.Group = uint16(n)
	g.Snaplen, g.HasSnaplen = num(parse.OptNflogSize)
	n, _ = num(parse.OptNflogThreshold)
	g.QThreshold = uint16(n)
	return []expr.Stmt{g}
}

// logWords returns the iptables words of a log statement, or false when
// no iptables target sends it (a prefix longer than LOG or NFLOG keeps).
func logWords(s expr.Stmt) ([]string, bool) {
	switch s := s.(type) {
	case expr.Log:
		w := []string{"-j", "LOG"}
		if s.Prefix != "" {
			if len(s.Prefix) > parse.MaxLogPrefix {
				return nil, false
			}
			w = append(w, "--log-prefix", parse.SaveString(s.Prefix))
		}
		if s.Level != parse.DefaultLogLevel {
			w = append(w, "--log-level", strconv.Itoa(int(s.Level)))
		}
		for _, x := range []struct {
			f    expr.LogFlags
			word string
		}{
			{expr.LogTCPSeq, "--log-tcp-sequence"}, {expr.LogTCPOpt, "--log-tcp-options"},
			{expr.LogIPOpt, "--log-ip-options"}, {expr.LogUID, "--log-uid"}, {expr.LogMacDecode, "--log-macdecode"},
		} {
			if s.Flags&x.f != 0 {
				w = append(w, x.word)
			}
		}
		return w, true
	case expr.LogGroup:
		w := []string{"-j", "NFLOG"}
		if s.Prefix != "" {
			if len(s.Prefix) > parse.MaxNflogPrefix {
				return nil, false
			}
			w = append(w, "--nflog-prefix", parse.SaveString(s.Prefix))
		}
		if s.Group != 0 {
			w = append(w, "--nflog-group", strconv.Itoa(int(s.Group)))
		}
		if s.HasSnaplen {
			w = append(w, "--nflog-size", fmt.Sprint(s.Snaplen))
		}
		if s.QThreshold != 0 {
			w = append(w, "--nflog-threshold", strconv.Itoa(int(s.QThreshold)))
		}
		return w, true
	}
	return nil, false
}
