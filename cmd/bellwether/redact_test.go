//go:build unix

package main

import (
	"errors"
	"io/fs"
	"log/slog"
	"strings"
	"testing"
)

// A client library's log line or error that quotes the bus URL's secret
// goes out with the secret hidden, whatever the attribute's kind.
func TestLogsScrubbed(t *testing.T) {
	for _, format := range []string{"text", "json"} {
		var out syncBuffer
		co := common{bus: "postgres://u:s3cret@h/db?password=t0ken", logFormat: format, logLevel: "debug"}
		log := co.logger(&out).With("conn", "postgres://u:s3cret@h").WithGroup("g")
		log.Warn("dial s3cret failed",
			"err", errors.New("auth t0ken refused"),
			"text", "password=s3cret",
			slog.Group("inner", "url", "u:s3cret@h"),
			"n", 3)
		got := out.String()
		if strings.Contains(got, "s3cret") || strings.Contains(got, "t0ken") {
			t.Errorf("%s log shows a secret: %s", format, got)
		}
		for _, want := range []string{"dial xxxxx failed", "auth xxxxx refused", "password=xxxxx", "u:xxxxx@h", "3"} {
			if !strings.Contains(got, want) {
				t.Errorf("%s log lacks %q: %s", format, want, got)
			}
		}
	}
}

func TestScrubError(t *testing.T) {
	err := scrubError(&fs.PathError{Op: "open", Path: "s3cret", Err: fs.ErrNotExist}, "redis://:s3cret@h")
	if got := err.Error(); got != "open xxxxx: file does not exist" {
		t.Errorf("scrubError = %q", got)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("scrubError hides the cause from errors.Is")
	}
	if e := errors.New("plain"); scrubError(e, "redis://h") != e || scrubError(nil, "redis://:p@h") != nil {
		t.Errorf("scrubError changes an error without the secret")
	}
}
