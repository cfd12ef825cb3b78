package redact

import (
	"net/url"
	"strings"
	"testing"
)

func TestString(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"postgres://postgres:s3cret@127.0.0.1:5432/db?sslmode=disable", "postgres://postgres:xxxxx@127.0.0.1:5432/db?sslmode=disable"},
		{"redis://:s3cret@127.0.0.1:6379/0", "redis://:xxxxx@127.0.0.1:6379/0"},
		{"redis://user:s3cret@127.0.0.1:6379/0", "redis://user:xxxxx@127.0.0.1:6379/0"},
		{"redis://user@127.0.0.1:6379/0", "redis://user@127.0.0.1:6379/0"},
		{"nats://u:s3cret@127.0.0.1:4222", "nats://u:xxxxx@127.0.0.1:4222"},
		{"nats://s3cret@127.0.0.1:4222", "nats://xxxxx@127.0.0.1:4222"},
		{"tls://s3cret@127.0.0.1:4222", "tls://xxxxx@127.0.0.1:4222"},
		{"postgres://127.0.0.1/db?password=s3cret&sslmode=disable", "postgres://127.0.0.1/db?password=xxxxx&sslmode=disable"},
		{"postgres://127.0.0.1/db?sslmode=disable&PassWord=s3cret", "postgres://127.0.0.1/db?sslmode=disable&PassWord=xxxxx"},
		{"postgres://127.0.0.1/db?pass%77ord=s3cret", "postgres://127.0.0.1/db?pass%77ord=xxxxx"},
		{"mqtt://h:1883?token=s3cret&pwd=s3cret&secret=s3cret&key=s3cret&pass=s3cret", "mqtt://h:1883?token=xxxxx&pwd=xxxxx&secret=xxxxx&key=xxxxx&pass=xxxxx"},
		{"nats://127.0.0.1:4222?keyfile=/k", "nats://127.0.0.1:4222?keyfile=/k"},
		{"udp://239.1.2.3:9999?iface=eth0", "udp://239.1.2.3:9999?iface=eth0"},
		{"local://", "local://"},
		{"local:///tmp/bus", "local:///tmp/bus"},
		{"", ""},
		// Keyword/value DSNs, which are not URLs.
		{"host=127.0.0.1 password=s3cret dbname=x", "host=127.0.0.1 password=xxxxx dbname=x"},
		{"password = 's3 cret' host=h", "password = xxxxx host=h"},
		{"host=h PASSWORD='s3\\'cret'", "host=h PASSWORD=xxxxx"},
		// URLs that do not parse.
		{"postgres://u:s3cret%zz@h/db", "postgres://u:xxxxx@h/db"},
		{"nats://s3cret%zz@h", "nats://xxxxx@h"},
		{"redis://:s3cret@h:port/0", "redis://:xxxxx@h:port/0"},
		{"postgres://h/db?password=s3cret%zz", "postgres://h/db?password=xxxxx"},
	} {
		got := String(c.in)
		if got != c.want {
			t.Errorf("String(%q) = %q; want %q", c.in, got, c.want)
		}
		if strings.Contains(got, "s3") {
			t.Errorf("String(%q) = %q shows the secret", c.in, got)
		}
	}
}

func TestURL(t *testing.T) {
	if got := URL(nil); got != "" {
		t.Errorf("URL(nil) = %q", got)
	}
	u, _ := url.Parse("postgres://u:s3cret@h/db?password=s3cret")
	if got, want := URL(u), "postgres://u:xxxxx@h/db?password=xxxxx"; got != want {
		t.Errorf("URL = %q; want %q", got, want)
	}
	dsn, _ := url.Parse("host=h password=s3cret")
	if got, want := URL(dsn), "host=h%20password=xxxxx"; got != want {
		t.Errorf("URL = %q; want %q", got, want)
	}
	if p, _ := u.User.Password(); p != "s3cret" || u.RawQuery != "password=s3cret" {
		t.Errorf("URL changed its argument: %v", u)
	}
}

func TestScrub(t *testing.T) {
	for _, c := range []struct{ bus, msg, want string }{
		{"postgres://u:s3cret@h/db", "auth failed for s3cret at h", "auth failed for xxxxx at h"},
		{"postgres://u:s3%2Fcret@h/db", "bad s3/cret and s3%2Fcret", "bad xxxxx and xxxxx"},
		{"nats://tok3n@h", "token tok3n refused", "token xxxxx refused"},
		{"postgres://h/db?password=s3cret", "password s3cret", "password xxxxx"},
		{"host=h password='s3 cret'", "got s3 cret", "got xxxxx"},
		{"postgres://u:s3cret%zz@h", "no s3cret%zz", "no xxxxx"},
		{"redis://user@h", "user is user", "user is user"},
		{"local://", "nothing", "nothing"},
	} {
		if got := Scrub(c.msg, c.bus); got != c.want {
			t.Errorf("Scrub(%q, %q) = %q; want %q", c.msg, c.bus, got, c.want)
		}
	}
}
