// Package vulndbtest finds the Go vulnerability database for tests,
// offline: the golang.org/x/vulndb module zip in the Go module cache, which
// ships the database's OSV records under data/osv.
package vulndbtest

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"testing"
)

// GoVulnDBModule is the pinned version of golang.org/x/vulndb tests
// import, so their expectations do not drift as the database grows.
const GoVulnDBModule = "golang.org/x/vulndb@v0.0.0-20261105234957-e22db6528018"

// GoVulnDBZip is the path of the module zip in the module cache, fetched
// from the Go module proxy when it is not there yet (the proxy is the one
// network source tests may use). Without it the test is skipped, except
// in CI, where that is a failure.
func GoVulnDBZip(tb testing.TB) string {
	tb.Helper()
	cmd := exec.Command("go", "mod", "download", "-json", GoVulnDBModule)
	// Outside any module, so no go.mod is read or written.
	cmd.Dir = tb.TempDir()
	cmd.Env = append(os.Environ(), "GOFLAGS=", "GOWORK=off")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	var out struct {
		Zip   string
		Error string
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil || out.Zip == "" || out.Error != "" {
		skip := tb.Skipf
		if os.Getenv("CI") != "" {
			skip = tb.Fatalf
		}
		skip("%s could not be fetched (`go mod download %s` needs the Go module proxy): %v %s %s",
			GoVulnDBModule, GoVulnDBModule, runErr, out.Error, stderr.String())
	}
	if _, err := os.Stat(out.Zip); err != nil {
		tb.Skipf("%s: %v", GoVulnDBModule, err)
	}
	return out.Zip
}
