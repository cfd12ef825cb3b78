package bellwether

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
)

// MinKeySize is the smallest key a [Keyring] takes, in bytes.
const MinKeySize = 32

// Keyring holds the shared keys of an authenticated group (Config.Keys):
// the first key signs every message the member sends, and every key
// verifies, so that a group rotates its key without downtime: add the new
// key everywhere (second), then move it first everywhere, then remove the
// old one. Each key has an id derived from it, which signed messages
// carry so that a receiver checks one key, not all; ids are not secret.
//
// A Keyring never prints its keys: its String, GoString and Format show
// only the key ids. It is safe for concurrent use; it does not change
// after it is made.
type Keyring struct {
	keys []ringKey
}

type ringKey struct {
	id     string // 16 hex digits of a hash of the key
	secret []byte
}

// NewKeyring returns a keyring of keys, the first signing. Each key must
// have at least MinKeySize bytes (random ones: see GenerateKey), and no key
// may appear twice.
func NewKeyring(keys ...[]byte) (*Keyring, error) {
	if len(keys) == 0 {
		return nil, errors.New("bellwether: keyring: no keys")
	}
	k := &Keyring{}
	for i, key := range keys {
		if len(key) < MinKeySize {
			return nil, fmt.Errorf("bellwether: keyring: key %d has %d bytes; a key needs at least %d random bytes (bellwether keygen prints one)", i+1, len(key), MinKeySize)
		}
		sum := sha256.Sum256(append([]byte("bellwether key id\x00"), key...))
		id := hex.EncodeToString(sum[:8])
		for _, o := range k.keys {
			if o.id == id {
				return nil, fmt.Errorf("bellwether: keyring: key %d repeats an earlier key (id %s)", i+1, id)
			}
		}
		k.keys = append(k.keys, ringKey{id: id, secret: bytes.Clone(key)})
	}
	return k, nil
}

// ParseKeyring reads a keyring from text: one key a line, as GenerateKey
// encodes it (base64, URL or standard alphabet, padded or not), the first
// signing. Blank lines and lines that start with '#' are ignored. Errors
// name the line, never its content.
func ParseKeyring(text []byte) (*Keyring, error) {
	var keys [][]byte
	for n, line := range strings.Split(string(text), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, err := decodeKey(line)
		if err != nil || len(key) < MinKeySize {
			return nil, fmt.Errorf("bellwether: keyring: line %d is not a key: want the base64 text of at least %d random bytes, as bellwether keygen prints", n+1, MinKeySize)
		}
		keys = append(keys, key)
	}
	if len(keys) == 0 {
		return nil, errors.New("bellwether: keyring: no keys (one key a line, as bellwether keygen prints)")
	}
	return NewKeyring(keys...)
}

func decodeKey(s string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{base64.RawURLEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.StdEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, errors.New("not base64")
}

// LoadKeyring reads a key file (see ParseKeyring). Like ssh with a private
// key, it refuses a file that its group or others may read or write: the
// key is the group's only secret.
func LoadKeyring(path string) (*Keyring, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("bellwether: key file: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("bellwether: key file: %w", err)
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
		return nil, fmt.Errorf("bellwether: key file %s is open to its group or others (mode %04o); make it readable by its owner only: chmod 600 %s", path, perm, path)
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("bellwether: key file %s is not a regular file", path)
	}
	// A key file is a few lines; a bound keeps a wrong path (a device, a
	// log) from being read whole.
	text, err := io.ReadAll(io.LimitReader(f, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("bellwether: key file %s: %w", path, err)
	}
	k, err := ParseKeyring(text)
	if err != nil {
		return nil, fmt.Errorf("%w (in %s)", err, path)
	}
	return k, nil
}

// GenerateKey returns a new random key of MinKeySize bytes, encoded for a
// key file (unpadded base64 with the URL alphabet: one line, no spaces).
func GenerateKey() (string, error) {
	b := make([]byte, MinKeySize)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("bellwether: generating a key: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// KeyIDs returns the ids of the keys, the signing key's first. Ids are
// derived from the keys but do not reveal them.
func (k *Keyring) KeyIDs() []string {
	ids := make([]string, len(k.keys))
	for i, key := range k.keys {
		ids[i] = key.id
	}
	return ids
}

// String shows the key ids only.
func (k *Keyring) String() string {
	if k == nil {
		return "Keyring(none)"
	}
	return "Keyring(" + strings.Join(k.KeyIDs(), ",") + ")"
}

// GoString shows the key ids only.
func (k *Keyring) GoString() string { return k.String() }

// Format shows the key ids only, whatever the verb, so that no verb of fmt
// prints a key.
func (k *Keyring) Format(f fmt.State, _ rune) { fmt.Fprint(f, k.String()) }
