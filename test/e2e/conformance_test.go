package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
)

// suite is the conformance module, required in go.mod as a tool so that
// it builds from the module cache, offline once fetched.
const suite = "github.com/opencontainers/distribution-spec/conformance"

const (
	repo1 = "conformance/repo1"
	repo2 = "conformance/repo2"
)

// settings enable every API and data test of the suite. OCI_VERSION=dev
// adds what the 1.1 defaults leave out: upload cancel, the required
// Docker-Content-Digest headers and tags as parameters of a push by digest.
//
// The one data set left out is "sparse" (manifests whose layers or child
// manifests were never pushed): ECR rejects those (LayersNotFoundException,
// ReferencedImagesNotFoundException), and so does berth; the suite itself
// leaves it off by default since registries may refuse it.
var settings = map[string]string{
	"OCI_VERSION":                     "dev",
	"OCI_TLS":                         "disabled",
	"OCI_REPO1":                       repo1,
	"OCI_REPO2":                       repo2,
	"OCI_USERNAME":                    "AWS",
	"OCI_CACHE_AUTH":                  "true",
	"OCI_LOG":                         "warn",
	"OCI_API_PING":                    "true",
	"OCI_API_PULL":                    "true",
	"OCI_API_PUSH":                    "true",
	"OCI_API_BLOBS_ATOMIC":            "true",
	"OCI_API_BLOBS_DELETE":            "true",
	"OCI_API_BLOBS_DIGEST_HEADER":     "true",
	"OCI_API_BLOBS_MOUNT_ANONYMOUS":   "true",
	"OCI_API_BLOBS_UPLOAD_CANCEL":     "true",
	"OCI_API_MANIFESTS_ATOMIC":        "true",
	"OCI_API_MANIFESTS_DELETE":        "true",
	"OCI_API_MANIFESTS_DIGEST_HEADER": "true",
	"OCI_API_MANIFESTS_TAG_PARAM":     "true",
	"OCI_API_TAGS_ATOMIC":             "true",
	"OCI_API_TAGS_DELETE":             "true",
	"OCI_API_TAGS_LIST":               "true",
	"OCI_API_REFERRER":                "true",
	"OCI_DATA_IMAGE":                  "true",
	"OCI_DATA_INDEX":                  "true",
	"OCI_DATA_INDEX_LIST":             "true",
	"OCI_DATA_SPARSE":                 "false",
	"OCI_DATA_ARTIFACT":               "true",
	"OCI_DATA_SUBJECT":                "true",
	"OCI_DATA_SUBJECT_MISSING":        "true",
	"OCI_DATA_ARTIFACT_LIST":          "true",
	"OCI_DATA_SUBJECT_LIST":           "true",
	"OCI_DATA_DATA_FIELD":             "true",
	"OCI_DATA_NONDISTRIBUTABLE":       "true",
	"OCI_DATA_CUSTOM_FIELDS":          "true",
	"OCI_DATA_NO_LAYERS":              "true",
	"OCI_DATA_EMPTY_BLOB":             "true",
	"OCI_DATA_SHA512":                 "true",
}

// TestOCIConformance runs the OCI distribution-spec conformance suite
// against a real berth server, with every API and data test enabled.
func TestOCIConformance(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the OCI conformance suite")
	}
	dir := t.TempDir()
	bin := buildSuite(t, dir)
	url, password := startRegistry(t)

	env := []string{"OCI_REGISTRY=" + strings.TrimPrefix(url, "http://"), "OCI_PASSWORD=" + password,
		"OCI_RESULTS_DIR=" + filepath.Join(dir, "results")}
	for k, v := range settings {
		env = append(env, k+"="+v)
	}
	for _, kv := range os.Environ() {
		// Nothing from the caller's environment may reconfigure the suite.
		if !strings.HasPrefix(kv, "OCI_") {
			env = append(env, kv)
		}
	}
	cmd := exec.Command(bin)
	cmd.Dir = dir // no stray oci-conformance.yaml is picked up
	cmd.Env = env
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	runErr := cmd.Run()

	counts, result := summary(out.Bytes())
	t.Logf("OCI conformance (%s, all APIs and data sets but sparse): result %s, passed %d, failed %d, errors %d, skipped %d, disabled %d",
		suiteVersion(t), result, counts["Pass"], counts["FAIL"], counts["Error"], counts["Skip"], counts["Disabled"])
	if runErr != nil || result != "Pass" || counts["Pass"] == 0 || counts["FAIL"]+counts["Error"]+counts["Skip"] > 0 {
		t.Errorf("conformance run failed (%v); failing checks:\n%s", runErr, failures(out.Bytes()))
	}
}

// buildSuite compiles the suite's main package from the module cache.
func buildSuite(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "oci-conformance")
	cmd := exec.Command("go", "build", "-o", bin, suite)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", suite, err, out)
	}
	return bin
}

func suiteVersion(t *testing.T) string {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Version}}", suite).Output()
	if err != nil {
		t.Logf("go list: %v", err)
		return suite
	}
	return suite + "@" + strings.TrimSpace(string(out))
}

// startRegistry starts a berth server, creates the two repositories the
// suite pushes to with the ECR API and returns the registry URL and the
// password GetAuthorizationToken gives, as a user of the real server would.
func startRegistry(t *testing.T) (string, string) {
	t.Helper()
	srv := StartServer(t, ServerOptions{})
	client := ecr.NewFromConfig(srv.SDKConfig())
	ctx := context.Background()
	for _, name := range []string{repo1, repo2} {
		if _, err := client.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String(name)}); err != nil {
			t.Fatal(err)
		}
	}
	auth, err := client.GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base64.StdEncoding.DecodeString(aws.ToString(auth.AuthorizationData[0].AuthorizationToken))
	if err != nil {
		t.Fatal(err)
	}
	user, password, _ := strings.Cut(string(raw), ":")
	if user != "AWS" {
		t.Fatalf("token user %q", user)
	}
	return srv.URL, password
}

var (
	resultRE = regexp.MustCompile(`^OCI Conformance Result: (\S+)`)
	countRE  = regexp.MustCompile(`^\s+(Pass|FAIL|Error|Skip|Disabled)\.*:\s+(\d+)$`)
)

// summary reads the counts the suite prints after "OCI Conformance Result".
func summary(out []byte) (map[string]int, string) {
	counts := map[string]int{}
	result := "unknown"
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	inSummary := false
	for sc.Scan() {
		line := sc.Text()
		if m := resultRE.FindStringSubmatch(line); m != nil {
			result, inSummary = m[1], true
			continue
		}
		if m := countRE.FindStringSubmatch(line); inSummary && m != nil {
			counts[m[1]], _ = strconv.Atoi(m[2])
		}
		if strings.HasPrefix(line, "  Total") {
			inSummary = false
		}
	}
	return counts, result
}

// failures picks the failing checks and their errors from the suite's
// result tree, or its whole output when there is no tree.
func failures(out []byte) string {
	var b strings.Builder
	lines := strings.Split(string(out), "\n")
	for i, line := range lines {
		trimmed := strings.TrimSpace(line)
		if strings.HasSuffix(trimmed, ": FAIL") || strings.HasSuffix(trimmed, ": Error") || strings.HasSuffix(trimmed, ": Skip") {
			fmt.Fprintln(&b, line)
			for _, next := range lines[i+1:] {
				if !strings.HasPrefix(strings.TrimSpace(next), "- ") {
					break
				}
				fmt.Fprintln(&b, next)
			}
		}
	}
	if b.Len() == 0 {
		return string(out)
	}
	return b.String()
}
