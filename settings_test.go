package bellwether_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/bellwether-go/bellwether"
)

func TestDefaultSettings(t *testing.T) {
	d := bellwether.DefaultSettings()
	if d.ElectionTimeout != time.Second || d.HeartbeatInterval != 2*time.Second || d.HeartbeatTimeout != 8*time.Second {
		t.Fatalf("defaults = %+v, want the reference's 1s, 2s, 8s", d)
	}
	if (bellwether.Settings{}).WithDefaults() != d {
		t.Fatal("zero fields must take the defaults")
	}
	s := bellwether.Settings{HeartbeatInterval: time.Second}.WithDefaults()
	if s.HeartbeatInterval != time.Second || s.HeartbeatTimeout != 8*time.Second {
		t.Fatalf("partial defaults: %+v", s)
	}
}

func TestSettingsValidate(t *testing.T) {
	for _, c := range []struct {
		s     bellwether.Settings
		field string
		says  string
	}{
		{bellwether.Settings{ElectionTimeout: -time.Second}, "ElectionTimeout", "ElectionTimeout -1s is negative"},
		{bellwether.Settings{HeartbeatInterval: -1}, "HeartbeatInterval", "HeartbeatInterval -1ns is negative"},
		{bellwether.Settings{HeartbeatTimeout: -time.Millisecond}, "HeartbeatTimeout", "HeartbeatTimeout -1ms is negative"},
		{bellwether.Settings{HeartbeatInterval: 2 * time.Second, HeartbeatTimeout: 2 * time.Second}, "HeartbeatTimeout", "HeartbeatTimeout 2s is not greater than HeartbeatInterval (2s)"},
		{bellwether.Settings{HeartbeatInterval: 10 * time.Second}, "HeartbeatTimeout", "HeartbeatTimeout 8s is not greater than HeartbeatInterval (10s)"},
	} {
		err := c.s.Validate()
		var se *bellwether.SettingsError
		if !errors.As(err, &se) || se.Field != c.field || !strings.Contains(err.Error(), c.says) {
			t.Errorf("Validate(%+v) = %v, want field %s saying %q", c.s, err, c.field, c.says)
		}
	}
	if err := (bellwether.Settings{}).Validate(); err != nil {
		t.Fatal(err)
	}
	if err := bellwether.DefaultSettings().Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestElectionModeParse(t *testing.T) {
	for _, m := range []bellwether.ElectionMode{bellwether.ModeReference, bellwether.ModeQuiet} {
		got, err := bellwether.ParseElectionMode(m.String())
		if err != nil || got != m {
			t.Errorf("round trip %v: %v %v", m, got, err)
		}
	}
	if _, err := bellwether.ParseElectionMode("fast"); err == nil || !strings.Contains(err.Error(), `"fast"`) {
		t.Errorf("ParseElectionMode(fast) = %v", err)
	}
	if bellwether.ElectionMode(7).String() != "ElectionMode(7)" {
		t.Error("unknown mode string")
	}
}
