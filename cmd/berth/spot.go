package main

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/berth/berth/internal/ecs"
	"github.com/berth/berth/internal/iam"
)

func newSpotCmd(getenv func(string) string) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "spot",
		Short: "Simulate Fargate Spot events",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newSpotInterruptCmd(getenv))
	return cmd
}

func newSpotInterruptCmd(getenv func(string) string) *cobra.Command {
	var cfg serverConfig
	var req ecs.SpotInterruptRequest
	cmd := &cobra.Command{
		Use:   "interrupt (--task ARN|ID | --service NAME [--count N]) [--cluster C]",
		Short: "Reclaim Fargate Spot tasks as AWS would: SIGTERM, then stop, stop code SpotInterruption",
		Long: "Interrupts a FARGATE_SPOT task, or a service's FARGATE_SPOT tasks (all of them\n" +
			"unless --count says how many), the way Fargate reclaims Spot capacity: the task\n" +
			"gets desired status STOPPED, stop code SpotInterruption and stopped reason\n" +
			"\"Your Spot Task was interrupted.\"; its containers get SIGTERM and, after their\n" +
			"stop timeout, SIGKILL; a service replaces it on FARGATE_SPOT.\n" +
			"\n" +
			"Prints JSON: {\"interrupted\": [task ARNs], \"notInterrupted\": [ARNs of chosen\n" +
			"tasks already stopping or stopped]}. With --task, a task that cannot be\n" +
			"interrupted (not FARGATE_SPOT, already stopping) is an error.\n" +
			"\n" +
			"Authentication: the server's endpoint " + ecs.SpotInterruptPath + " is not an AWS API\n" +
			"and takes no SigV4 signature. The command reads the admin access key the server\n" +
			"wrote to <data-dir>/" + iam.KeyFile + " and sends, as a bearer token, an HMAC-SHA256\n" +
			"derived from its secret (never the secret itself). So it must run as a user who\n" +
			"can read the server's data dir; requests without the token get 401.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := cfg.validate(); err != nil {
				return err
			}
			if (req.Task == "") == (req.Service == "") {
				return errors.New("name either --task or --service")
			}
			if req.Task != "" && cmd.Flags().Changed("count") {
				return errors.New("--count goes with --service")
			}
			if req.Count < 0 {
				return errors.New("--count must not be negative")
			}
			out, err := spotInterrupt(cmd, cfg, req)
			if err != nil {
				return err
			}
			if req.Task != "" && len(out.Interrupted) == 0 {
				return fmt.Errorf("task %s was not interrupted: it is already stopping or stopped", req.Task)
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "    ")
			if err := enc.Encode(out); err != nil {
				return err
			}
			if req.Service != "" && len(out.Interrupted)+len(out.NotInterrupted) == 0 {
				fmt.Fprintf(cmd.ErrOrStderr(), "service %s has no FARGATE_SPOT tasks to interrupt\n", req.Service)
			}
			return nil
		},
	}
	addClientFlags(cmd.Flags(), &cfg, defaultConfig(getenv))
	fs := cmd.Flags()
	fs.StringVar(&req.Cluster, "cluster", "", "cluster of the task or service (default: the task ARN's cluster, else default)")
	fs.StringVar(&req.Task, "task", "", "ARN or id of the FARGATE_SPOT task to interrupt")
	fs.StringVar(&req.Service, "service", "", "service whose FARGATE_SPOT tasks to interrupt")
	fs.IntVar(&req.Count, "count", 0, "with --service, how many tasks to interrupt (default all)")
	return cmd
}

// spotInterrupt sends the request to the server's Spot endpoint.
func spotInterrupt(cmd *cobra.Command, cfg serverConfig, req ecs.SpotInterruptRequest) (*ecs.SpotInterruptResponse, error) {
	client, err := adminClient(cfg)
	if err != nil {
		return nil, err
	}
	var out ecs.SpotInterruptResponse
	if err := client.PostJSON(cmd.Context(), ecs.SpotInterruptPath, ecs.SpotInterruptPurpose, req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
