package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
)

// Helpers the ECR tests share: the two aws CLIs, an SDK client, reading
// docker's output and fetching images straight from the registry API.

// awsCLI is one of the aws CLIs users have.
type awsCLI struct {
	name string
	path string
	// serviceErrorExit is the CLI's exit code when the service returned an
	// error: 255 for v1, 254 for v2.
	serviceErrorExit int
}

var awsCLIs = []awsCLI{
	{name: "v1", path: "aws", serviceErrorExit: 255},
	{name: "v2", path: awsV2Path, serviceErrorExit: 254},
}

func (c awsCLI) require(t testing.TB) {
	t.Helper()
	_, err := exec.LookPath(c.path)
	require(t, "AWS CLI "+c.name+" ("+c.path+")", err)
}

// run runs the CLI against s with the key `berth env` exports.
func (c awsCLI) run(t testing.TB, s *Server, args ...string) Result {
	t.Helper()
	return c.runEnv(t, s, nil, args...)
}

// runEnv is run with env overriding the CLI's environment.
func (c awsCLI) runEnv(t testing.TB, s *Server, env []string, args ...string) Result {
	t.Helper()
	c.require(t)
	// exec.Cmd keeps the last of duplicate variables, so env overrides.
	return Run(t, Command{Name: c.path, Args: append([]string{"--endpoint-url", s.URL}, args...), Env: append(s.awsEnv(), env...)})
}

// serviceError fails the test unless r is the CLI reporting the service's
// error code and message for op, as both CLIs print it.
func (c awsCLI) serviceError(t testing.TB, r Result, op, code, message string) {
	t.Helper()
	want := fmt.Sprintf("An error occurred (%s) when calling the %s operation: %s", code, op, message)
	lines := strings.Split(strings.TrimSpace(r.Stderr), "\n")
	if r.ExitCode != c.serviceErrorExit || !slices.Contains(lines, want) {
		t.Errorf("want exit %d and the line\n\t%s\ngot exit %d\nstdout:\n%s\nstderr:\n%s", c.serviceErrorExit, want, r.ExitCode, r.Stdout, r.Stderr)
	}
}

// ecrClient is an aws-sdk-go-v2 ECR client for s that does not retry, so
// every call the tests make reaches the server exactly once.
func ecrClient(s *Server) *ecr.Client {
	return ecr.NewFromConfig(s.SDKConfig(), func(o *ecr.Options) { o.RetryMaxAttempts = 1 })
}

// pushedDigest reads the digest `docker push` reports for tag.
func pushedDigest(t testing.TB, r Result, tag string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(tag) + `: digest: (sha256:[0-9a-f]{64}) size: \d+$`).FindStringSubmatch(r.Stdout)
	if m == nil {
		t.Fatalf("docker push printed no digest for %s:\n%s", tag, r.Stdout)
	}
	return m[1]
}

// removeImagesAtEnd removes docker image references when the test ends,
// whether or not the test still has them.
func removeImagesAtEnd(t testing.TB, refs ...string) {
	t.Cleanup(func() { Docker(t, append([]string{"image", "rm", "--force"}, refs...)...) })
}

func sha256Digest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// manifest is the part of a Docker v2 or OCI image manifest the tests read.
type manifest struct {
	SchemaVersion int               `json:"schemaVersion"`
	MediaType     string            `json:"mediaType"`
	Config        descriptor        `json:"config"`
	Layers        []descriptor      `json:"layers"`
	Annotations   map[string]string `json:"annotations,omitempty"`
}

type descriptor struct {
	MediaType string `json:"mediaType"`
	Digest    string `json:"digest"`
	Size      int64  `json:"size"`
}

func (m manifest) layersSize() int64 {
	var n int64
	for _, l := range m.Layers {
		n += l.Size
	}
	return n
}

// registryToken is the raw GetAuthorizationToken token, which the registry
// takes as HTTP Basic credentials.
func registryToken(t testing.TB, s *Server) string {
	t.Helper()
	out, err := ecrClient(s).GetAuthorizationToken(context.Background(), &ecr.GetAuthorizationTokenInput{})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.AuthorizationData[0].AuthorizationToken)
}

// registryGet GETs a /v2/ path with auth as Basic credentials and returns
// the response, its body read.
func registryGet(t testing.TB, s *Server, auth, path string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Basic "+auth)
	req.Header.Set("Accept", "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

// checkImageComplete fails the test unless the registry serves image d of
// repo whole: its manifest, and its config and every layer with the
// digests and sizes the manifest gives.
func checkImageComplete(t testing.TB, s *Server, token, repo, d string) manifest {
	t.Helper()
	resp, raw := registryGet(t, s, token, "/v2/"+repo+"/manifests/"+d)
	if resp.StatusCode != http.StatusOK || sha256Digest(raw) != d {
		t.Fatalf("manifest %s@%s: %s, digest %s", repo, d, resp.Status, sha256Digest(raw))
	}
	var m manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("manifest %s@%s: %v", repo, d, err)
	}
	for _, b := range append([]descriptor{m.Config}, m.Layers...) {
		resp, content := registryGet(t, s, token, "/v2/"+repo+"/blobs/"+b.Digest)
		if resp.StatusCode != http.StatusOK || sha256Digest(content) != b.Digest || int64(len(content)) != b.Size {
			t.Errorf("blob %s of %s@%s: %s, %d bytes with digest %s; want %d bytes", b.Digest, repo, d, resp.Status, len(content), sha256Digest(content), b.Size)
		}
	}
	return m
}

// basicAuth is the Basic credentials of user and password.
func basicAuth(user, password string) string {
	return base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
}
