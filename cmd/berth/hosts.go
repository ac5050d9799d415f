package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/spf13/cobra"

	"github.com/berth/berth/internal/iam"
)

const hostsHelp = `Print an /etc/hosts line for each load balancer of the region: the address
of its interface in its first subnet, and its DNSName. Load balancers serve on
their own addresses in their VPC, which this host reaches; with these lines,
their DNS names resolve on it too:

  berth hosts | sudo tee -a /etc/hosts`

func newHostsCmd(getenv func(string) string) *cobra.Command {
	var cfg serverConfig
	cmd := &cobra.Command{
		Use:   "hosts",
		Short: "Print /etc/hosts lines for the load balancers' DNS names",
		Long:  hostsHelp,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := cfg.validate(); err != nil {
				return err
			}
			return printHosts(cmd.Context(), cfg, cmd.OutOrStdout())
		},
	}
	addClientFlags(cmd.Flags(), &cfg, defaultConfig(getenv))
	return cmd
}

// printHosts writes the hosts lines of the region's load balancers, as
// their owner would see them: through the ELBv2 and EC2 APIs.
func printHosts(ctx context.Context, cfg serverConfig, w io.Writer) error {
	key, err := iam.ReadAdminKey(cfg.DataDir)
	if err != nil {
		return fmt.Errorf("no access key in %s: start `berth server` with the same --data-dir first (%w)", cfg.DataDir, err)
	}
	awsCfg := aws.Config{
		Region:       cfg.Region,
		BaseEndpoint: aws.String(endpointURL(cfg.Listen)),
		Credentials:  credentials.NewStaticCredentialsProvider(key.AccessKeyID, key.SecretAccessKey, ""),
	}
	lbs := elbv2.NewDescribeLoadBalancersPaginator(elbv2.NewFromConfig(awsCfg), &elbv2.DescribeLoadBalancersInput{})
	ec2Client := ec2.NewFromConfig(awsCfg)
	var b strings.Builder
	for lbs.HasMorePages() {
		page, err := lbs.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, lb := range page.LoadBalancers {
			arn := aws.ToString(lb.LoadBalancerArn)
			_, res, _ := strings.Cut(arn, ":loadbalancer/")
			out, err := ec2Client.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{
				Filters: []ec2types.Filter{{Name: aws.String("description"), Values: []string{"ELB " + res}}},
			})
			if err != nil {
				return err
			}
			first := ""
			if len(lb.AvailabilityZones) > 0 {
				first = aws.ToString(lb.AvailabilityZones[0].SubnetId)
			}
			for _, ni := range out.NetworkInterfaces {
				if aws.ToString(ni.SubnetId) == first || first == "" {
					fmt.Fprintf(&b, "%s\t%s\n", aws.ToString(ni.PrivateIpAddress), aws.ToString(lb.DNSName))
					break
				}
			}
		}
	}
	_, err = io.WriteString(w, b.String())
	return err
}
