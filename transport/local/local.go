//go:build unix

// Package local is bellwether's default bus: processes of one user on one
// host, with no server and no configuration.
//
// Who can join: only processes of the same user. The bus lives in a
// directory that the user owns and that no one else may write to (New
// refuses any other), by default $XDG_RUNTIME_DIR/bellwether,
// /run/user/UID/bellwether, or bellwether-UID in the temporary directory,
// the first that applies. Each group is a subdirectory of mode 0700 and
// each member a Unix datagram socket file of mode 0600 in it, which only
// the owner (and root) can write to. Processes meet only if they use the
// same directory: pass it explicitly to processes whose environments
// differ (a login session and a cron job, say).
//
// Acknowledged sends: none. A datagram socket confirms nothing, so a Send
// that wrote the message to every other member's socket counts as
// acknowledged, and returns nil.
//
// Health: a Conn implements bellwether.HealthChecker. A member whose
// socket reader failed is deaf: Health and Recv report the failure from
// then on.
//
// What is guaranteed: Send writes the message to every other member's
// socket and never waits for one: messages for a member that does not
// keep up wait for it a little (see [Conn.Send]), and one that stays
// stuck (a stopped process) misses them; a socket whose process has died
// is removed. Delivery is best effort, but between live processes of one
// host nothing is lost unless a receiver falls behind by more than its
// buffer of 1024 messages, where the oldest are dropped first (see
// [Conn.Dropped]); each member hears another's messages in the order
// sent. Messages are at most
// [MaxMessageSize] bytes.
//
// The package is written and tested for Linux; it builds on other Unix
// systems, whose kernels may set lower limits on datagram sizes.
package local

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/bellwether-go/bellwether"
	"github.com/bellwether-go/bellwether/internal/inbox"
)

// MaxMessageSize is the largest message Send accepts: 64 KiB.
const MaxMessageSize = 64 << 10

// inboxSize is how many received messages a member buffers until Recv
// takes them.
const inboxSize = 1024

// backlogSize is how many messages wait for a member whose socket queue
// is full (the kernel's holds net.unix.max_dgram_qlen, often 10); past
// that the oldest are dropped.
const backlogSize = 64

// patience bounds the wait for room in a member's socket queue, per
// message; a message that waits longer is dropped.
const patience = 2 * time.Second

// sockSuffix ends the name of each member's socket file.
const sockSuffix = ".sock"

// maxGroupDirName is the longest group name used as is for the group's
// directory; longer ones are hashed, to keep socket paths short.
const maxGroupDirName = 32

// maxSockPath is the longest socket path the system takes.
var maxSockPath = len(syscall.RawSockaddrUnix{}.Path) - 1

var _ bellwether.Transport = (*Transport)(nil)

// Transport is the local bus as seen from one process. It is safe for
// concurrent use.
type Transport struct {
	dir   string
	conns inbox.Set[*Conn]
}

// DefaultDir returns the directory New uses for "": $XDG_RUNTIME_DIR/
// bellwether if XDG_RUNTIME_DIR is set, else /run/user/UID/bellwether if
// /run/user/UID is a directory of the user, else bellwether-UID in
// os.TempDir().
func DefaultDir() string {
	if xdg := os.Getenv("XDG_RUNTIME_DIR"); xdg != "" {
		return filepath.Join(xdg, "bellwether")
	}
	uid := os.Geteuid()
	run := fmt.Sprintf("/run/user/%d", uid)
	if fi, err := os.Stat(run); err == nil && fi.IsDir() && ownerOf(fi) == uid {
		return filepath.Join(run, "bellwether")
	}
	return filepath.Join(os.TempDir(), fmt.Sprintf("bellwether-%d", uid))
}

// New returns a Transport on the bus in dir, or in DefaultDir() if dir is
// "". It creates dir (mode 0700) if it does not exist, and refuses a dir
// that is not owned by the process's user or that the group or others may
// write to.
func New(dir string) (*Transport, error) {
	if dir == "" {
		dir = DefaultDir()
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("bellwether/local: directory %q: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, fmt.Errorf("bellwether/local: cannot create the bus directory: %w", err)
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return nil, fmt.Errorf("bellwether/local: bus directory %s: %w", abs, err)
	}
	if err := checkDir(real); err != nil {
		return nil, err
	}
	return &Transport{dir: real}, nil
}

// Dir returns the bus directory, with symbolic links resolved.
func (t *Transport) Dir() string { return t.dir }

// checkDir refuses a directory that others could write to.
func checkDir(dir string) error {
	fi, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("bellwether/local: bus directory: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("bellwether/local: %s is not a directory (mode %v); give the bus a directory of its own", dir, fi.Mode())
	}
	if uid, me := ownerOf(fi), os.Geteuid(); uid != me {
		return fmt.Errorf("bellwether/local: bus directory %s is owned by uid %d, not by this process's uid %d; only its owner's processes may share a bus: use a directory of your own", dir, uid, me)
	}
	if perm := fi.Mode().Perm(); perm&0o022 != 0 {
		return fmt.Errorf("bellwether/local: bus directory %s has mode %04o: others may write to it, so they could join or disturb the bus; run chmod go-w %s (0700 is best)", dir, perm, dir)
	}
	return nil
}

func ownerOf(fi fs.FileInfo) int {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int(st.Uid)
	}
	return -1
}

// groupDir names the directory of group: the name itself if short, else
// "~" and a hash ('~' is in no group name, so the two never clash).
func groupDir(group string) string {
	if len(group) <= maxGroupDirName {
		return group
	}
	sum := sha256.Sum256([]byte(group))
	return "~" + hex.EncodeToString(sum[:16])
}

// Join makes a new member of group: a socket file in the group's
// directory, which it creates if needed.
func (t *Transport) Join(ctx context.Context, group string) (bellwether.Conn, error) {
	if err := t.conns.Joining(ctx, "local", group); err != nil {
		return nil, err
	}
	gdir := filepath.Join(t.dir, groupDir(group))
	var rnd [8]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return nil, fmt.Errorf("bellwether/local: join %q: %w", group, err)
	}
	name := hex.EncodeToString(rnd[:]) + sockSuffix
	path := filepath.Join(gdir, name)
	if len(path) > maxSockPath {
		return nil, fmt.Errorf("bellwether/local: join %q: the socket path %s is %d bytes, over the system's limit of %d; use a shorter bus directory", group, path, len(path), maxSockPath)
	}
	var sock *net.UnixConn
	// A member leaving removes the group directory when it is empty, so
	// it may vanish between Mkdir and the bind: then try again.
	for attempt := 0; ; attempt++ {
		if err := os.Mkdir(gdir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("bellwether/local: join %q: %w", group, err)
		}
		if err := checkDir(gdir); err != nil {
			if attempt < 3 && errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return nil, err
		}
		var err error
		sock, err = net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
		if err == nil {
			break
		}
		if attempt < 3 && errors.Is(err, syscall.ENOENT) {
			continue
		}
		return nil, fmt.Errorf("bellwether/local: join %q: %w", group, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		sock.Close()
		os.Remove(path)
		return nil, fmt.Errorf("bellwether/local: join %q: %w", group, err)
	}
	c := &Conn{
		t:     t,
		dir:   gdir,
		name:  name,
		path:  path,
		sock:  sock,
		in:    inbox.NewReader(inboxSize),
		peers: map[string]*peer{},
	}
	buf := make([]byte, MaxMessageSize+1)
	c.in.Start("local", func() ([]byte, error) { return c.read(buf) })
	return t.conns.Joined(c, "local", group)
}

// Close closes every Conn of t. Later calls return nil.
func (t *Transport) Close() error {
	t.conns.Close()
	return nil
}

var (
	_ bellwether.Conn          = (*Conn)(nil)
	_ bellwether.HealthChecker = (*Conn)(nil)
)

// Conn is one member: a socket file in its group's directory, and a
// goroutine that moves what arrives there into a buffer for Recv.
type Conn struct {
	t         *Transport
	dir       string // the group's directory
	name      string // of the socket file in dir
	path      string
	sock      *net.UnixConn
	in        *inbox.Reader
	closeOnce sync.Once
	unsent    atomic.Uint64

	sendMu  sync.Mutex // guards closed, peers and each peer's queue and busy
	closed  bool
	peers   map[string]*peer // by socket file name
	writers sync.WaitGroup   // peer.drain goroutines
}

// peer is a socket connected to another member's file. Messages that
// find its queue full wait in queue, oldest first, for a goroutine that
// writes them as room appears.
type peer struct {
	conn  *net.UnixConn
	queue [][]byte
	busy  bool // drain is running
}

// MaxMessageSize returns [MaxMessageSize].
func (c *Conn) MaxMessageSize() int { return MaxMessageSize }

// Dropped returns how many messages to this member were dropped, oldest
// first, because Recv had not taken the earlier ones.
func (c *Conn) Dropped() uint64 { return c.in.Dropped() }

// Unsent returns how many copies of this member's messages did not reach
// another member because that member did not read them in time (see
// [Conn.Send]).
func (c *Conn) Unsent() uint64 { return c.unsent.Load() }

// read returns the next message on the socket, nil for a datagram too
// large to be a member's, or the socket's error.
func (c *Conn) read(buf []byte) ([]byte, error) {
	n, err := c.sock.Read(buf)
	if err != nil {
		return nil, err
	}
	if n > MaxMessageSize {
		return nil, nil // not from a bellwether member
	}
	return bytes.Clone(buf[:n]), nil
}

// Health returns nil while the member's socket reader works,
// ErrClosed after Close, and the reader's error once it failed: a deaf
// member, whose Recv returns that error too.
func (c *Conn) Health() error { return c.in.Health() }

// Recv returns the next message from the member's buffer: ErrClosed
// after Close, and the reader's error once the buffer is empty if the
// member is deaf.
func (c *Conn) Recv(ctx context.Context) ([]byte, error) { return c.in.Pop(ctx) }

// Send writes msg to the socket of every other member of the group,
// without waiting for any. A message for a member whose socket queue is
// full waits, behind at most 63 others, for a goroutine that writes it
// when room appears, and is dropped if none does within 2 seconds: a
// burst reaches a busy member, a stopped process misses messages, and
// Send never blocks. The file of a member whose process has died is
// removed. Send returns an error if the group's directory cannot be read
// or a write fails for another reason; the other members still get the
// message.
func (c *Conn) Send(ctx context.Context, msg []byte) error {
	if len(msg) > MaxMessageSize {
		return fmt.Errorf("bellwether/local: message of %d bytes is over the limit of %d: %w", len(msg), MaxMessageSize, bellwether.ErrMessageTooLarge)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	if c.closed {
		return fmt.Errorf("bellwether/local: send: %w", bellwether.ErrClosed)
	}
	names, err := readNames(c.dir)
	if err != nil {
		return fmt.Errorf("bellwether/local: send: reading the group's members: %w", err)
	}
	var errs []error
	live := make(map[string]bool, len(names))
	for _, name := range names {
		if name == c.name || !strings.HasSuffix(name, sockSuffix) {
			continue
		}
		live[name] = true
		if err := c.sendTo(name, msg); err != nil {
			errs = append(errs, err)
		}
	}
	for name, p := range c.peers {
		if !live[name] {
			c.dropPeer(name, p)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("bellwether/local: send: %w", errors.Join(errs...))
	}
	return nil
}

func readNames(dir string) ([]string, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.Readdirnames(-1)
}

// sendTo writes msg to the member whose socket file is name, or queues it
// for drain, reporting only unexpected errors. sendMu is held.
func (c *Conn) sendTo(name string, msg []byte) error {
	path := filepath.Join(c.dir, name)
	p := c.peers[name]
	if p == nil {
		conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: path, Net: "unixgram"})
		switch {
		case err == nil:
			p = &peer{conn: conn}
			c.peers[name] = p
		case errors.Is(err, syscall.ECONNREFUSED):
			removeStale(path)
			return nil
		case errors.Is(err, syscall.ENOENT):
			return nil // left since we listed the directory
		default:
			return fmt.Errorf("member %s: %w", name, err)
		}
	}
	if p.busy {
		c.enqueue(p, msg)
		return nil
	}
	rc, err := p.conn.SyscallConn()
	if err != nil {
		return fmt.Errorf("member %s: %w", name, err)
	}
	var werr error
	err = rc.Write(func(fd uintptr) bool {
		for {
			werr = syscall.Sendto(int(fd), msg, 0, nil)
			if werr != syscall.EINTR {
				return true // never wait here
			}
		}
	})
	if err == nil {
		err = werr
	}
	switch {
	case err == nil:
		return nil
	case errors.Is(err, syscall.EAGAIN), errors.Is(err, syscall.ENOBUFS):
		c.enqueue(p, msg)
		p.busy = true
		c.writers.Add(1)
		go c.drain(name, p)
		return nil
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ENOTCONN), errors.Is(err, syscall.ECONNRESET):
		c.dropPeer(name, p)
		removeStale(path)
		return nil
	default:
		c.dropPeer(name, p)
		return fmt.Errorf("member %s: %w", name, err)
	}
}

// enqueue adds a copy of msg to p's backlog, dropping the oldest if it is
// full. sendMu is held.
func (c *Conn) enqueue(p *peer, msg []byte) {
	if len(p.queue) >= backlogSize {
		p.queue[0] = nil
		p.queue = p.queue[1:]
		c.unsent.Add(1)
	}
	p.queue = append(p.queue, bytes.Clone(msg))
}

// dropPeer closes the socket to a member and forgets it; a drain of it
// stops. sendMu is held.
func (c *Conn) dropPeer(name string, p *peer) {
	p.conn.Close()
	if c.peers[name] == p {
		delete(c.peers, name)
	}
	c.unsent.Add(uint64(len(p.queue)))
	p.queue = nil
}

// drain writes p's backlog in order, waiting for room in the member's
// socket queue up to patience per message, until the backlog is empty or
// the socket closed.
func (c *Conn) drain(name string, p *peer) {
	defer c.writers.Done()
	for {
		c.sendMu.Lock()
		if len(p.queue) == 0 {
			p.busy = false
			c.sendMu.Unlock()
			return
		}
		msg := p.queue[0]
		p.queue[0] = nil
		p.queue = p.queue[1:]
		c.sendMu.Unlock()

		p.conn.SetWriteDeadline(time.Now().Add(patience))
		_, err := p.conn.Write(msg)
		p.conn.SetWriteDeadline(time.Time{})
		switch {
		case err == nil:
		case errors.Is(err, os.ErrDeadlineExceeded):
			c.unsent.Add(1)
		default: // closed by Send or Close, or the member died
			c.unsent.Add(1)
			c.sendMu.Lock()
			if !c.closed {
				c.dropPeer(name, p)
			}
			p.busy = false
			c.sendMu.Unlock()
			if errors.Is(err, syscall.ECONNREFUSED) {
				removeStale(filepath.Join(c.dir, name))
			}
			return
		}
	}
}

// removeStale removes the socket file of a member whose process has died
// without removing it, if it is still there and still refuses.
func removeStale(path string) {
	fi, err := os.Lstat(path)
	if err != nil || fi.Mode().Type() != fs.ModeSocket {
		return
	}
	if p, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: path, Net: "unixgram"}); err == nil {
		p.Close() // alive after all
		return
	} else if !errors.Is(err, syscall.ECONNREFUSED) {
		return
	}
	os.Remove(path)
}

// Close removes the member's socket file and stops its goroutine; unread
// messages are lost. Later calls return nil.
func (c *Conn) Close() error {
	c.closeOnce.Do(func() {
		c.sendMu.Lock()
		c.closed = true
		for name, p := range c.peers {
			c.dropPeer(name, p)
		}
		c.sendMu.Unlock()
		c.writers.Wait()
		os.Remove(c.path)
		c.in.Stop(c.sock.Close)
		os.Remove(c.dir) // fails unless we were the last member
		c.t.conns.Remove(c)
	})
	return nil
}
