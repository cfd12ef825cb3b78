package main

import (
	"context"
	"fmt"

	"github.com/bellwether-go/bellwether"
)

// cmdKeygen prints one new key, for a key file: the only output, one
// line on stdout, so that it can be redirected into the file.
func (c *cli) cmdKeygen(cmd *command, _ context.Context, args []string) int {
	fs := newFlagSet(cmd.name)
	if code, done := c.parseFlagsOnly(cmd, fs, args); done {
		return code
	}
	key, err := bellwether.GenerateKey()
	if err != nil {
		return c.fail(cmd.name, exitFailure, err)
	}
	if _, err := fmt.Fprintln(c.stdout, key); err != nil {
		return c.fail(cmd.name, exitFailure, fmt.Errorf("cannot write the key to stdout: %v", err))
	}
	return exitOK
}
