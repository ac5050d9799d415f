package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"syscall"
	"testing"
	"time"

	"github.com/berth/berth/internal/iam"
)

// TestRunServer starts a server on a free port, checks health and the data
// dir, and shuts it down through its context, as a signal would.
func TestRunServer(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	logR, logW := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- runServer(ctx, serverConfig{
			Listen: "127.0.0.1:0", DataDir: dir, Region: "us-east-1", AccountID: "000000000000", LogLevel: "info",
		}, logW)
		logW.Close()
	}()

	ready := regexp.MustCompile(`msg="berth server ready" listen=(\S+) .* registry_host=localhost:(\d+)`)
	lines := bufio.NewScanner(logR)
	var m []string
	for m == nil && lines.Scan() {
		m = ready.FindStringSubmatch(lines.Text())
	}
	if m == nil {
		t.Fatalf("no ready line; runServer returned %v", <-done)
	}
	go io.Copy(io.Discard, logR) // the server keeps logging until it returns
	listen, registryPort := m[1], m[2]
	if want := "127.0.0.1:" + registryPort; listen != want {
		t.Errorf("registry host port %s does not match the listener %s", registryPort, listen)
	}

	resp, err := http.Get("http://" + listen + "/_berth/health")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("health: %s", resp.Status)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("data dir: %v, %v; want mode 0700", fi, err)
	}
	if _, err := iam.ReadAdminKey(dir); err != nil {
		t.Errorf("admin key: %v", err)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("runServer after cancel: %v", err)
		}
	case <-time.After(shutdownTimeout + 5*time.Second):
		t.Fatal("runServer did not return after cancel")
	}
}

func TestGiveKeyToSudoUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root, as a server started through sudo")
	}
	dir := t.TempDir()
	if _, err := iam.LoadOrCreateAdminKey(dir); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"SUDO_UID": "65534", "SUDO_GID": "65533"}
	if err := giveKeyToSudoUser(dir, func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{dir, filepath.Join(dir, iam.KeyFile)} {
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if sys := st.Sys().(*syscall.Stat_t); sys.Uid != 65534 || sys.Gid != 65533 {
			t.Errorf("%s owned by %d:%d, want the sudo user's 65534:65533", path, sys.Uid, sys.Gid)
		}
	}
	// Without sudo's variables nothing changes hands.
	other := t.TempDir()
	if err := giveKeyToSudoUser(other, func(string) string { return "" }); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(other); st.Sys().(*syscall.Stat_t).Uid != 0 {
		t.Errorf("data dir given away without sudo")
	}
}
