//go:build !linux

package mqtt

import "net"

// quickAck returns c: only Linux has TCP_QUICKACK. A broker with Nagle's
// algorithm on may then delay each PUBACK by a delayed ACK's time.
func quickAck(c net.Conn) net.Conn { return c }
