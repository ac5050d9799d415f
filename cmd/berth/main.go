// Command berth is Amazon ECR, ECS and Fargate on your own machines: one
// binary that speaks the real AWS APIs and runs the containers.
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"github.com/spf13/cobra"
)

// version is stamped by the Makefile (-ldflags "-X main.version=...").
var version = "dev"

func main() {
	// The aws CLI runs session-manager-plugin; a link of that name to
	// berth (berth install-plugin) is the plugin.
	if filepath.Base(os.Args[0]) == pluginName {
		os.Exit(runPlugin(context.Background(), os.Args))
	}
	if err := newRootCmd(os.Getenv).ExecuteContext(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "berth:", err)
		os.Exit(1)
	}
}

// newRootCmd takes getenv so tests can check the env-derived flag defaults
// without touching the process environment.
func newRootCmd(getenv func(string) string) *cobra.Command {
	root := &cobra.Command{
		Use:   "berth",
		Short: "Amazon ECR, ECS and Fargate on your own machines",
		Long: "berth speaks the real AWS APIs on one port, so the aws CLI, the AWS SDKs and\n" +
			"docker work against it unchanged; only the endpoint differs.",
		// main prints the error once; usage would bury it.
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(
		newServerCmd(getenv),
		newEnvCmd(getenv),
		newAWSCmd(getenv),
		newPauseCmd(),
		newSpotCmd(getenv),
		newVulnDBCmd(getenv),
		newRegistryCmd(getenv),
		newCACmd(getenv),
		newHostsCmd(getenv),
		newDNSCmd(getenv),
		newExecCmd(getenv),
		newSessionManagerPluginCmd(),
		newInstallPluginCmd(),
		&cobra.Command{
			Use:   "version",
			Short: "Print berth's version",
			Args:  cobra.NoArgs,
			Run: func(cmd *cobra.Command, _ []string) {
				fmt.Fprintf(cmd.OutOrStdout(), "berth %s (%s %s/%s)\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			},
		},
	)
	return root
}
