// Package all registers every bellwether bus with transport.Open. Import
// it for effect in a program that lets its users choose any bus (the
// bellwether command does):
//
//	import _ "github.com/bellwether-go/bellwether/transport/all"
//
// A program that needs fewer buses imports only those, and links only
// their client libraries.
package all

import (
	_ "github.com/bellwether-go/bellwether/transport/local"
	_ "github.com/bellwether-go/bellwether/transport/mem"
	_ "github.com/bellwether-go/bellwether/transport/mqtt"
	_ "github.com/bellwether-go/bellwether/transport/nats"
	_ "github.com/bellwether-go/bellwether/transport/postgres"
	_ "github.com/bellwether-go/bellwether/transport/redis"
	_ "github.com/bellwether-go/bellwether/transport/udp"
)
