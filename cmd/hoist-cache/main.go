package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/hoistdev/hoist/internal/cachecmd"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(cachecmd.Run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, cachecmd.Remotes))
}
