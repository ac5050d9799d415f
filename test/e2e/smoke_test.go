package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/berth/berth/internal/iam"
)

func TestServerStartsAndEnv(t *testing.T) {
	s := StartServer(t, ServerOptions{})

	resp, err := http.Get(s.URL + "/_berth/health")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var health struct {
		Status   string   `json:"status"`
		Services []string `json:"services"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&health); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("health: %s, %v", resp.Status, err)
	}
	if health.Status != "ok" || !slices.Equal(health.Services, []string{"acm", "cloudformation", "ec2", "ecr", "ecs", "elbv2", "iam", "logs", "secretsmanager", "servicediscovery", "ssm", "sts"}) {
		t.Errorf("health = %+v, want status ok and services ecr, ecs, logs", health)
	}

	for path, want := range map[string]os.FileMode{s.DataDir: 0o700, s.DataDir + "/" + iam.KeyFile: 0o600} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s has mode %v, want %v", path, fi.Mode().Perm(), want)
		}
	}

	key, err := iam.ReadAdminKey(s.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"AWS_ACCESS_KEY_ID":     key.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY": key.SecretAccessKey,
		"AWS_REGION":            "us-east-1",
		"AWS_DEFAULT_REGION":    "us-east-1",
		"AWS_ENDPOINT_URL":      s.URL,
	}
	for name, value := range want {
		if got := s.Env()[name]; got != value {
			t.Errorf("berth env: %s=%q, want %q", name, got, value)
		}
	}

	// berth aws hands the key and region to the installed CLI ...
	list := s.BerthAWS(t, "configure", "list").OK(t).Stdout
	for _, w := range []string{key.AccessKeyID[len(key.AccessKeyID)-4:], key.SecretAccessKey[len(key.SecretAccessKey)-4:], "us-east-1"} {
		if !strings.Contains(list, w) {
			t.Errorf("aws configure list under berth aws lacks %q:\n%s", w, list)
		}
	}
	// ... and passes its exit code back.
	viaBerth := s.BerthAWS(t, "ecr", "no-such-operation")
	direct := s.AWS(t, "ecr", "no-such-operation")
	if viaBerth.ExitCode == 0 || viaBerth.ExitCode != direct.ExitCode {
		t.Errorf("berth aws exited %d, aws itself %d", viaBerth.ExitCode, direct.ExitCode)
	}

	Berth(t, "env", "--data-dir", t.TempDir()).Fails(t, "berth server")

	// A crash keeps the key: clients configured before it keep working.
	s.KillAndRestart(t)
	if got := s.Env()["AWS_ACCESS_KEY_ID"]; got != key.AccessKeyID {
		t.Errorf("after SIGKILL and restart the key is %q, want %q", got, key.AccessKeyID)
	}

	s.Stop(t) // fails the test unless SIGTERM ends the server with exit 0
}

func TestDockerBuildScratchImage(t *testing.T) {
	tag := UniqueName("berth-e2e-app") + ":v1"
	BuildAppImage(t, tag)

	var images []struct {
		Os     string
		Config struct {
			Entrypoint   []string
			ExposedPorts map[string]any
		}
		RootFS struct{ Layers []string }
		Size   int64
	}
	Docker(t, "image", "inspect", tag).OK(t).Decode(t, &images)
	if len(images) != 1 {
		t.Fatalf("docker image inspect: %d images", len(images))
	}
	img := images[0]
	if img.Os != "linux" || !slices.Equal(img.Config.Entrypoint, []string{"/app"}) ||
		img.Config.ExposedPorts["8080/tcp"] == nil || len(img.RootFS.Layers) != 1 {
		t.Errorf("unexpected image: %+v", img)
	}
	if img.Size > 20<<20 {
		t.Errorf("image is %d bytes; a static Go binary FROM scratch should be far smaller", img.Size)
	}

	// Running it needs only the local bridge, no internet.
	id := strings.TrimSpace(Docker(t, "run", "--detach", "--publish", "127.0.0.1::8080", tag).OK(t).Stdout)
	t.Cleanup(func() { Docker(t, "rm", "--force", id) })
	hostPort, _, _ := strings.Cut(Docker(t, "port", id, "8080/tcp").OK(t).Stdout, "\n")
	base := "http://" + strings.TrimSpace(hostPort)

	if body := getOK(t, base+"/health"); body != "ok" {
		t.Errorf("/health = %q, want ok", body)
	}
	if body := getOK(t, base+"/"); strings.TrimSpace(body) != id[:12] {
		t.Errorf("/ = %q, want the container's hostname %q", body, id[:12])
	}
	Docker(t, "exec", id, "/app", "-check", "http://127.0.0.1:8080/health").OK(t)

	Docker(t, "stop", "--time", "10", id).OK(t)
	if code := strings.TrimSpace(Docker(t, "inspect", "--format", "{{.State.ExitCode}}", id).OK(t).Stdout); code != "0" {
		t.Errorf("app exited %s after docker stop, want 0", code)
	}
}

// getOK polls url until it answers 200 (the app may still be starting) and
// returns the body.
func getOK(t *testing.T, url string) string {
	t.Helper()
	client := http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := client.Get(url)
		if err == nil {
			body, rerr := io.ReadAll(resp.Body)
			resp.Body.Close()
			if rerr == nil && resp.StatusCode == http.StatusOK {
				return string(body)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: no 200 within 15s (last error: %v)", url, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
