// Package conformance runs the OCI distribution-spec conformance suite
// against berth's registry, in process, with every API and data test
// enabled.
package conformance

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/berth/berth/internal/blob/local"
	"github.com/berth/berth/internal/registry"
	"github.com/berth/berth/internal/store/bolt"
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

func TestOCIConformance(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the OCI conformance suite")
	}
	dir := t.TempDir()
	bin := buildSuite(t, dir)
	url, password := startRegistry(t, dir)

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

// startRegistry serves the registry handler over a bolt store and an
// encrypted local blob store in dir, with the two repositories the suite
// pushes to; it returns the URL and a registry password.
func startRegistry(t *testing.T, dir string) (string, string) {
	t.Helper()
	st, err := bolt.Open(filepath.Join(dir, "state.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	key, err := local.LoadOrCreateKey(filepath.Join(dir, "blob.key"))
	if err != nil {
		t.Fatal(err)
	}
	blobs, err := local.Open(filepath.Join(dir, "blobs"), local.Options{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	cat := registry.NewCatalog(st, nil)
	for _, name := range []string{repo1, repo2} {
		if _, err := cat.CreateRepository(context.Background(), registry.Repository{Name: name}); err != nil {
			t.Fatal(err)
		}
	}
	tokenKey := make([]byte, 32)
	rand.Read(tokenKey)
	tokens := registry.NewTokens(tokenKey, nil)
	password, _ := tokens.Issue("AKIACONFORMANCE")
	srv := httptest.NewServer(registry.NewHandler(registry.HandlerConfig{
		Catalog: cat, Blobs: blobs, Tokens: tokens, AccountID: "123456789012", Region: "us-east-1",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}))
	t.Cleanup(srv.Close)
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
