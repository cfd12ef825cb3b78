//go:build !unix

package main

import (
	"context"
	"fmt"
	"os/exec"
)

func prepareGuard(*exec.Cmd) {}

// cmdGuard: without process groups there is nothing for a guard to own.
func (c *cli) cmdGuard(cmd *command, ctx context.Context, args []string) int {
	fmt.Fprintln(c.stderr, "bellwether _guard: needs a Unix system")
	return exitUsage
}
