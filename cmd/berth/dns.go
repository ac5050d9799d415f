package main

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/servicediscovery"
	sdtypes "github.com/aws/aws-sdk-go-v2/service/servicediscovery/types"
	"github.com/spf13/cobra"

	"github.com/berth/berth/internal/iam"
)

const dnsHelp = `Print how to make this host resolve the names of the region's Cloud Map DNS
namespaces through berth's DNS server, which the server serves to the host on
--dns-listen (tasks always use it, at their VPC's resolver address).

With systemd-resolved, only the namespaces' names go to berth; with a plain
/etc/resolv.conf, berth must listen on port 53 and answers every name,
forwarding the others to --dns-upstream.`

func newDNSCmd(getenv func(string) string) *cobra.Command {
	var cfg serverConfig
	def := defaultConfig(getenv)
	cmd := &cobra.Command{
		Use:   "dns",
		Short: "Print how to point the host's resolver at berth's DNS server",
		Long:  dnsHelp,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := cfg.validate(); err != nil {
				return err
			}
			return printDNS(cmd.Context(), cfg, cmd.OutOrStdout())
		},
	}
	addClientFlags(cmd.Flags(), &cfg, def)
	cmd.Flags().StringVar(&cfg.DNSListen, "dns-listen", def.DNSListen, "the server's --dns-listen (env BERTH_DNS_LISTEN)")
	return cmd
}

// printDNS writes the resolver settings for the region's DNS namespaces,
// read through the Cloud Map API.
func printDNS(ctx context.Context, cfg serverConfig, w io.Writer) error {
	if cfg.DNSListen == "" {
		return fmt.Errorf("the server serves DNS to the host only with --dns-listen: start it with --dns-listen 127.0.0.1:5353 (or BERTH_DNS_LISTEN), and give berth dns the same")
	}
	listen, err := netip.ParseAddrPort(cfg.DNSListen)
	if err != nil {
		return fmt.Errorf("--dns-listen %q must be an ip:port such as 127.0.0.1:5353", cfg.DNSListen)
	}
	key, err := iam.ReadAdminKey(cfg.DataDir)
	if err != nil {
		return fmt.Errorf("no access key in %s: start `berth server` with the same --data-dir first (%w)", cfg.DataDir, err)
	}
	client := servicediscovery.NewFromConfig(aws.Config{
		Region:       cfg.Region,
		BaseEndpoint: aws.String(endpointURL(cfg.Listen)),
		Credentials:  credentials.NewStaticCredentialsProvider(key.AccessKeyID, key.SecretAccessKey, ""),
	})
	var zones []string
	pages := servicediscovery.NewListNamespacesPaginator(client, &servicediscovery.ListNamespacesInput{})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, ns := range page.Namespaces {
			if ns.Type == sdtypes.NamespaceTypeDnsPrivate || ns.Type == sdtypes.NamespaceTypeDnsPublic {
				zones = append(zones, aws.ToString(ns.Name))
			}
		}
	}
	slices.Sort(zones)
	zones = slices.Compact(zones)
	if len(zones) == 0 {
		fmt.Fprintf(w, "# %s has no DNS namespace yet (aws servicediscovery create-private-dns-namespace makes one).\n", cfg.Region)
		return nil
	}
	routed := make([]string, len(zones))
	for i, z := range zones {
		routed[i] = "~" + z
	}
	fmt.Fprintf(w, "# systemd-resolved: send %s to berth\n", strings.Join(zones, ", "))
	fmt.Fprintln(w, "sudo mkdir -p /etc/systemd/resolved.conf.d")
	fmt.Fprintf(w, "printf '[Resolve]\\nDNS=%s\\nDomains=%s\\n' | sudo tee /etc/systemd/resolved.conf.d/berth.conf\n", listen, strings.Join(routed, " "))
	fmt.Fprintln(w, "sudo systemctl restart systemd-resolved")
	fmt.Fprintln(w)
	if listen.Port() == 53 {
		fmt.Fprintf(w, "# /etc/resolv.conf: put berth first; it forwards names outside its namespaces\nnameserver %s\n", listen.Addr())
	} else {
		fmt.Fprintf(w, "# /etc/resolv.conf takes port 53 only: start the server with --dns-listen %s to use it\n", netip.AddrPortFrom(listen.Addr(), 53))
	}
	fmt.Fprintf(w, "\n# Check: dig @%s -p %d <service>.%s\n", listen.Addr(), listen.Port(), zones[0])
	return nil
}
