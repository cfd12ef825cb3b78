package wire

import (
	"errors"
	"strconv"
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
