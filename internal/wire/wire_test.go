package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func TestParseFields(t *testing.T) {
	var f Fields
	if err := Parse([]byte(` {"clientId":"b","x":[1,{"y":null}],"action":3,"type":"t","clientId":"a\u00e9"} `), &f); err != nil {
		t.Fatal(err)
	}
	if string(f.Type.Value) != "t" || !f.Type.Present {
		t.Errorf("type = %+v", f.Type)
	}
	if f.Action.Present || f.Action.Kind != "a number" {
		t.Errorf("action = %+v, want a number, not present", f.Action)
	}
	if string(f.ClientID.Value) != "aé" {
		t.Errorf("clientId = %q, want the last value", f.ClientID.Value)
	}
	var se *SyntaxError
	if err := Parse([]byte(`{"a":1}x`), &f); !errors.As(err, &se) || se.Offset != 7 {
		t.Errorf("trailing data: err = %v, want a SyntaxError at offset 7", err)
	}
}

func TestAppendEventRoundTrip(t *testing.T) {
	b := AppendEvent(nil, "leader", "request", "a\"\x01\xed\xa0\x80", 0, "", "")
	want := `{"type":"leader","action":"request","clientId":"a\"\u0001\ud800"}`
	if string(b) != want {
		t.Fatalf("AppendEvent = %s, want %s", b, want)
	}
	var f Fields
	if err := Parse(b, &f); err != nil || string(f.ClientID.Value) != "a\"\x01\xed\xa0\x80" {
		t.Fatalf("Parse = %q, %v", f.ClientID.Value, err)
	}
}

// The protocol's events start with a written-out head; every other type or
// action is encoded field by field, and both give the same bytes.
func TestAppendEventHead(t *testing.T) {
	for _, typ := range []string{"leader", "leader\n", "Leader", ""} {
		for _, action := range []string{"request", "current", "accept", "withdraw", "Current", "curren", "", "re\"quest"} {
			got := AppendEvent(nil, typ, action, "web-17", 12, "v", "b")
			want := `{"type":` + string(AppendString(nil, typ)) + `,"action":` + string(AppendString(nil, action)) + `,"clientId":"web-17","epoch":12,"value":"v","takeover":"b"}`
			if string(got) != want {
				t.Errorf("AppendEvent(%q, %q) = %s, want %s", typ, action, got, want)
			}
		}
	}
}

func TestCompareUTF16(t *testing.T) {
	// U+1F600 is a surrogate pair, which UTF-16 puts before U+FFFF.
	if Compare("\U0001F600", "\uFFFF") != -1 || Compare("\uFFFF", "\U0001F600") != 1 || Compare("x", "x") != 0 {
		t.Error("Compare does not follow UTF-16 order")
	}
}

// appendUint writes what strconv does, at every length and at the edges
// of its groups.
func TestAppendUint(t *testing.T) {
	us := []uint64{0, 1, 9, 10, 99, 100, 9999, 10000, 1e8 - 1, 1e8, 1e8 + 1, 1e12, 1767225600000000, 1<<53 - 1, 1e16 - 1, 1e16, 1<<64 - 1}
	for u := uint64(1); u < 1e19; u *= 7 {
		us = append(us, u, u-1, u+1)
	}
	for _, u := range us {
		if got, want := string(appendUint([]byte("x"), u)), "x"+strconv.FormatUint(u, 10); got != want {
			t.Errorf("appendUint(%d) = %s, want %s", u, got, want)
		}
	}
}

// Parse's fast path for the protocol's written-out head gives what the
// general loop gives, field for field and error for error, on events and
// on every truncation and one-byte change of them.
func TestParseFastPathIsParse(t *testing.T) {
	events := []string{
		`{"type":"leader","action":"current","clientId":"web-17"}`,
		`{"type":"leader","action":"current","clientId":"web-17","epoch":1767225600000001,"value":"10.0.0.7:80"}`,
		`{"type":"leader","action":"request","clientId":"a\"b\u00e9","takeover":"a","type":"other","clientId":"z"}`,
		`{"type":"leader","action":"accept"}`,
		`{"type":"leader","action":"withdraw" , "clientId" : "x" } `,
		`{"type":"leader","action":"cur\u0072ent","clientId":"\ud800"}`,
		`{"type":"leader","action":"current","clientId":"é","kid":"k","boot":"b","grp":"g","mac":"m","ctr":3,"ts":4}`,
	}
	var inputs []string
	for _, ev := range events {
		for i := 0; i <= len(ev); i++ {
			inputs = append(inputs, ev[:i])
		}
		for i := range len(ev) {
			for _, c := range []byte{'"', '\\', ',', '}', ' ', 0x01, 0xff, 'x'} {
				b := []byte(ev)
				b[i] = c
				inputs = append(inputs, string(b))
			}
		}
	}
	fast := 0
	for _, in := range inputs {
		var got, want Fields
		errGot, errWant := parse([]byte(in), &got, true), parse([]byte(in), &want, false)
		if fmt.Sprint(errGot) != fmt.Sprint(errWant) {
			t.Fatalf("%q: fast path error %v, general loop %v", in, errGot, errWant)
		}
		if errWant == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: fast path %+v, general loop %+v", in, got, want)
		}
		if errWant == nil && strings.HasPrefix(in, canonicalHead) {
			fast++
		}
	}
	if fast < 100 {
		t.Fatalf("only %d valid inputs took the fast path", fast)
	}
}

// special's lowest flagged byte is the first byte of the word that the
// string loop must look at, for every byte value at every position and
// for mixed words.
func TestSpecialFindsTheFirstSpecialByte(t *testing.T) {
	isSpecial := func(c byte) bool { return c == '"' || c == '\\' || c < 0x20 || c >= 0x80 }
	check := func(b [8]byte) {
		t.Helper()
		want := 8
		for i, c := range b {
			if isSpecial(c) {
				want = i
				break
			}
		}
		m := special(binary.LittleEndian.Uint64(b[:]))
		got := 8
		if m != 0 {
			got = bits.TrailingZeros64(m) >> 3
		}
		if got != want {
			t.Fatalf("special(%q): first special byte at %d, want %d", b, got, want)
		}
	}
	for pos := range 8 {
		for c := range 256 {
			b := [8]byte{'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'}
			b[pos] = byte(c)
			check(b)
			// Specials above it, which a borrow could confuse.
			for i := pos + 1; i < 8; i++ {
				b[i] = []byte{0x00, '"', '\\', 0x1f, 0x20, 0x80, 0xff, 0x21}[i%8]
			}
			check(b)
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte{0x00, 0x01, 0x1f, 0x20, 0x21, '"', '#', '[', '\\', ']', 0x7f, 0x80, 0x81, 0xa0, 0xff, 'a'}
	for range 100000 {
		var b [8]byte
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		check(b)
	}
}

// Signed is set by any of a signature's six fields, whatever its type,
// and by no other.
func TestParseSigned(t *testing.T) {
	for _, key := range []string{"kid", "boot", "grp", "mac", "ctr", "ts", "epoch", "value", "takeover", "clientId", "x"} {
		for _, v := range []string{`"s"`, `1`, `null`} {
			var f Fields
			in := `{"type":"leader","action":"current","clientId":"a","` + key + `":` + v + `}`
			if err := Parse([]byte(in), &f); err != nil {
				t.Fatal(err)
			}
			want := strings.Contains(" kid boot grp mac ctr ts ", " "+key+" ")
			if f.Signed != want {
				t.Errorf("%s: Signed = %v, want %v", in, f.Signed, want)
			}
		}
	}
}
