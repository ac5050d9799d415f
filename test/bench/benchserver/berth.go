package benchserver

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/berth/berth/internal/iam"
)

// Berth is a berth server a benchmark started. With its agent it runs
// tasks on this host's Docker.
type Berth struct {
	*Server
	// DefaultVPC is the range of its default VPC ("" without the agent).
	DefaultVPC string
}

// StartBerth starts bin as `berth server` on a free port. withAgent gives it
// its in-process agent with a default VPC range of its own, so it meets no
// other berth on the host; without it the server runs no tasks
// itself (remote agents may connect). extraArgs are added to the command.
func StartBerth(ctx context.Context, bin string, keep, withAgent bool, extraArgs ...string) (*Berth, error) {
	bs, err := New("berth", keep)
	if err != nil {
		return nil, err
	}
	b := &Berth{Server: bs}
	args := []string{"server", "--listen", bs.Listen(), "--data-dir", bs.DataDir}
	if withAgent {
		metadataPort, err := FreePort()
		if err != nil {
			bs.Stop()
			return nil, err
		}
		vpc, err := freeVPCRange(ctx)
		if err != nil {
			bs.Stop()
			return nil, err
		}
		b.DefaultVPC = vpc
		args = append(args, "--default-vpc-cidr", vpc, "--metadata-port", strconv.Itoa(metadataPort))
	} else {
		args = append(args, "--agent=false")
	}
	args = append(args, extraArgs...)
	if err := b.Start(ctx, nil, "/_berth/health", bin, args...); err != nil {
		b.Stop()
		return nil, err
	}
	return b, nil
}

// Stop stops berth, then removes what its agent left on purpose (tasks keep
// running when the server stops, and VPCs outlive it): containers, the
// default VPC's bridge and route, and the firewall table.
func (b *Berth) Stop() {
	nodeID, _ := os.ReadFile(filepath.Join(b.DataDir, "agent", "node-id"))
	b.Server.Stop()
	if id := strings.TrimSpace(string(nodeID)); id != "" {
		out, _ := exec.Command("docker", "ps", "--all", "--quiet", "--filter", "label=berth.node-id="+id).Output()
		if ids := strings.Fields(string(out)); len(ids) > 0 {
			exec.Command("docker", append([]string{"rm", "--force"}, ids...)...).Run()
		}
		exec.Command("nft", "delete", "table", "inet", "berth_"+id[:min(12, len(id))]).Run()
	}
	if b.DefaultVPC != "" {
		prefix := strings.TrimSuffix(b.DefaultVPC, "0.0/16")
		out, _ := exec.Command("ip", "-4", "-o", "addr", "show").Output()
		for _, line := range strings.Split(string(out), "\n") {
			if f := strings.Fields(line); len(f) >= 4 && strings.HasPrefix(f[1], "berth-") && strings.HasPrefix(f[3], prefix) {
				exec.Command("ip", "link", "del", f[1]).Run()
			}
		}
		exec.Command("ip", "route", "del", "unreachable", b.DefaultVPC, "metric", "4242").Run()
	}
}

// DefaultSubnet is the id of the first default subnet of the server's
// default VPC, for awsvpc tasks.
func (b *Berth) DefaultSubnet(ctx context.Context) (string, error) {
	cfg, err := b.AWSConfig()
	if err != nil {
		return "", err
	}
	out, err := ec2.NewFromConfig(cfg).DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{
		Filters: []ec2types.Filter{{Name: aws.String("default-for-az"), Values: []string{"true"}}},
	})
	if err != nil {
		return "", err
	}
	if len(out.Subnets) == 0 {
		return "", errors.New("the default VPC has no subnets")
	}
	return aws.ToString(out.Subnets[0].SubnetId), nil
}

// AWSConfig is an SDK configuration for the server with the admin
// credentials berth wrote to its data dir.
func (b *Berth) AWSConfig() (aws.Config, error) {
	creds, err := iam.ReadAdminKey(b.DataDir)
	if err != nil {
		return aws.Config{}, err
	}
	return aws.Config{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(b.URL),
		Credentials:  credentials.NewStaticCredentialsProvider(creds.AccessKeyID, creds.SecretAccessKey, ""),
	}, nil
}

// AgentToken is the secret remote agents present to the server.
func (b *Berth) AgentToken() (string, error) {
	tok, err := os.ReadFile(filepath.Join(b.DataDir, "agent.token"))
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(tok)), nil
}

// freeVPCRange returns a /16 of 10.64.0.0/10 that no route of the host
// touches (e2e tests take theirs from 10.128.0.0/9).
func freeVPCRange(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "ip", "-4", "route", "show", "table", "all").Output()
	if err != nil {
		return "", fmt.Errorf("ip route: %w", err)
	}
	for i := range 64 {
		second := 64 + (os.Getpid()+i)%64
		if !strings.Contains(string(out), fmt.Sprintf("10.%d.", second)) {
			return fmt.Sprintf("10.%d.0.0/16", second), nil
		}
	}
	return "", errors.New("no free /16 in 10.64.0.0/10")
}

// PushApp creates the ECR repository repo, pushes a FROM scratch image of
// the static binary appBin (its entrypoint /app) to berth as repo:tag, and
// returns the image's name in ECR form.
func (b *Berth) PushApp(ctx context.Context, client *ecr.Client, appBin, repo, tag string) (string, error) {
	if _, err := client.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String(repo)}); err != nil {
		return "", err
	}
	tok, err := client.GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{})
	if err != nil {
		return "", err
	}
	userPass, err := base64.StdEncoding.DecodeString(aws.ToString(tok.AuthorizationData[0].AuthorizationToken))
	if err != nil {
		return "", err
	}
	user, pass, _ := strings.Cut(string(userPass), ":")
	bin, err := os.ReadFile(appBin)
	if err != nil {
		return "", err
	}
	var layer bytes.Buffer
	tw := tar.NewWriter(&layer)
	tw.WriteHeader(&tar.Header{Name: "app", Mode: 0o755, Size: int64(len(bin)), Typeflag: tar.TypeReg})
	tw.Write(bin)
	tw.Close()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(layer.Bytes())), nil })
	if err != nil {
		return "", err
	}
	img, err := mutate.AppendLayers(empty.Image, l)
	if err != nil {
		return "", err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return "", err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", goruntime.GOARCH
	cf.Config.Entrypoint = []string{"/app"}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return "", err
	}
	ref, err := name.ParseReference(b.Listen()+"/"+repo+":"+tag, name.Insecure)
	if err != nil {
		return "", err
	}
	if err := remote.Write(ref, img, remote.WithContext(ctx), remote.WithAuth(&authn.Basic{Username: user, Password: pass})); err != nil {
		return "", err
	}
	return "000000000000.dkr.ecr.us-east-1.amazonaws.com/" + repo + ":" + tag, nil
}
