// Package narrate prints the steps of the examples, each with the time
// since the start, so that a reader sees how long the protocol took.
package narrate

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// New returns a printer of steps to w: each call prints one line, the
// seconds since New (as " 1.300s") and the formatted step. Calls may come
// from several goroutines (the members' callbacks); their lines never
// mix.
func New(w io.Writer) func(format string, args ...any) {
	start := time.Now()
	var mu sync.Mutex
	return func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(w, "%6.3fs  %s\n", time.Since(start).Seconds(), fmt.Sprintf(format, args...))
	}
}
