package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/bellwether-go/bellwether/internal/redact"
)

// scrubHandler hides the bus URL's secrets (redact.Secrets) in every log
// record, message and attributes alike. The command's own lines name the
// bus through busName, already redacted; this catches a client library's
// error or log text that quotes the URL or the password.
type scrubHandler struct {
	h       slog.Handler
	secrets []string // redact.Secrets of the bus URL
}

// scrubLogs returns h, hiding bus's secrets if it has any.
func scrubLogs(h slog.Handler, bus string) slog.Handler {
	secrets := redact.Secrets(bus)
	if len(secrets) == 0 {
		return h
	}
	return scrubHandler{h: h, secrets: secrets}
}

func (s scrubHandler) Enabled(ctx context.Context, l slog.Level) bool { return s.h.Enabled(ctx, l) }

func (s scrubHandler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, redact.Hide(r.Message, s.secrets), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(s.attr(a))
		return true
	})
	return s.h.Handle(ctx, out)
}

func (s scrubHandler) WithAttrs(as []slog.Attr) slog.Handler {
	scrubbed := make([]slog.Attr, len(as))
	for i, a := range as {
		scrubbed[i] = s.attr(a)
	}
	return scrubHandler{h: s.h.WithAttrs(scrubbed), secrets: s.secrets}
}

func (s scrubHandler) WithGroup(name string) slog.Handler {
	return scrubHandler{h: s.h.WithGroup(name), secrets: s.secrets}
}

// attr returns a with the secrets hidden in its value: strings, groups,
// and values printed as text (errors, Stringers), which become strings
// when they held a secret.
func (s scrubHandler) attr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		a.Value = slog.StringValue(redact.Hide(v.String(), s.secrets))
	case slog.KindGroup:
		g := v.Group()
		scrubbed := make([]slog.Attr, len(g))
		for i, ga := range g {
			scrubbed[i] = s.attr(ga)
		}
		a.Value = slog.GroupValue(scrubbed...)
	case slog.KindAny:
		text := fmt.Sprint(v.Any())
		if hidden := redact.Hide(text, s.secrets); hidden != text {
			a.Value = slog.StringValue(hidden)
		} else {
			a.Value = v
		}
	default:
		a.Value = v
	}
	return a
}

// scrubbedError is err with the bus URL's secrets hidden in its text; it
// unwraps to err, so errors.Is and errors.As still see the cause.
type scrubbedError struct {
	msg string
	err error
}

func (e *scrubbedError) Error() string { return e.msg }
func (e *scrubbedError) Unwrap() error { return e.err }

// scrubError returns err with bus's secrets hidden in its text.
func scrubError(err error, bus string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if hidden := redact.Scrub(msg, bus); hidden != msg {
		return &scrubbedError{msg: hidden, err: err}
	}
	return err
}
