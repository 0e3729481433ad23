package expr

// This file holds nft's "ah spi", "ah hdrlength" and "ah reserved": the
// fields of an AH header, which nft loads from the transport header after
// "meta l4proto ah" (in IPv6, nft_set_pktinfo_ipv6 stops at the first AH
// header: ipv6_find_hdr with IP6_FH_F_AUTH). The length and the reserved
// field are transport header bytes 1 and 2-3, the fields the IR also names
// FieldICMPCode and FieldTHDport; after "meta l4proto ah" their text is
// nft's AH words.

// ProtoAH is IPPROTO_AH.
const ProtoAH uint8 = 51

// ahWord is nft's protocol word of the AH header's fields.
const ahWord = "ah"

// ahField returns nft's name of the transport header field f in an AH
// header, or "".
func ahField(f Field) string {
	switch f {
	case FieldAHSPI:
		return "spi"
	case FieldICMPCode:
		return "hdrlength"
	case FieldTHDport:
		return "reserved"
	}
	return ""
}

// appendAHText writes a field of the AH header: "ah spi 5" after "meta
// l4proto ah" (proto "ah"), the raw payload "@th,32,32 5" otherwise; any
// other field after "meta l4proto ah" is written as "th".
func (p Payload) appendAHText(b []byte, proto string) []byte {
	name := ahField(p.Field)
	switch {
	case proto == ahWord && name != "":
		return p.appendValueText(append(append(append(b, "ah "...), name...), ' '))
	case p.Field == FieldAHSPI:
		return p.appendValueText(append(b, "@th,32,32 "...))
	}
	return p.appendText(b, "th")
}

// appendAHJSON writes a field of the AH header as appendAHText its text:
// {"payload": {"protocol": "ah", "field": NAME}} after "meta l4proto ah",
// the raw {"payload": {"base": "th", "offset": 32, "len": 32}} for the SPI
// otherwise.
func (p Payload) appendAHJSON(b []byte, proto string) []byte {
	name := ahField(p.Field)
	switch {
	case proto == ahWord && name != "":
		left := append(appendJSONString([]byte(`{"payload":{"protocol":"ah","field":`), name), "}}"...)
		return p.appendJSONLeft(b, left)
	case p.Field == FieldAHSPI:
		return p.appendJSONLeft(b, []byte(`{"payload":{"base":"th","offset":32,"len":32}}`))
	}
	return p.appendJSONIn(b, "th")
}
