package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"strings"
	"time"

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
			"gets stop code SpotInterruption and its containers SIGTERM; a service replaces\n" +
			"it on FARGATE_SPOT. Prints the ARNs of the tasks interrupted, one per line.",
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
			for _, arn := range out.Interrupted {
				fmt.Fprintln(cmd.OutOrStdout(), arn)
			}
			if req.Task != "" {
				if len(out.Interrupted) == 0 {
					return fmt.Errorf("task %s was not interrupted: it is already stopping", req.Task)
				}
				return nil
			}
			for _, arn := range out.NotInterrupted {
				fmt.Fprintf(cmd.ErrOrStderr(), "%s: already stopping, not interrupted\n", arn)
			}
			if len(out.Interrupted)+len(out.NotInterrupted) == 0 {
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

// spotInterrupt sends the request to the server's Spot endpoint with the
// admin secret the server wrote to the data dir.
func spotInterrupt(cmd *cobra.Command, cfg serverConfig, req ecs.SpotInterruptRequest) (*ecs.SpotInterruptResponse, error) {
	key, err := iam.ReadAdminKey(cfg.DataDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no access key in %s: start `berth server` with the same --data-dir first", cfg.DataDir)
	}
	if err != nil {
		return nil, err
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	url := endpointURL(cfg.Listen) + ecs.SpotInterruptPath
	hreq, err := http.NewRequestWithContext(cmd.Context(), http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("Authorization", "Bearer "+key.SecretAccessKey)
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Do(hreq)
	if err != nil {
		return nil, fmt.Errorf("is `berth server` running on %s? %w", cfg.Listen, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		var e ecs.SpotError
		if json.Unmarshal(raw, &e) == nil && e.Error != "" {
			return nil, errors.New(e.Error)
		}
		return nil, fmt.Errorf("%s: %s %s", url, resp.Status, strings.TrimSpace(string(raw)))
	}
	var out ecs.SpotInterruptResponse
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("%s: bad answer: %w", url, err)
	}
	return &out, nil
}
