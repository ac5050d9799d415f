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
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/berth/berth/internal/iam"
)

// Berth is a berth server a benchmark started. With a task network its
// in-process agent runs tasks on this host's Docker.
type Berth struct {
	*Server
	// Network is the Docker network of awsvpc tasks ("" without the agent).
	Network string
}

// StartBerth starts bin as `berth server` on a free port. withAgent gives it
// its in-process agent with a task network, bridge and /24 of its own, so it
// meets no other berth on the host; without it the server runs no tasks
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
		subnet, err := freeTaskSubnet(ctx)
		if err != nil {
			bs.Stop()
			return nil, err
		}
		b.Network = fmt.Sprintf("berth-bench-%d", os.Getpid())
		args = append(args, "--task-network", b.Network, "--task-bridge", fmt.Sprintf("bb%d", os.Getpid()%1000000),
			"--task-subnet", subnet, "--metadata-port", strconv.Itoa(metadataPort))
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
// running when the server stops) and the task network.
func (b *Berth) Stop() {
	nodeID, _ := os.ReadFile(filepath.Join(b.DataDir, "agent", "node-id"))
	b.Server.Stop()
	if id := strings.TrimSpace(string(nodeID)); id != "" {
		out, _ := exec.Command("docker", "ps", "--all", "--quiet", "--filter", "label=berth.node-id="+id).Output()
		if ids := strings.Fields(string(out)); len(ids) > 0 {
			exec.Command("docker", append([]string{"rm", "--force"}, ids...)...).Run()
		}
	}
	if b.Network != "" {
		exec.Command("docker", "network", "rm", b.Network).Run()
	}
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

// freeTaskSubnet returns a /24 of 169.254.128.0/18 no Docker network uses.
func freeTaskSubnet(ctx context.Context) (string, error) {
	ids, err := exec.CommandContext(ctx, "docker", "network", "ls", "--quiet").Output()
	if err != nil {
		return "", fmt.Errorf("docker network ls (is dockerd running?): %w", err)
	}
	used := map[string]bool{}
	if fields := strings.Fields(string(ids)); len(fields) > 0 {
		out, err := exec.CommandContext(ctx, "docker", append([]string{"network", "inspect", "--format", "{{range .IPAM.Config}}{{.Subnet}} {{end}}"}, fields...)...).Output()
		if err != nil {
			return "", err
		}
		for _, s := range strings.Fields(string(out)) {
			used[s] = true
		}
	}
	for i := range 64 {
		if subnet := fmt.Sprintf("169.254.%d.0/24", 128+i); !used[subnet] {
			return subnet, nil
		}
	}
	return "", errors.New("no free /24 in 169.254.128.0/18")
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
