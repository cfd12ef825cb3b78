package redis

import "time"

// SetPingInterval makes the Transports made from now on ping their idle
// subscribing connection after d, until restore is called.
func SetPingInterval(d time.Duration) (restore func()) {
	old := pingInterval
	pingInterval = d
	return func() { pingInterval = old }
}
