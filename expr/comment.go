package expr

// A rule's comment, as nft writes it: `comment "TEXT"` at the end of the
// rule, after the verdict (nft lists it there). nft's scanner reads a
// string as everything between two double quotes, with no escapes: TEXT
// holds no double quote (a backslash is itself), and nft's parser takes at
// most MaxComment bytes.

// MaxComment is the longest comment nft 1.0.6 takes on a rule, in bytes
// (NFTNL_UDATA_COMMENT_MAXLEN; "comment too long, 128 characters maximum
// allowed").
const MaxComment = 128

func appendCommentText(b []byte, comment string) []byte {
	b = append(b, `comment "`...)
	b = append(b, comment...)
	return append(b, '"')
}

// DebugUserData returns a rule's userdata as libnftnl's debug output
// (nft --debug=netlink) writes it after the expressions, without the
// indentation: "userdata = { \x00\x02x\x00 }", each printable ASCII byte as
// itself and every other byte as \xNN. It returns "" for no userdata,
// where libnftnl writes no line.
func DebugUserData(ud []byte) string {
	if len(ud) == 0 {
		return ""
	}
	const hex = "0123456789abcdef"
	b := make([]byte, 0, len("userdata = {  }")+4*len(ud))
	b = append(b, "userdata = { "...)
	for _, c := range ud {
		if c >= 0x20 && c < 0x7f {
			b = append(b, c)
			continue
		}
		b = append(b, '\\', 'x', hex[c>>4], hex[c&0xf])
	}
	return string(append(b, " }"...))
}
