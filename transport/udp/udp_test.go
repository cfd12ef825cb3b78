package udp

import (
	"bytes"
	"context"
	"github.com/bellwether-go/bellwether/internal/bustest"
	"net"
	"net/url"
	"strings"
	"testing"

	"github.com/bellwether-go/bellwether"
	"github.com/bellwether-go/bellwether/bellwethertest"
)

func newTransport(t *testing.T, cfg Config) *Transport {
	t.Helper()
	tr, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr
}

func TestConformance(t *testing.T) {
	requireNetns(t)
	bellwethertest.TestTransport(t, func(t *testing.T) bellwether.Transport {
		return newTransport(t, Config{Address: "239.77.1.1:29999", Interface: "lo"})
	})
}

func TestSystemChosenInterface(t *testing.T) {
	requireNetns(t) // the namespace's route sends multicast to lo
	cfg := Config{Address: "239.77.1.1:29997"}
	g := bellwethertest.UniqueGroup(t, "noiface")
	a := bellwethertest.Join(t, newTransport(t, cfg), g)
	b := bellwethertest.Join(t, newTransport(t, cfg), g)
	if got, want := a.MaxMessageSize(), 1500-20-8-12-len(g); got != want {
		t.Errorf("MaxMessageSize() = %d with no interface, want %d", got, want)
	}
	msg := bytes.Repeat([]byte{'x'}, a.MaxMessageSize())
	bellwethertest.Send(t, a, msg)
	bellwethertest.ExpectRecv(t, b, msg)
}

func TestSocketOptions(t *testing.T) {
	requireNetns(t)
	tr := newTransport(t, Config{Address: "239.77.1.1:29996", Interface: "lo", TTL: 5})
	g := bellwethertest.UniqueGroup(t, "opts")
	c := bellwethertest.Join(t, tr, g).(*Conn)
	if ttl, err := c.p.MulticastTTL(); err != nil || ttl != 5 {
		t.Errorf("MulticastTTL() = %d, %v; want 5", ttl, err)
	}
	if on, err := c.p.MulticastLoopback(); err != nil || !on {
		t.Errorf("MulticastLoopback() = %v, %v; want true", on, err)
	}
	if got, want := c.MaxMessageSize(), 65535-20-8-12-len(g); got != want {
		t.Errorf("MaxMessageSize() = %d on lo, want %d", got, want)
	}
	def := bellwethertest.Join(t, newTransport(t, Config{Address: "239.77.1.1:29996", Interface: "lo"}), g).(*Conn)
	if ttl, err := def.p.MulticastTTL(); err != nil || ttl != DefaultTTL {
		t.Errorf("default MulticastTTL() = %d, %v; want %d", ttl, err, DefaultTTL)
	}
}

// TestForeignDatagrams sends what other programs, other groups and other
// members could send to the port: only the other members' messages of the
// group come through.
func TestForeignDatagrams(t *testing.T) {
	requireNetns(t)
	const addr = "239.77.1.1:29995"
	tr := newTransport(t, Config{Address: addr, Interface: "lo"})
	g := bellwethertest.UniqueGroup(t, "foreign")
	c := bellwethertest.Join(t, tr, g).(*Conn)
	raw, err := net.Dial("udp4", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	other := [idLen]byte{1, 2, 3, 4, 5, 6, 7, 8}
	for _, d := range [][]byte{
		[]byte("not ours"),
		{},
		[]byte("BW"),
		append([]byte("BW\x02"), appendHeader(nil, other, g)[3:]...),      // another version
		appendHeader(nil, other, g)[:headerBase+2],                        // group cut short
		append(appendHeader(nil, other, g+"x"), "other group"...),         // another group
		append(appendHeader(nil, other, g[:len(g)-1]), "prefix group"...), // its prefix
		append(appendHeader(nil, c.id, g), "our own id"...),               // looped back
		append(appendHeader(nil, other, g), "from another member"...),
	} {
		if _, err := raw.Write(d); err != nil {
			t.Fatal(err)
		}
	}
	bellwethertest.ExpectRecv(t, c, []byte("from another member"))
}

// TestAddressesIsolated: two multicast groups on one port are two buses,
// though the sockets of both are bound to the port on every address.
func TestAddressesIsolated(t *testing.T) {
	requireNetns(t)
	g := bellwethertest.UniqueGroup(t, "addr")
	one := Config{Address: "239.77.1.1:29994", Interface: "lo"}
	two := Config{Address: "239.77.1.2:29994", Interface: "lo"}
	a1 := bellwethertest.Join(t, newTransport(t, one), g)
	b1 := bellwethertest.Join(t, newTransport(t, one), g)
	a2 := bellwethertest.Join(t, newTransport(t, two), g)
	b2 := bellwethertest.Join(t, newTransport(t, two), g)
	bellwethertest.Send(t, a1, []byte("on one"))
	bellwethertest.ExpectRecv(t, b1, []byte("on one"))
	bellwethertest.Send(t, a2, []byte("on two"))
	bellwethertest.ExpectRecv(t, b2, []byte("on two")) // not "on one"
	bellwethertest.Send(t, b1, []byte("back on one"))
	bellwethertest.ExpectRecv(t, a1, []byte("back on one")) // not "on two"
}

func TestParse(t *testing.T) {
	id := [idLen]byte{9, 8, 7, 6, 5, 4, 3, 2}
	d := append(appendHeader(nil, id, "grp"), "payload"...)
	gotID, group, payload, ok := parse(d)
	if !ok || gotID != id || string(group) != "grp" || string(payload) != "payload" {
		t.Fatalf("parse = %v %q %q %v", gotID, group, payload, ok)
	}
	if len(appendHeader(nil, id, "grp")) != headerBase+3 {
		t.Fatal("header length")
	}
	for _, bad := range [][]byte{nil, []byte("BW"), d[:headerBase+1], append([]byte("XW"), d[2:]...)} {
		if _, _, _, ok := parse(bad); ok {
			t.Errorf("parse(%q) accepted", bad)
		}
	}
	if _, _, p, ok := parse(appendHeader(nil, id, "grp")); !ok || len(p) != 0 {
		t.Error("an empty message does not parse")
	}
}

func TestNewErrors(t *testing.T) {
	for _, bad := range []struct {
		cfg  Config
		want string
	}{
		{Config{Address: "239.1.2.3"}, "239.1.2.3:9999"},
		{Config{Address: "10.0.0.1:9999"}, "not a multicast address"},
		{Config{Address: "[ff02::1]:9999"}, "not an IPv4 address"},
		{Config{Address: "example.com:9999"}, "not an IPv4 address"},
		{Config{Address: "239.1.2.3:0"}, "port"},
		{Config{Address: "239.1.2.3:99999"}, "port"},
		{Config{Address: "239.1.2.3:9999", TTL: 256}, "TTL"},
		{Config{Address: "239.1.2.3:9999", TTL: -1}, "TTL"},
		{Config{Address: "239.1.2.3:9999", Interface: "no-such-if0"}, "ip link"},
	} {
		if _, err := New(bad.cfg); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("New(%+v) = %v, want an error about %q", bad.cfg, err, bad.want)
		}
	}
}

func TestFromURL(t *testing.T) {
	u, _ := url.Parse("udp://239.1.2.3:9999?iface=lo&ttl=3")
	tr, err := FromURL(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	if tr.Address().String() != "239.1.2.3:9999" || tr.ifi == nil || tr.ifi.Name != "lo" || tr.ttl != 3 {
		t.Fatalf("FromURL(%s) = %v on %v with TTL %d", u, tr.Address(), tr.ifi, tr.ttl)
	}
	u, _ = url.Parse("udp://239.1.2.3:9999")
	if tr, err := FromURL(context.Background(), u); err != nil || tr.ifi != nil || tr.ttl != DefaultTTL {
		t.Fatalf("FromURL(%s) = %+v, %v", u, tr, err)
	}
	bustest.FromURLErrors(t, FromURL, "udp", []bustest.BadURL{
		{URL: "udp:239.1.2.3:9999", Want: "no multicast group"},
		{URL: "udp://", Want: "no multicast group"},
		{URL: "udp://239.1.2.3", Want: "no port"},
		{URL: "udp://u@239.1.2.3:9999", Want: "user"},
		{URL: "udp://239.1.2.3:9999/x", Want: "path"},
		{URL: "udp://239.1.2.3:9999?ttl=0", Want: "ttl"},
		{URL: "udp://239.1.2.3:9999?ttl=x", Want: "ttl"},
		{URL: "udp://239.1.2.3:9999?ttl=1&ttl=2", Want: "once"},
		{URL: "udp://239.1.2.3:9999?interface=lo", Want: "unknown parameter"},
		{URL: "udp://10.1.2.3:9999", Want: "multicast"},
	})
}
