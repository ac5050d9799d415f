package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecr"

	"github.com/berth/berth/internal/iam"
	"github.com/berth/berth/test/bench/benchserver"
)

// startBerth starts `berth server` from bin (built into the server's dir
// when empty; *bin is then set to it, so a second server reuses the build).
// unencrypted starts it with --unencrypted-blobs, the hidden flag that
// stores blobs in plaintext to measure what encryption costs.
func startBerth(ctx context.Context, bin *string, keep, unencrypted bool) (*benchserver.Server, error) {
	name := "berth"
	if unencrypted {
		name = "berth-unencrypted"
	}
	s, err := benchserver.New(name, keep)
	if err != nil {
		return nil, err
	}
	if *bin == "" {
		built := filepath.Join(s.Dir, "berth")
		if err := benchserver.GoBuild(ctx, built, "./cmd/berth"); err != nil {
			s.Stop()
			return nil, err
		}
		*bin = built
	}
	// --agent=false: the registry benchmark runs no tasks.
	args := []string{"server", "--listen", s.Listen(), "--data-dir", s.DataDir, "--agent=false"}
	if unencrypted {
		args = append(args, "--unencrypted-blobs")
	}
	if err := s.Start(ctx, nil, "/_berth/health", *bin, args...); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

// berthTarget creates repo with the ECR API, using the admin credentials
// berth wrote to its data dir, and gets a registry password as docker login
// via ECR would.
func berthTarget(ctx context.Context, s *benchserver.Server, name, repo string) (target, error) {
	creds, err := iam.ReadAdminKey(s.DataDir)
	if err != nil {
		return target{}, err
	}
	client := ecr.New(ecr.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(s.URL),
		Credentials:  credentials.NewStaticCredentialsProvider(creds.AccessKeyID, creds.SecretAccessKey, ""),
	})
	if _, err := client.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String(repo)}); err != nil {
		return target{}, fmt.Errorf("ecr CreateRepository: %w", err)
	}
	out, err := client.GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{})
	if err != nil {
		return target{}, fmt.Errorf("ecr GetAuthorizationToken: %w", err)
	}
	if len(out.AuthorizationData) == 0 || out.AuthorizationData[0].AuthorizationToken == nil {
		return target{}, errors.New("ecr GetAuthorizationToken: no token")
	}
	tok, err := base64.StdEncoding.DecodeString(*out.AuthorizationData[0].AuthorizationToken)
	if err != nil {
		return target{}, fmt.Errorf("ecr authorization token: %w", err)
	}
	user, pass, ok := bytes.Cut(tok, []byte(":"))
	if !ok {
		return target{}, errors.New("ecr authorization token: not user:password")
	}
	return target{name: name, url: s.URL, username: string(user), password: string(pass), repo: repo, srv: s}, nil
}

// distributionConfig is a minimal config: filesystem storage, no auth,
// no access log (it would cost the registry a log line per request), no
// debug listener.
const distributionConfig = `version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
http:
  addr: %s
`

func startDistribution(ctx context.Context, bin string, keep bool) (*benchserver.Server, error) {
	s, err := benchserver.New("distribution", keep)
	if err != nil {
		return nil, err
	}
	cfgPath := filepath.Join(s.Dir, "config.yml")
	if err := os.WriteFile(cfgPath, fmt.Appendf(nil, distributionConfig, s.DataDir, s.Listen()), 0o644); err != nil {
		s.Stop()
		return nil, err
	}
	// Its OpenTelemetry exporter would otherwise try to send traces.
	env := []string{"OTEL_TRACES_EXPORTER=none"}
	if err := s.Start(ctx, env, "/v2/", bin, "serve", cfgPath); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}
