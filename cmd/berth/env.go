package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"strings"

	"github.com/berth/berth/internal/iam"
	"github.com/spf13/cobra"
)

func newEnvCmd(getenv func(string) string) *cobra.Command {
	var cfg serverConfig
	cmd := &cobra.Command{
		Use:   "env",
		Short: `Print shell exports for the aws CLI and SDKs: eval "$(berth env)"`,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := cfg.validate(); err != nil {
				return err
			}
			vars, err := clientEnv(cfg)
			if err != nil {
				return err
			}
			return writeExports(cmd.OutOrStdout(), vars)
		},
	}
	addClientFlags(cmd.Flags(), &cfg, defaultConfig(getenv))
	return cmd
}

type envVar struct{ Name, Value string }

// clientEnv is the environment that points AWS clients at the server: the
// admin key the server wrote, the region and the endpoint.
func clientEnv(cfg serverConfig) ([]envVar, error) {
	key, err := iam.ReadAdminKey(cfg.DataDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no access key in %s: start `berth server` with the same --data-dir first", cfg.DataDir)
	}
	if err != nil {
		return nil, err
	}
	return []envVar{
		{"AWS_ACCESS_KEY_ID", key.AccessKeyID},
		{"AWS_SECRET_ACCESS_KEY", key.SecretAccessKey},
		{"AWS_REGION", cfg.Region},
		{"AWS_DEFAULT_REGION", cfg.Region},
		{"AWS_ENDPOINT_URL", endpointURL(cfg.Listen)},
	}, nil
}

// endpointURL is the URL clients use for a listen address; a wildcard host
// (0.0.0.0, ::, empty) is reached on loopback.
func endpointURL(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "http://" + listen
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

func writeExports(w io.Writer, vars []envVar) error {
	var b strings.Builder
	for _, v := range vars {
		fmt.Fprintf(&b, "export %s=%s\n", v.Name, shellQuote(v.Value))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// shellQuote quotes s for POSIX shells the way Python's shlex.quote does:
// bare when every byte is safe, else in single quotes with ' spelled '"'"'.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool { return !isShellSafe(r) }) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'"'"'`) + "'"
}

func isShellSafe(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
		strings.ContainsRune("@%+=:,./-_", r)
}
