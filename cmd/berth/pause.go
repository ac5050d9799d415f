package main

import (
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// newPauseCmd is the process of every task's network holder container: it
// holds the task's network namespace and does nothing else until it is told
// to stop. The agent runs berth's own binary for it (with its loader and
// libraries when it is dynamically linked), so no pause image has to come
// from a registry.
func newPauseCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "pause",
		Short:  "Hold a task's network namespace until SIGTERM (used inside containers)",
		Hidden: true,
		Args:   cobra.NoArgs,
		Run: func(*cobra.Command, []string) {
			sig := make(chan os.Signal, 1)
			signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
			<-sig
		},
	}
}
