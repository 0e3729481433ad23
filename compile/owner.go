package compile

import (
	"fmt"
	"strconv"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/parse"
)

// This file compiles the owner match. The kernel facts (docs/semantics.md,
// "Socket owners", gives the source lines):
//
//   - xt_owner.c's owner_mt takes sk = skb_to_full_sk(skb); without one, or
//     without sk->sk_socket, it returns (match ^ invert) == 0: a plain
//     --uid-owner or --gid-owner fails, a negated one holds. With a socket
//     but no file (a kernel socket) it returns whether every --uid-owner
//     and --gid-owner is negated. Otherwise --uid-owner holds when the
//     file's fsuid is in [uid_min, uid_max] (make_kuid(net->user_ns, …)),
//     XORed with its "!"; --gid-owner the same with fsgid (or, with
//     --suppl-groups, a supplementary group); all options ANDed.
//   - nft_meta.c's NFT_META_SKUID and SKGID stop the rule (NFT_BREAK)
//     without a full socket of the namespace, without sk_socket or without
//     a file, and otherwise store from_kuid_munged(&init_user_ns, fsuid)
//     (fsgid): for a plain --uid-owner, the packets without a user's socket
//     fail in both, and the others pass when the id is in the range, in
//     both, as long as the network namespace belongs to the initial user
//     namespace (where make_kuid and from_kuid_munged are the identity).
//   - A negated id holds for packets without a user's socket in xt and
//     never in nft; --socket-exists holds for a kernel socket in xt and
//     nft's meta skuid stops there; nft reads no supplementary group. parse
//     refuses those as unsupported.

// owner compiles an owner match: --uid-owner 1000 is "meta skuid 1000",
// --gid-owner 100-200 "meta skgid 100-200", both "meta skuid … meta skgid
// …".
func owner(m *parse.Owner) ([]expr.Match, error) {
	if f := m.SocketExists; f != nil {
		return nil, fmt.Errorf("col %d: --socket-exists has no nft test", f.Pos()+1)
	}
	if f := m.SupplGroups; f != nil {
		return nil, fmt.Errorf("col %d: --suppl-groups has no nft test", f.Pos()+1)
	}
	var out []expr.Match
	for _, o := range []*parse.OwnerRange{m.UID, m.GID} {
		if o == nil {
			continue
		}
		if o.Negated {
			return nil, fmt.Errorf("col %d: a negated owner id holds for packets without a socket, which nft's meta skuid and skgid do not test", o.Pos()+1)
		}
		s := expr.SkID{GID: o == m.GID, Op: expr.OpEq, Lo: o.Min}
		if o.Max != o.Min {
			s.Op, s.Hi = expr.OpRange, o.Max
		}
		out = append(out, s)
	}
	return out, nil
}

// isOwner reports whether m is a match owner compiles to.
func isOwner(m expr.Match) bool {
	s, ok := m.(expr.SkID)
	return ok && (s.Op == expr.OpEq || s.Op == expr.OpRange && s.Lo <= s.Hi) && s.Hi < 1<<32-1 && s.Lo < 1<<32-1
}

// appendOwnerWords appends the words of the matches owner compiles to at
// the start of ms, and returns the rest of ms: a user test and a group test
// after it are one "-m owner", any other one a match of its own.
func appendOwnerWords(words []string, ms []expr.Match) ([]string, []expr.Match) {
	for len(ms) > 0 && isOwner(ms[0]) {
		s := ms[0].(expr.SkID)
		words = appendSkIDWords(append(words, "-m", "owner"), s)
		ms = ms[1:]
		if len(ms) > 0 && isOwner(ms[0]) {
			if g := ms[0].(expr.SkID); !s.GID && g.GID {
				words = appendSkIDWords(words, g)
				ms = ms[1:]
			}
		}
	}
	return words, ms
}

// appendSkIDWords appends "--uid-owner N" or "--gid-owner N-M".
func appendSkIDWords(words []string, s expr.SkID) []string {
	opt := "--uid-owner"
	if s.GID {
		opt = "--gid-owner"
	}
	v := strconv.FormatUint(uint64(s.Lo), 10)
	if s.Op == expr.OpRange && s.Hi != s.Lo {
		v += "-" + strconv.FormatUint(uint64(s.Hi), 10)
	}
	return append(words, opt, v)
}
