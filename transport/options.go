package transport

import "log/slog"

// Option configures a bus opened by Open or by a bus package's FromURL
// or New.
type Option func(*Options)

// Options are what the Options given to a bus set; a bus package reads
// them with Apply.
type Options struct {
	// Logger receives the bus's warnings and those of its client
	// library, so that a program speaks with one voice. Without
	// WithLogger it is slog.Default().
	Logger *slog.Logger
}

// WithLogger sends the bus's warnings, and its client library's, to l;
// nil discards them. A bus that logs a member's id does so under the key
// "id".
func WithLogger(l *slog.Logger) Option {
	return func(o *Options) {
		if l == nil {
			l = slog.New(slog.DiscardHandler)
		}
		o.Logger = l
	}
}

// Apply returns the Options that opts set, with defaults for the rest.
func Apply(opts []Option) Options {
	o := Options{Logger: slog.Default()}
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	return o
}
