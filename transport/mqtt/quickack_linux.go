package mqtt

import (
	"net"
	"syscall"
)

// quickAck returns c reading with TCP_QUICKACK set after every read
// (Linux clears it by itself). A broker answers a QoS 1 PUBLISH with the
// message to our own subscription and then the PUBACK, two small writes;
// a broker that leaves Nagle's algorithm on (Mosquitto's default,
// set_tcp_nodelay false) holds the PUBACK until the first write is
// acknowledged, which a delayed ACK puts off by 40 ms: every Send would
// take 40 ms.
func quickAck(c net.Conn) net.Conn {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return c
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return c
	}
	return &quickAckConn{TCPConn: tc, rc: rc}
}

type quickAckConn struct {
	*net.TCPConn
	rc syscall.RawConn
}

func (c *quickAckConn) Read(b []byte) (int, error) {
	n, err := c.TCPConn.Read(b)
	_ = c.rc.Control(func(fd uintptr) {
		_ = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK, 1)
	})
	return n, err
}
