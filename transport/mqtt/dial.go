package mqtt

import (
	"context"
	"crypto/tls"
	"net"
	"net/url"
	"strings"

	"github.com/eclipse/paho.golang/autopaho"
)

// dial connects to the broker at u over TCP, or TLS for mqtts:// and
// tls://, with a connection that acknowledges what it reads at once (see
// quickAck). It is autopaho's AttemptConnection for the schemes it knows;
// others (ws://) get nil, and autopaho's own dialing.
func dial(cfg *autopaho.ClientConfig) func(context.Context, autopaho.ClientConfig, *url.URL) (net.Conn, error) {
	tlsScheme := map[string]bool{"ssl": true, "tls": true, "mqtts": true, "mqtt+ssl": true, "tcps": true}
	for _, u := range cfg.ServerUrls {
		if s := strings.ToLower(u.Scheme); s != "mqtt" && s != "tcp" && !tlsScheme[s] {
			return nil
		}
	}
	return func(ctx context.Context, cfg autopaho.ClientConfig, u *url.URL) (net.Conn, error) {
		ctx, cancel := context.WithTimeout(ctx, cfg.ConnectTimeout)
		defer cancel()
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", u.Host)
		if err != nil {
			return nil, err
		}
		c = quickAck(c)
		if !tlsScheme[strings.ToLower(u.Scheme)] {
			return c, nil
		}
		tc := cfg.TlsCfg.Clone()
		if tc == nil {
			tc = &tls.Config{}
		}
		if tc.ServerName == "" {
			tc.ServerName = u.Hostname()
		}
		t := tls.Client(c, tc)
		if err := t.HandshakeContext(ctx); err != nil {
			c.Close()
			return nil, err
		}
		return t, nil
	}
}
