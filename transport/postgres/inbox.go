package postgres

// RecvBuffer is how many received messages a Conn holds for Recv. When a
// message arrives and the buffer is full, the oldest buffered message is
// dropped (and counted by Conn.Dropped), so a slow reader sees the newest
// heartbeats and never slows the group.
const RecvBuffer = 256
