package wire

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf16"
	"unicode/utf8"
)

// FuzzParse feeds arbitrary bytes to Parse: it never panics, fails only
// with a *SyntaxError inside the input, accepts only valid JSON, and what
// it reads encodes back (AppendEvent) to bytes that Parse reads the same.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`{"type":"leader","action":"request","clientId":"a"}`,
		` {"clientId":"b","x":[1,{"y":null}],"action":3,"type":"t","clientId":"a\u00e9"} `,
		`{"type":"leader","action":"current","clientId":"\ud800\udc00\udc00","epoch":-1.5e+3,"value":"\"\\/\b\f\n\r\t","takeover":{}}`,
		`{"epoch":"1","value":null,"takeover":[true,false]}`,
		`{"a":` + strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1) + `}`,
		`{"a":1}x`, `{"a" 1}`, `{"a":01}`, `{"a":"\x01"}`, "{\"a\":\"\xed\xa0\x80\"}", `{"a":"\u12"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var fs, general Fields
		err := Parse(data, &fs)
		if errGeneral := parse(data, &general, false); fmt.Sprint(err) != fmt.Sprint(errGeneral) || err == nil && !reflect.DeepEqual(fs, general) {
			t.Fatalf("Parse(%q) = %+v, %v; the general loop reads %+v, %v", data, fs, err, general, errGeneral)
		}
		if err != nil {
			se, ok := err.(*SyntaxError)
			if !ok || se.Offset < 0 || se.Offset > len(data) || se.Msg == "" {
				t.Fatalf("Parse(%q) error %#v, want a *SyntaxError within the input", data, err)
			}
			return
		}
		if !json.Valid(data) || !utf8.Valid(data) {
			t.Fatalf("Parse accepted %q, which is not valid JSON in UTF-8", data)
		}
		for _, fl := range []Field{fs.Type, fs.Action, fs.ClientID, fs.Value, fs.Takeover, fs.Epoch} {
			if fl.Present && fl.Kind != "" {
				t.Fatalf("field %+v both present and of kind %q", fl, fl.Kind)
			}
		}
		if fs.Epoch.Present && !json.Valid(fs.Epoch.Value) {
			t.Fatalf("epoch %q is not a JSON number", fs.Epoch.Value)
		}
		// The strings read encode and read back the same.
		enc := AppendEvent(nil, string(fs.Type.Value), string(fs.Action.Value), string(fs.ClientID.Value), 7, string(fs.Value.Value), string(fs.Takeover.Value))
		var back Fields
		if err := Parse(enc, &back); err != nil {
			t.Fatalf("AppendEvent gave %q, which Parse rejects: %v", enc, err)
		}
		for _, p := range [][2]Field{{fs.Type, back.Type}, {fs.Action, back.Action}, {fs.ClientID, back.ClientID}, {fs.Value, back.Value}, {fs.Takeover, back.Takeover}} {
			if !bytes.Equal(p[0].Value, p[1].Value) {
				t.Fatalf("%q encoded as %q reads back as %q", p[0].Value, enc, p[1].Value)
			}
		}
		if string(back.Epoch.Value) != "7" {
			t.Fatalf("epoch 7 encoded as %q reads back as %q", enc, back.Epoch.Value)
		}
	})
}

// FuzzAppendString checks the encoder on any string: the output is valid
// JSON whenever the input is UTF-8, encoding/json decodes it to the input,
// and Parse reads back exactly the input whenever that is WTF-8.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "a", "\"\\\x00\x1f\x7f", "<>&\u2028\u2029", "\U0001F600\uffff", "\xed\xa0\x80", "\xed\xb0\x80x", "\xff", "é\n\t",
		"\xed\x9f\xbf", "x\xed", "\xed\xa0", "web-17\xed\xa0\x80\"", "\xf0\x9f\xed\xa0\x80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := AppendString([]byte("x"), s), appendStringByRune([]byte("x"), s); !bytes.Equal(got, want) {
			t.Fatalf("AppendString(%q) = %q, the rune-by-rune encoder writes %q", s, got, want)
		}
		enc := AppendString([]byte("{\"k\":"), s)
		enc = append(enc, '}')
		if utf8.ValidString(s) {
			var got map[string]string
			if err := json.Unmarshal(enc, &got); err != nil || got["k"] != s {
				t.Fatalf("AppendString(%q) = %s: encoding/json reads %q, %v", s, enc, got["k"], err)
			}
		}
		var fs Fields
		err := Parse(enc, &fs)
		if wtf8(s) {
			if err != nil {
				t.Fatalf("AppendString(%q) = %s, which Parse rejects: %v", s, enc, err)
			}
		} else if err == nil {
			t.Fatalf("Parse read %s although %q is not WTF-8", enc, s)
		}
	})
}

// appendStringByRune is AppendString written rune by rune, a byte or a
// code point at a time, without its table or its runs of plain bytes (the
// escapes themselves are AppendString's). AppendString must write the same
// bytes for every string.
func appendStringByRune(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		switch c := s[i]; {
		case c < 0x20 || c == '"' || c == '\\':
			b = appendEscape(b, c)
			i++
		case c < 0x80:
			b = append(b, c)
			i++
		default:
			if u, ok := surrogateAt(s, i); ok {
				b = appendSurrogate(b, u)
				i += 3
				continue
			}
			_, size := utf8.DecodeRuneInString(s[i:])
			b = append(b, s[i:i+size]...)
			i += size
		}
	}
	return append(b, '"')
}

// wtf8 reports whether s is UTF-8 in which surrogates may also appear.
func wtf8(s string) bool {
	for i := 0; i < len(s); {
		if _, ok := surrogateAt(s, i); ok {
			i += 3
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			return false
		}
		i += n
	}
	return true
}

// units is the UTF-16 code units of a WTF-8 string, decoded independently
// of Compare's reader.
func units(s string) []uint16 {
	var u []uint16
	for i := 0; i < len(s); {
		if i+2 < len(s) && s[i] == 0xED && s[i+1]&0xE0 == 0xA0 && s[i+2]&0xC0 == 0x80 {
			u = append(u, 0xD000|uint16(s[i+1]&0x3F)<<6|uint16(s[i+2]&0x3F))
			i += 3
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		u = utf16.AppendRune(u, r)
		i += n
	}
	return u
}

// FuzzCompare checks that Compare is a total order (antisymmetric,
// transitive, 0 only for equal strings) and that it is the order its doc
// states: UTF-16 code units, as JavaScript's < compares, with bytes that
// are not UTF-8 as U+FFFD and ties broken by the bytes.
func FuzzCompare(f *testing.F) {
	for _, s := range [][3]string{
		{"a", "b", "c"}, {"\U0001F600", "\uffff", "\ue000"}, {"\xed\xa0\x80", "\xed\xb0\x80", "\U0001F600"},
		{"\xed\xa0\xbd\xed\xb8\x80", "\U0001F600", "\U0001F601"}, {"x\xffa", "x\xffb", "x\xfe"}, {"", "a", "a\x00"},
		{"\xe2\x82", "\xe2\x82\xac", "\ufffd"}, {"\xed0", "\xed\xb0\x80", "0"},
	} {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, a, b, c string) {
		ab, ba := Compare(a, b), Compare(b, a)
		if ab != -ba || ab < -1 || ab > 1 {
			t.Fatalf("Compare(%q, %q) = %d, Compare(%q, %q) = %d: not antisymmetric", a, b, ab, b, a, ba)
		}
		if (ab == 0) != (a == b) || Compare(a, a) != 0 {
			t.Fatalf("Compare(%q, %q) = %d, but the strings are equal: %v", a, b, ab, a == b)
		}
		bc, ac := Compare(b, c), Compare(a, c)
		if ab <= 0 && bc <= 0 && ac > 0 || ab >= 0 && bc >= 0 && ac < 0 {
			t.Fatalf("not transitive: %q vs %q = %d, %q vs %q = %d, %q vs %q = %d", a, b, ab, b, c, bc, a, c, ac)
		}
		// The documented order: by UTF-16 code units, each byte that is
		// not UTF-8 read as U+FFFD, and ties broken by the bytes.
		want := slices.Compare(units(a), units(b))
		if want == 0 {
			want = strings.Compare(a, b)
		}
		if ab != want {
			t.Fatalf("Compare(%q, %q) = %d, UTF-16 order says %d", a, b, ab, want)
		}
	})
}

// FuzzAppendUint checks the epoch's digits against strconv's.
func FuzzAppendUint(f *testing.F) {
	for _, u := range []uint64{0, 7, 1e8, 1767225600000000, 1<<53 - 1, 1e16 - 1, 1e16, 1<<64 - 1} {
		f.Add(u)
	}
	f.Fuzz(func(t *testing.T, u uint64) {
		if got, want := appendUint(nil, u), strconv.AppendUint(nil, u, 10); !bytes.Equal(got, want) {
			t.Fatalf("appendUint(%d) = %s, want %s", u, got, want)
		}
	})
}
