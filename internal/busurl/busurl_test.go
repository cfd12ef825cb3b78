package busurl_test

import (
	"context"
	"errors"
	"net/url"
	"testing"

	"github.com/bellwether-go/bellwether/internal/busurl"
)

func TestErrors(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	u := func(s string) *url.URL {
		t.Helper()
		v, err := url.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, c := range []struct {
		name string
		err  error
		want string // "" for nil
	}{
		{"nil URL", busurl.Check(context.Background(), nil, "x", "x://h", "want x://h", "x"), "bellwether/x: FromURL needs a URL like x://h; got nil"},
		{"ctx done", busurl.Check(canceled, u("x://h"), "x", "x://h", "want x://h", "x"), "bellwether/x: opening x://h: context canceled"},
		{"good", busurl.Check(context.Background(), u("x://h"), "x", "x://h", "want x://h", "x"), ""},
		{"other scheme", busurl.Check(context.Background(), u("y://h"), "x", "x://h", "want x://h", "x"), `bellwether/x: URL "y://h" has scheme "y"; want x://h`},
		{"scheme: nil URL", busurl.Scheme(nil, "s", "s://h", "use s://h", "s", "ss"), "bellwether/s: FromURL needs a URL like s://h; got nil"},
		{"scheme: second", busurl.Scheme(u("ss://h"), "s", "s://h", "use s://h", "s", "ss"), ""},
		{"scheme: other", busurl.Scheme(u("t://h"), "s", "s://h", "use s://h", "s", "ss"), `bellwether/s: URL "t://h" has scheme "t"; use s://h`},
		{"no host", busurl.Host(u("s:///p"), "s", "use s://h"), `bellwether/s: URL "s:///p" has no host; use s://h`},
		{"host", busurl.Host(u("s://h:1"), "s", "use s://h"), ""},
		{"unreachable", busurl.Unreachable("s", "h:1", errors.New("refused"), "s-server", "s-server -a %s -p %s"), "bellwether/s: cannot reach s at h:1: refused; is s-server running? start it with `s-server -a h -p 1`, or fix the URL"},
	} {
		got := ""
		if c.err != nil {
			got = c.err.Error()
		}
		if got != c.want {
			t.Errorf("%s: error %q, want %q", c.name, got, c.want)
		}
	}
}
