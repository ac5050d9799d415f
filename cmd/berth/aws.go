package main

import (
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func newAWSCmd(getenv func(string) string) *cobra.Command {
	var cfg serverConfig
	cmd := &cobra.Command{
		Use:   "aws [--listen addr] [--data-dir dir] [--region r] <aws arguments>...",
		Short: "Run the installed aws CLI against this server",
		Long: "Runs the aws CLI found on PATH with --endpoint-url and the server's credentials\n" +
			"and region in its environment. berth's flags must come before the aws arguments.",
		Example: "  berth aws ecr describe-repositories",
		// Everything that is not one of berth's leading flags belongs to aws.
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			own, rest := splitOwnFlags(cmd.Flags(), args)
			if err := cmd.Flags().Parse(own); err != nil {
				return err
			}
			if err := cfg.validate(); err != nil {
				return err
			}
			vars, err := clientEnv(cfg)
			if err != nil {
				return err
			}
			path, err := exec.LookPath("aws")
			if err != nil {
				return fmt.Errorf("the aws CLI is not installed: %w", err)
			}
			argv := append([]string{"aws"}, awsArgs(endpointURL(cfg.Listen), rest)...)
			// Exec rather than a child: stdin, stdout, stderr, signals and the
			// exit code pass through untouched.
			return syscall.Exec(path, argv, awsEnviron(os.Environ(), vars))
		},
	}
	addClientFlags(cmd.Flags(), &cfg, defaultConfig(getenv))
	return cmd
}

// splitOwnFlags takes berth's flags (--name value or --name=value) off the
// front of args; the rest, from the first other argument on, is for aws.
func splitOwnFlags(fs *pflag.FlagSet, args []string) (own, rest []string) {
	for i := 0; i < len(args); i++ {
		name, hasValue := strings.CutPrefix(args[i], "--")
		if !hasValue {
			return own, args[i:]
		}
		name, _, inline := strings.Cut(name, "=")
		if name == "help" || fs.Lookup(name) == nil {
			return own, args[i:]
		}
		if inline || i+1 == len(args) {
			own = append(own, args[i])
			continue
		}
		own = append(own, args[i], args[i+1])
		i++
	}
	return own, nil
}

// awsArgs adds --endpoint-url unless the caller chose one: AWS CLI v2 2.9
// ignores AWS_ENDPOINT_URL, the flag works everywhere.
func awsArgs(endpoint string, args []string) []string {
	if slices.ContainsFunc(args, func(a string) bool {
		return a == "--endpoint-url" || strings.HasPrefix(a, "--endpoint-url=")
	}) {
		return args
	}
	return append([]string{"--endpoint-url", endpoint}, args...)
}

// awsEnviron is base with vars set. It drops session tokens: one left over
// from real AWS would be sent along with berth's key.
func awsEnviron(base []string, vars []envVar) []string {
	drop := map[string]bool{"AWS_SESSION_TOKEN": true, "AWS_SECURITY_TOKEN": true}
	for _, v := range vars {
		drop[v.Name] = true
	}
	env := slices.DeleteFunc(slices.Clone(base), func(kv string) bool {
		name, _, _ := strings.Cut(kv, "=")
		return drop[name]
	})
	for _, v := range vars {
		env = append(env, v.Name+"="+v.Value)
	}
	return env
}
