//go:build unix

package mqtt_test

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/autopaho"
	"github.com/eclipse/paho.golang/paho"

	"github.com/bellwether-go/bellwether"
	"github.com/bellwether-go/bellwether/bellwethertest"
	"github.com/bellwether-go/bellwether/internal/testserver"
	bwmqtt "github.com/bellwether-go/bellwether/transport/mqtt"
)

// rawClient connects a plain MQTT 5 client, as a program in another
// language would, subscribed to topic with No Local, and hands what it
// receives to got.
func rawClient(t *testing.T, u *url.URL, topic string, got chan<- *paho.Publish) *autopaho.ConnectionManager {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	up := make(chan struct{}, 1)
	cm, err := autopaho.NewConnection(ctx, autopaho.ClientConfig{
		ServerUrls:                    []*url.URL{u},
		KeepAlive:                     20,
		CleanStartOnInitialConnection: true,
		OnConnectionUp:                func(*autopaho.ConnectionManager, *paho.Connack) { up <- struct{}{} },
		ClientConfig: paho.ClientConfig{ClientID: "raw-wire-test", OnPublishReceived: []func(paho.PublishReceived) (bool, error){
			func(r paho.PublishReceived) (bool, error) { got <- r.Packet; return true, nil },
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		<-cm.Done()
	})
	select {
	case <-up:
	case <-time.After(10 * time.Second):
		t.Fatal("the raw client did not connect")
	}
	if _, err := cm.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: topic, NoLocal: true}}}); err != nil {
		t.Fatal(err)
	}
	return cm
}

// TestWire: the payload on the broker is exactly the message, with the
// sender's id in a user property; a plain client's message, without it,
// reaches every member; a duplicate of a member's own message (as QoS 1
// may deliver) never reaches that member, though the others hear it.
func TestWire(t *testing.T) {
	u := testserver.Mosquitto(t).URL()
	t1, t2 := newTransport(t, u), newTransport(t, u)
	g := bellwethertest.UniqueGroup(t, "wire")
	a, b, c := bellwethertest.Join(t, t1, g), bellwethertest.Join(t, t1, g), bellwethertest.Join(t, t2, g)
	got := make(chan *paho.Publish, 16)
	raw := rawClient(t, u, bwmqtt.TopicPrefix+g, got)
	publish := func(payload string, props *paho.PublishProperties) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := raw.Publish(ctx, &paho.Publish{QoS: 1, Topic: bwmqtt.TopicPrefix + g, Payload: []byte(payload), Properties: props}); err != nil {
			t.Fatal(err)
		}
	}
	expect := func(want string, conns ...bellwether.Conn) {
		t.Helper()
		for _, cn := range conns {
			if msg := string(bellwethertest.Recv(t, cn)); msg != want {
				t.Fatalf("got %q; want %q", msg, want)
			}
		}
	}

	bellwethertest.Send(t, a, []byte(`{"type":"leader","action":"current","clientId":"a"}`))
	expect(`{"type":"leader","action":"current","clientId":"a"}`, b, c)
	var seen *paho.Publish
	select {
	case seen = <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("the raw client heard nothing")
	}
	if string(seen.Payload) != `{"type":"leader","action":"current","clientId":"a"}` || seen.Retain {
		t.Fatalf("on the wire: payload %q, retain %v", seen.Payload, seen.Retain)
	}
	sender := ""
	if seen.Properties != nil {
		sender = seen.Properties.User.Get(bwmqtt.SenderProperty)
	}
	if len(sender) != 16 {
		t.Fatalf("the %s property is %q; want 16 hex digits", bwmqtt.SenderProperty, sender)
	}

	// A duplicate of a's message: b and c hear it again, a never does
	// (its next message is the plain client's that follows).
	publish(string(seen.Payload), &paho.PublishProperties{User: paho.UserProperties{{Key: bwmqtt.SenderProperty, Value: sender}}})
	expect(string(seen.Payload), b, c)
	publish(`{"type":"leader","action":"request","clientId":"z"}`, nil)
	expect(`{"type":"leader","action":"request","clientId":"z"}`, a, b, c)
}
