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
