package bellwethertest

// Option declares to [TestTransport] and [TestOutage] what a bus promises
// beyond the Conn contract, so that the suite checks it too.
type Option func(*config)

type config struct {
	recvBuffer int
	textOnly   bool
	server     Server
	healthDown string
}

func newConfig(opts []Option) config {
	var c config
	for _, o := range opts {
		o(&c)
	}
	return c
}

// RecvBuffer declares that each Conn buffers n received messages and, when
// full, drops the oldest and counts it in a method Dropped() uint64. The
// suite fills a buffer past n and checks that the newest n remain and the
// count is exact.
func RecvBuffer(n int) Option {
	return func(c *config) { c.recvBuffer = n }
}

// TextOnly declares a bus that carries only UTF-8 text without NUL bytes,
// as the bus's documentation must say. The suite then sends text where it
// would send arbitrary bytes, and checks that Send refuses what is not
// text with an error, delivering nothing of it. Without TextOnly every
// byte value must arrive unchanged.
func TextOnly() Option {
	return func(c *config) { c.textOnly = true }
}

// WithServer gives the suite control of the real server behind the bus,
// which every Transport that newTransport returns must use. [TestTransport]
// then also checks, taking the server down stopped, killed and frozen, that
// members survive it: Health reports the outage, Send and Join fail rather
// than pretend, Send returns nil only for what the server confirmed, and
// messages and elections work again once it is back. [TestOutage] needs it.
func WithServer(s Server) Option {
	return func(c *config) { c.server = s }
}

// HealthDown declares the text that the Health error of every Conn
// contains while the server given by [WithServer] is down.
func HealthDown(text string) Option {
	return func(c *config) { c.healthDown = text }
}

// Server is the control of a real server, for [WithServer]. Each method
// returns once the change is made (a started server accepts clients, a
// stopped or killed one has exited, a frozen one runs no more), and fails
// the test itself if it cannot be made.
type Server interface {
	// Stop shuts the server down cleanly, as for a restart: it ends every
	// session.
	Stop()
	// Kill ends every process of the server at once (SIGKILL), as a crash
	// does.
	Kill()
	// Start starts the stopped or killed server again on the same
	// address.
	Start()
	// Freeze stops the server's processes (SIGSTOP): connections stay
	// open and nothing is answered, as with a hung server or a network
	// that drops everything.
	Freeze()
	// Thaw lets the frozen server go on (SIGCONT).
	Thaw()
}
