package expr

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// A rule's userdata (NFTA_RULE_USERDATA) is a list of TLVs, libnftnl's
// "udata": one byte of type, one byte of length, then the value. nft writes
// its comment as type 0 (a NUL-terminated string) and ignores types it does
// not know, so ctmatch keeps its own record in a type of its own next to it.
const (
	udataComment   = 0    // NFTNL_UDATA_RULE_COMMENT
	udataGroup     = 0xc7 // ctmatch's group record
	udataGroupHigh = 0xc8 // the high 32 bits of its group id
	// MaxUserData is the kernel's limit on a rule's userdata
	// (NFT_USERDATA_MAXLEN).
	MaxUserData = 256
)

// groupVersion is the layout of the group record's value:
//
//	byte 0     version (1)
//	byte 1     flags: 1 = the words are ip6tables words, 2 = words follow
//	bytes 2-5  group id, big endian
//	byte 6     index of this piece, from 0
//	byte 7     number of pieces in the group
//	bytes 8-   the canonical iptables words of the whole rule, when they fit
//
// A group id of more than 32 bits keeps its low 32 bits there and its high
// 32 bits in a TLV of its own next to the record (type 0xc8, 4 bytes, big
// endian), which readers that do not know it skip, as nft does: so a
// ctmatch that reads only the record still finds every group whole, by the
// low half of its id. Ids have 64 bits so that a writer can pick one no
// other group of the chain has without reading the chain (see ctmatch's
// Batch): 64 random bits, where 32 would collide.
const groupVersion = 1

const (
	groupFlagIPv6  = 1
	groupFlagWords = 2
	groupHeader    = 8
)

// Group says which iptables rule an nft rule is a piece of: one iptables rule
// can become several nft rules, and they are listed, counted and deleted
// together.
type Group struct {
	ID    uint64 // the same for every piece of one iptables rule, and unique within its chain
	Index int    // this piece, from 0
	Count int    // how many pieces the rule has
	IPv6  bool   // the words are ip6tables words
	// Words are the iptables rule's canonical words (matches and target), or
	// "" when they did not fit in the rule's userdata: decompile then rebuilds
	// them from the expressions.
	Words string
}

// UserData returns a rule's userdata holding comment (nft's comment, "" for
// none) and the group record g. When the words do not fit in MaxUserData, the
// record is written without them. It fails only when the comment alone is too
// long, or g is not a valid record.
func (g Group) UserData(comment string) ([]byte, error) {
	return g.AppendUserData(nil, comment)
}

// AppendUserData appends to dst the userdata UserData returns, and returns
// the extended slice (dst itself, on an error).
func (g Group) AppendUserData(dst []byte, comment string) ([]byte, error) {
	if g.Count < 1 || g.Count > 255 || g.Index < 0 || g.Index >= g.Count {
		return dst, fmt.Errorf("group record: piece %d of %d is out of range", g.Index+1, g.Count)
	}
	out, err := appendComment(dst, comment)
	if err != nil {
		return dst, err
	}
	used := len(out) - len(dst) // by the comment
	if g.ID>>32 != 0 {
		used += 2 + 4 // by the high half of the id
	}
	flags := byte(0)
	if g.IPv6 {
		flags |= groupFlagIPv6
	}
	room := min(MaxUserData-used-2-groupHeader, 255-groupHeader)
	words := ""
	if g.Words != "" && len(g.Words) <= room {
		flags |= groupFlagWords
		words = g.Words
	}
	n := groupHeader + len(words)
	if used+2+n > MaxUserData {
		return dst, fmt.Errorf("comment of %d bytes leaves no room for ctmatch's group record", len(comment))
	}
	out = append(out, udataGroup, byte(n), groupVersion, flags)
	out = binary.BigEndian.AppendUint32(out, uint32(g.ID))
	out = append(out, byte(g.Index), byte(g.Count))
	out = append(out, words...)
	if g.ID>>32 != 0 {
		out = append(out, udataGroupHigh, 4)
		out = binary.BigEndian.AppendUint32(out, uint32(g.ID>>32))
	}
	return out, nil
}

// CommentUserData returns the userdata of a rule that holds only nft's
// comment: what nft sends for `comment "…"`. (Group.UserData writes the
// comment next to ctmatch's group record.)
func CommentUserData(comment string) ([]byte, error) {
	if comment == "" {
		return nil, errors.New("empty comment")
	}
	return appendComment(nil, comment)
}

// appendComment appends nft's comment record (type 0, NUL-terminated), the
// same for rules and tables, when comment is not empty.
func appendComment(out []byte, comment string) ([]byte, error) {
	if comment == "" {
		return out, nil
	}
	if len(comment)+1 > 255 {
		return nil, fmt.Errorf("comment of %d bytes is too long: at most 254", len(comment))
	}
	out = append(out, udataComment, byte(len(comment)+1))
	out = append(out, comment...)
	return append(out, 0), nil
}

// walkUserData calls f with the type and value of each udata TLV of b.
func walkUserData(b []byte, f func(typ byte, val []byte) error) error {
	for len(b) > 0 {
		if len(b) < 2 || int(b[1]) > len(b)-2 {
			return fmt.Errorf("userdata: truncated entry")
		}
		if err := f(b[0], b[2:2+int(b[1])]); err != nil {
			return err
		}
		b = b[2+int(b[1]):]
	}
	return nil
}

// Tables that ctmatch creates carry an ownership record in their userdata
// (NFTA_TABLE_USERDATA), a udata TLV like the rule's group record, next to
// nft's table comment (type 0, NFTNL_UDATA_TABLE_COMMENT); nft ignores the
// types it does not know, so nft 1.0.6 lists such tables as usual:
//
//	type   0xc7 (the type of ctmatch's records, as in rule userdata)
//	length 8
//	value  byte 0: version (1); bytes 1-7: "ctmatch"
//
// A table with the record is ctmatch's: it is never taken for
// iptables-nft's, whatever its name.
const (
	ownerVersion = 1
	ownerMagic   = "ctmatch"
)

// TableUserData returns the userdata of a table that ctmatch creates: nft's
// comment record when comment is not empty, then ctmatch's ownership record.
func TableUserData(comment string) ([]byte, error) {
	out, err := appendComment(nil, comment)
	if err != nil {
		return nil, err
	}
	if len(out)+2+1+len(ownerMagic) > MaxUserData {
		return nil, fmt.Errorf("table comment of %d bytes leaves no room for ctmatch's ownership record", len(comment))
	}
	out = append(out, udataGroup, byte(1+len(ownerMagic)), ownerVersion)
	return append(out, ownerMagic...), nil
}

// UserDataComment returns nft's comment in a table's, chain's or rule's
// userdata (the TLV of type 0, NUL-terminated), or "".
func UserDataComment(userdata []byte) string {
	comment := ""
	walkUserData(userdata, func(typ byte, val []byte) error {
		if typ == udataComment && comment == "" {
			comment, _, _ = strings.Cut(string(val), "\x00")
		}
		return nil
	})
	return comment
}

// OwnedTable reports whether a table's userdata holds ctmatch's ownership
// record (of any version).
func OwnedTable(userdata []byte) bool {
	owned := false
	walkUserData(userdata, func(typ byte, val []byte) error {
		owned = owned || (typ == udataGroup && len(val) >= 1+len(ownerMagic) && string(val[1:1+len(ownerMagic)]) == ownerMagic)
		return nil
	})
	return owned
}

// ErrNoGroup says that a rule's userdata has no ctmatch group record.
var ErrNoGroup = errors.New("no ctmatch group record")

// ParseUserData reads a rule's userdata: nft's comment, if any, and ctmatch's
// group record. A rule without a record gives ErrNoGroup (with the comment).
func ParseUserData(b []byte) (comment string, g Group, err error) {
	found := false
	var high uint32
	err = walkUserData(b, func(typ byte, val []byte) error {
		switch typ {
		case udataComment:
			if len(val) > 0 && val[len(val)-1] == 0 {
				val = val[:len(val)-1]
			}
			comment = string(val)
		case udataGroup:
			if len(val) < groupHeader || val[0] != groupVersion {
				return fmt.Errorf("userdata: group record of version %d and %d bytes: not one ctmatch reads", first(val), len(val))
			}
			g = Group{
				ID:    uint64(binary.BigEndian.Uint32(val[2:6])),
				Index: int(val[6]),
				Count: int(val[7]),
				IPv6:  val[1]&groupFlagIPv6 != 0,
			}
			if val[1]&groupFlagWords != 0 {
				g.Words = string(val[groupHeader:])
			}
			if g.Count < 1 || g.Index >= g.Count {
				return fmt.Errorf("userdata: group record says piece %d of %d", g.Index+1, g.Count)
			}
			found = true
		case udataGroupHigh:
			if len(val) != 4 {
				return fmt.Errorf("userdata: the high half of a group id in %d bytes, not 4", len(val))
			}
			high = binary.BigEndian.Uint32(val)
		}
		return nil
	})
	if err != nil {
		return comment, Group{}, fmt.Errorf("rule %w", err)
	}
	if !found {
		return comment, Group{}, ErrNoGroup
	}
	g.ID |= uint64(high) << 32
	return comment, g, nil
}

func first(b []byte) int {
	if len(b) == 0 {
		return 0
	}
	return int(b[0])
}
