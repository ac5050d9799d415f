package main

import (
	"github.com/spf13/cobra"

	"github.com/berth/berth/internal/pki"
)

const caHelp = `Print, in PEM, the root certificate of berth's certificate authority, which
issues the certificates of ACM's RequestCertificate: trust it to reach HTTPS
listeners of berth's load balancers without warnings. For example:

  berth ca > berth-ca.pem && curl --cacert berth-ca.pem https://...
  berth ca > /usr/local/share/ca-certificates/berth.crt && update-ca-certificates

The authority lives in the data dir (` + pki.KeyFile + `, ` + pki.CertFile + `), made on first use.`

func newCACmd(getenv func(string) string) *cobra.Command {
	var cfg serverConfig
	cmd := &cobra.Command{
		Use:   "ca",
		Short: "Print the root certificate of berth's certificate authority",
		Long:  caHelp,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ca, err := pki.LoadOrCreate(cfg.DataDir)
			if err != nil {
				return err
			}
			_, err = cmd.OutOrStdout().Write(ca.RootPEM())
			return err
		},
	}
	addClientFlags(cmd.Flags(), &cfg, defaultConfig(getenv))
	return cmd
}
