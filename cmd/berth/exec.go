package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/spf13/cobra"

	"github.com/berth/berth/internal/iam"
	"github.com/berth/berth/internal/sessionplugin"
)

// pluginName is the Session Manager plugin's program name, which the AWS
// CLI runs: berth behaves as the plugin when run by that name.
const pluginName = "session-manager-plugin"

func newSessionManagerPluginCmd() *cobra.Command {
	return &cobra.Command{
		Use:   pluginName + " [session region operation profile target endpoint]",
		Short: "Act as the Session Manager plugin the aws CLI runs for `ecs execute-command`",
		Long: "Takes the arguments the aws CLI passes to session-manager-plugin and opens the\n" +
			"session in the terminal. `berth install-plugin` puts a session-manager-plugin\n" +
			"link to berth on PATH, which the aws CLI then finds.",
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			os.Exit(runPlugin(cmd.Context(), append([]string{pluginName}, args...)))
			return nil
		},
	}
}

// runPlugin runs berth as session-manager-plugin with argv.
func runPlugin(ctx context.Context, argv []string) int {
	return sessionplugin.Main(ctx, argv, os.Getenv, sessionplugin.Terminal{In: os.Stdin, Out: os.Stdout})
}

func newInstallPluginCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "install-plugin [DIR]",
		Short: "Put a session-manager-plugin link to berth in DIR (default /usr/local/bin)",
		Long: "The aws CLI runs session-manager-plugin for `aws ecs execute-command`. This puts a\n" +
			"link of that name to this berth binary in DIR, which should be on PATH. An\n" +
			"existing session-manager-plugin (the official one) is left alone.",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "/usr/local/bin"
			if len(args) == 1 {
				dir = args[0]
			}
			self, err := os.Executable()
			if err != nil {
				return err
			}
			if self, err = filepath.EvalSymlinks(self); err != nil {
				return err
			}
			link := filepath.Join(dir, pluginName)
			if target, err := os.Readlink(link); err == nil && target == self {
				fmt.Fprintf(cmd.OutOrStdout(), "%s already links to %s\n", link, self)
				return nil
			}
			if _, err := os.Lstat(link); err == nil {
				return fmt.Errorf("%s exists and is not a link to this berth: remove it first to use berth's plugin", link)
			} else if !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			if err := os.Symlink(self, link); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s -> %s\n", link, self)
			return nil
		},
	}
}

func newExecCmd(getenv func(string) string) *cobra.Command {
	var cfg serverConfig
	var cluster, task, container string
	cmd := &cobra.Command{
		Use:   "exec --task T [--cluster C] [--container X] [-- COMMAND [ARG...]]",
		Short: "Open a shell (or run a command) in a task's container, as `aws ecs execute-command`",
		Long: "Runs ECS Exec's ExecuteCommand and opens the session in this terminal, without the\n" +
			"aws CLI or a plugin. The command defaults to /bin/sh. berth exec exits with the\n" +
			"command's exit status.",
		Example: "  berth exec --cluster prod-cluster --task 0123456789abcdef0123456789abcdef --container api\n" +
			"  berth exec --task 0123456789abcdef0123456789abcdef -- cat /etc/hostname",
		RunE: func(cmd *cobra.Command, args []string) error {
			if task == "" {
				return errors.New("--task is required")
			}
			if err := cfg.validate(); err != nil {
				return err
			}
			key, err := iam.ReadAdminKey(cfg.DataDir)
			if errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("no access key in %s: start `berth server` with the same --data-dir first", cfg.DataDir)
			}
			if err != nil {
				return err
			}
			client := ecs.New(ecs.Options{
				Region:       cfg.Region,
				BaseEndpoint: aws.String(endpointURL(cfg.Listen)),
				Credentials:  credentials.NewStaticCredentialsProvider(key.AccessKeyID, key.SecretAccessKey, ""),
			})
			command := "/bin/sh"
			if len(args) > 0 {
				command = joinCommand(args)
			}
			in := &ecs.ExecuteCommandInput{Task: aws.String(task), Command: aws.String(command), Interactive: true}
			if cluster != "" {
				in.Cluster = aws.String(cluster)
			}
			if container != "" {
				in.Container = aws.String(container)
			}
			out, err := client.ExecuteCommand(cmd.Context(), in)
			if err != nil {
				return err
			}
			code, err := sessionplugin.Run(cmd.Context(), sessionplugin.Session{
				SessionID:  aws.ToString(out.Session.SessionId),
				StreamURL:  aws.ToString(out.Session.StreamUrl),
				TokenValue: aws.ToString(out.Session.TokenValue),
			}, sessionplugin.Terminal{In: os.Stdin, Out: os.Stdout, Err: os.Stderr})
			if err != nil {
				return err
			}
			if code != 0 {
				os.Exit(max(code, 1))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&cluster, "cluster", "", "the task's cluster (default: the default cluster)")
	cmd.Flags().StringVar(&task, "task", "", "the task's id or ARN")
	cmd.Flags().StringVar(&container, "container", "", "the container (needed when the task has several)")
	addClientFlags(cmd.Flags(), &cfg, defaultConfig(getenv))
	return cmd
}

// joinCommand is args as one command line, each quoted where the shell
// would need it: ECS Exec splits its command as a shell does.
func joinCommand(args []string) string {
	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = shellQuote(a)
	}
	return strings.Join(quoted, " ")
}
