package e2e

import (
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// appBinary builds ./app once per run: static, so it runs FROM scratch.
var appBinary = sync.OnceValues(func() (string, error) {
	bin := filepath.Join(workDir, "app")
	// -buildvcs=false: a checkout git refuses to read (another owner) must not fail the build.
	cmd := exec.Command("go", "build", "-buildvcs=false", "-ldflags=-s -w", "-o", bin, "./app")
	cmd.Env = append(baseEnv(), "CGO_ENABLED=0", "GOOS=linux")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./app: %w\n%s", err, out)
	}
	return bin, nil
})

// appDockerfile pulls nothing, so images build without internet access.
const appDockerfile = `FROM scratch
COPY app /app
EXPOSE 8080
ENTRYPOINT ["/app"]
`

// toolboxDockerfile adds busybox (a shell and its tools) and the app as
// curl, for task definitions with CMD-SHELL health checks and sidecars that
// run shell commands. It still pulls nothing.
const toolboxDockerfile = `FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
COPY app /app
RUN ["/bin/ln", "-s", "/app", "/bin/curl"]
EXPOSE 8080
ENTRYPOINT ["/app"]
`

// busyboxPath is Debian's busybox-static, which .ci/run installs.
const busyboxPath = "/bin/busybox"

// BuildToolboxImage builds the app image plus busybox's shell and the app
// as curl (app/curl.go), tagged tag; it removes the tag when the
// test ends and returns the image id.
func BuildToolboxImage(t testing.TB, tag string) string {
	t.Helper()
	return buildImage(t, tag, toolboxDockerfile, map[string]string{"busybox": busyboxPath}, nil)
}

// BuildAppImage builds the test app (app: /health -> "ok", / -> the
// hostname, port 8080, `-check URL` as a health-check command) into a
// FROM scratch image tagged tag, removes the tag when the test ends, and
// returns the image id.
func BuildAppImage(t testing.TB, tag string) string {
	t.Helper()
	return buildAppImage(t, tag, "")
}

// BuildUniqueAppImage is BuildAppImage plus a last layer no other image has.
// Docker's build cache makes every BuildAppImage the same image, which other
// tags (other tests, other runs) keep; a unique image is gone from Docker
// once its tags are removed, so pulling it back downloads it, and two unique
// images have different digests.
func BuildUniqueAppImage(t testing.TB, tag string) string {
	t.Helper()
	return buildAppImage(t, tag, UniqueName("berth-e2e-image"))
}

// buildAppImage builds the app image, with a /marker file holding marker
// when marker is not empty.
func buildAppImage(t testing.TB, tag, marker string) string {
	t.Helper()
	if marker == "" {
		return buildImage(t, tag, appDockerfile, nil, nil)
	}
	return buildImage(t, tag, appDockerfile+"COPY marker /marker\n", nil, map[string]string{"marker": marker})
}

// buildImage builds dockerfile tagged tag from a context holding the app
// binary as "app", the files of copies (name -> path on this machine) and
// those of written (name -> content); it removes the tag when the test ends
// and returns the image id.
func buildImage(t testing.TB, tag, dockerfile string, copies, written map[string]string) string {
	t.Helper()
	RequireDocker(t)
	bin, err := appBinary()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	files := map[string][]byte{"Dockerfile": []byte(dockerfile)}
	sources := map[string]string{"app": bin}
	maps.Copy(sources, copies)
	for name, src := range sources {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		files[name] = b
	}
	for name, content := range written {
		files[name] = []byte(content)
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	Docker(t, "build", "--tag", tag, dir).OK(t)
	t.Cleanup(func() { Docker(t, "image", "rm", "--force", tag) })
	return strings.TrimSpace(Docker(t, "image", "inspect", "--format", "{{.Id}}", tag).OK(t).Stdout)
}
