package bellwether_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/bellwether-go/bellwether"
)

func TestEncodeMatchesReference(t *testing.T) {
	for _, c := range []struct {
		e    bellwether.Event
		want string
	}{
		{bellwether.NewEvent(bellwether.ActionRequest, "a"), `{"type":"leader","action":"request","clientId":"a"}`},
		{bellwether.NewEvent(bellwether.ActionCurrent, "web-1"), `{"type":"leader","action":"current","clientId":"web-1"}`},
		{bellwether.NewEvent(bellwether.ActionAccept, `q"b\s`), `{"type":"leader","action":"accept","clientId":"q\"b\\s"}`},
		// JSON.stringify escapes control characters, not <, >, & or U+2028.
		{bellwether.NewEvent(bellwether.ActionWithdraw, "<&>\u2028\x7f"), "{\"type\":\"leader\",\"action\":\"withdraw\",\"clientId\":\"<&>\u2028\x7f\"}"},
		{bellwether.NewEvent(bellwether.ActionRequest, "\b\f\n\r\t\x00\x1f"), `{"type":"leader","action":"request","clientId":"\b\f\n\r\t\u0000\u001f"}`},
		{bellwether.NewEvent(bellwether.ActionRequest, "é😀"), `{"type":"leader","action":"request","clientId":"é😀"}`},
		// An unpaired surrogate (WTF-8 ED A0 80) is escaped in lower case.
		{bellwether.NewEvent(bellwether.ActionRequest, "x\xed\xa0\x80y"), `{"type":"leader","action":"request","clientId":"x\ud800y"}`},
	} {
		b, err := c.e.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != c.want {
			t.Errorf("MarshalJSON(%q) = %s, want %s", c.e.ClientID, b, c.want)
		}
		// encoding/json re-escapes <, > and & in a Marshaler's output; the
		// bytes differ but decode to the same event.
		std, err := json.Marshal(c.e)
		if err != nil {
			t.Fatal(err)
		}
		if back, err := bellwether.ParseEvent(std); err != nil || back != c.e {
			t.Errorf("json.Marshal round trip of %q = %+v, %v", c.e.ClientID, back, err)
		}
		if s := c.e.String(); s != c.want {
			t.Errorf("String = %s", s)
		}
		back, err := bellwether.ParseEvent(b)
		if err != nil || back != c.e {
			t.Errorf("round trip of %s = %+v, %v", b, back, err)
		}
	}
	if _, err := json.Marshal(bellwether.Event{Action: "x"}); err == nil {
		t.Error("marshalling an invalid event succeeded")
	}
}

func TestDecodeAcceptsReferenceJSON(t *testing.T) {
	for _, in := range []string{
		`{"type":"leader","action":"request","clientId":"a"}`,
		`{"clientId":"a","action":"request","type":"leader"}`,
		" \n{ \"type\" : \"leader\" ,\t\"action\":\"request\",\r\"clientId\":\"a\" } \n",
		`{"type":"leader","action":"request","clientId":"a","extra":{"x":[1,2.5e-3,true,false,null,"s"]},"n":-0}`,
		`{"type":"leader","action":"accept","clientId":"z","action":"request","clientId":"a"}`, // last wins
		`{"type":"leader","action":"request","clientId":"\u0061"}`,
		`{"type":"leader","action":"request","clientId":"\/a"[1:]}`[:0] + `{"type":"leader","action":"request","clientId":"a"}`,
	} {
		e, err := bellwether.ParseEvent([]byte(in))
		if err != nil {
			t.Errorf("ParseEvent(%s): %v", in, err)
			continue
		}
		if e != bellwether.NewEvent(bellwether.ActionRequest, "a") {
			t.Errorf("ParseEvent(%s) = %+v", in, e)
		}
	}
	e, err := bellwether.ParseEvent([]byte(`{"type":"leader","action":"current","clientId":"\ud83d\ude00\ud800\u00e9\n"}`))
	if err != nil || e.ClientID != "😀\xed\xa0\x80é\n" {
		t.Errorf("escapes: %q, %v", e.ClientID, err)
	}
	var ue bellwether.Event
	if err := json.Unmarshal([]byte(`{"type":"leader","action":"withdraw","clientId":"q"}`), &ue); err != nil || ue.Action != bellwether.ActionWithdraw {
		t.Errorf("json.Unmarshal: %+v %v", ue, err)
	}
}

func TestDecodeRejects(t *testing.T) {
	for _, c := range []struct {
		in, reason, says string
	}{
		{``, bellwether.ReasonSyntax, "not a JSON object"},
		{`null`, bellwether.ReasonSyntax, "not a JSON object"},
		{`[]`, bellwether.ReasonSyntax, "not a JSON object"},
		{`"leader"`, bellwether.ReasonSyntax, "not a JSON object"},
		{`{"type":"leader","action":"request","clientId":"a"`, bellwether.ReasonSyntax, "expected ',' or '}'"},
		{`{"type":"leader","action":"request","clientId":"a"} x`, bellwether.ReasonSyntax, "unexpected data"},
		{`{"type":"leader","action":"request","clientId":"a"}{}`, bellwether.ReasonSyntax, "unexpected data"},
		{"{\"type\":\"leader\",\"action\":\"request\",\"clientId\":\"a\x01\"}", bellwether.ReasonSyntax, "control character"},
		{"{\"type\":\"leader\",\"action\":\"request\",\"clientId\":\"\xff\"}", bellwether.ReasonSyntax, "invalid UTF-8"},
		{`{"type":"leader","action":"request","clientId":"\x"}`, bellwether.ReasonSyntax, "invalid escape"},
		{`{"type":"leader","action":"request","clientId":"\u12"}`, bellwether.ReasonSyntax, "invalid \\u escape"},
		{`{"type":"leader","action":"request","clientId":"a","n":01}`, bellwether.ReasonSyntax, "expected ',' or '}'"},
		{`{"type":"leader","action":"request","clientId":"a","n":1.}`, bellwether.ReasonSyntax, "invalid number"},
		{`{"type":"leader","action":"request","clientId":"a","n":tru}`, bellwether.ReasonSyntax, "invalid literal"},
		{`{"type":"leader","action":"request","clientId":"a",}`, bellwether.ReasonSyntax, "expected a string"},
		{`{"type":"leader" "action":"request"}`, bellwether.ReasonSyntax, "expected ',' or '}'"},
		{`{"action":"request","clientId":"a"}`, bellwether.ReasonType, "type is missing"},
		{`{"type":"presence","action":"request","clientId":"a"}`, bellwether.ReasonType, `type is "presence"`},
		{`{"type":1,"action":"request","clientId":"a"}`, bellwether.ReasonType, "type is a number"},
		{`{"type":"leader","clientId":"a"}`, bellwether.ReasonAction, "action is missing"},
		{`{"type":"leader","action":"elect","clientId":"a"}`, bellwether.ReasonAction, `unknown action "elect"`},
		{`{"type":"leader","action":null,"clientId":"a"}`, bellwether.ReasonAction, "action is null"},
		{`{"type":"leader","action":"request"}`, bellwether.ReasonClientID, "clientId is missing"},
		{`{"type":"leader","action":"request","clientId":""}`, bellwether.ReasonClientID, "clientId is empty"},
		{`{"type":"leader","action":"request","clientId":42}`, bellwether.ReasonClientID, "clientId is a number"},
		{`{"type":"leader","action":"request","clientId":["a"]}`, bellwether.ReasonClientID, "clientId is an array"},
		{`{"type":"leader","action":"request","clientId":{}}`, bellwether.ReasonClientID, "clientId is an object"},
		{`{"type":"leader","action":"request","clientId":"a","x":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`, bellwether.ReasonSyntax, "nesting too deep"},
		{`{"type":"leader","action":"request","clientId":"` + strings.Repeat("a", bellwether.MaxEventSize) + `"}`, bellwether.ReasonTooLarge, "more than the limit"},
	} {
		_, err := bellwether.ParseEvent([]byte(c.in))
		var ee *bellwether.EventError
		if !errors.As(err, &ee) {
			t.Errorf("ParseEvent(%.60s) error = %v, want *EventError", c.in, err)
			continue
		}
		if ee.Reason != c.reason || !strings.Contains(err.Error(), c.says) {
			t.Errorf("ParseEvent(%.60s) = %v (reason %s), want reason %s saying %q", c.in, err, ee.Reason, c.reason, c.says)
		}
		if !errors.Is(err, bellwether.ErrInvalidEvent) {
			t.Errorf("error does not match ErrInvalidEvent")
		}
	}
}

func TestCompareIDs(t *testing.T) {
	ordered := []string{
		"", "0", "A", "Z", "a", "a-1", "a-10", "a-2", "aa", "b", "z",
		"\u00e9", "\u4e2d", "\xed\xa0\x80" /* lone high surrogate */, "\U0001F600", "\xed\xb0\x80", /* lone low */
		"\ue000", "\uffff",
	}
	for i, a := range ordered {
		for j, b := range ordered {
			want := 0
			if i < j {
				want = -1
			} else if i > j {
				want = 1
			}
			if got := bellwether.CompareIDs(a, b); got != want {
				t.Errorf("CompareIDs(%q, %q) = %d, want %d", a, b, got, want)
			}
		}
	}
	// A lone high surrogate followed by a low one compares like the pair.
	if bellwether.CompareIDs("\xed\xa0\xbd\xed\xb8\x80", "\U0001F600") != -1 {
		// Equal code units; ties are broken by bytes.
		t.Error("WTF-8 pair vs UTF-8 tie break")
	}
	if bellwether.CompareIDs("\xff", "\xfe") != 1 || bellwether.CompareIDs("x\xffa", "x\xffb") != -1 {
		t.Error("invalid UTF-8 must still order totally")
	}
}

func TestValidateID(t *testing.T) {
	if err := bellwether.ValidateID("web-1"); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"", "\xff", strings.Repeat("a", bellwether.MaxIDLength+1)} {
		if bellwether.ValidateID(id) == nil {
			t.Errorf("ValidateID(%.10q) accepted", id)
		}
	}
}

func TestActionValid(t *testing.T) {
	for _, a := range []bellwether.Action{bellwether.ActionRequest, bellwether.ActionCurrent, bellwether.ActionAccept, bellwether.ActionWithdraw} {
		if !a.Valid() {
			t.Errorf("%s not valid", a)
		}
	}
	if bellwether.Action("Request").Valid() {
		t.Error("actions are case-sensitive")
	}
	for _, e := range []bellwether.Event{{}, {Type: "leader"}, {Type: "leader", Action: "request"}} {
		if e.Validate() == nil {
			t.Errorf("%+v valid", e)
		}
	}
}
