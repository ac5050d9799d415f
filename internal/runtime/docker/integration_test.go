package docker

// Integration tests against the real dockerd. They skip when Docker is
// unreachable, and fail instead when CI=true. All containers run one static
// test binary (testdata/testbin), imported as an image: no registry needed.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/pkg/stdcopy"

	"github.com/berth/berth/internal/hostnet"
	"github.com/berth/berth/internal/runtime"
)

const (
	testImageRepo = "berth-test/testbin"
	// runLabel marks everything a test run creates, so TestMain can sweep
	// what a failed test left behind.
	runLabel = "berth.test.run"
)

var (
	testDriver *Driver
	testImage  string // the testbin image, /testbin inside
	skipReason string // why integration tests skip, "" when Docker answers
	runID      string // unique per test run
	// testBinPath is the static test binary (testdata/testbin).
	testBinPath string

	vpcOnce sync.Once
	vpcErr  error
	testNet hostnet.VPC
	// nextHost numbers the holders' addresses in the test VPC.
	nextHost atomic.Int32
)

func TestMain(m *testing.M) { os.Exit(testMain(m)) }

func testMain(m *testing.M) int {
	flag.Parse()
	suffix := make([]byte, 3)
	rand.Read(suffix)
	runID = hex.EncodeToString(suffix)

	tmp, err := os.MkdirTemp("", "berth-docker-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, "testbin")
	testBinPath = bin
	build := exec.Command("go", "build", "-o", bin, "./testdata/testbin")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building testbin: %v\n%s", err, out)
		return 1
	}

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	d, err := New(ctx, Config{PauseBinary: bin, PauseArgs: []string{"pause"}, Logger: logger})
	if err == nil {
		err = d.Ping(ctx)
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			fmt.Fprintf(os.Stderr, "Docker is required when CI=true: %v\n", err)
			return 1
		}
		skipReason = fmt.Sprintf("Docker unreachable: %v", err)
		return m.Run()
	}
	testDriver = d
	defer d.Close()

	content, err := os.ReadFile(bin)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	testImage = testImageRepo + ":" + strings.TrimPrefix(pauseImageRef(content, nil), pauseRepository+":")
	layer, err := singleFileTar("testbin", content)
	if err == nil {
		err = d.importImage(ctx, testImage, layer, []string{`ENTRYPOINT ["/testbin"]`, `CMD ["sleep"]`, `ENV TESTBIN=1`, `WORKDIR /`})
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "importing the test image: %v\n", err)
		return 1
	}

	code := m.Run()

	// Sweep: containers a failed test left, the shared network, images.
	cleanupCtx, cancelCleanup := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancelCleanup()
	if left, err := d.List(cleanupCtx, map[string]string{runLabel: runID}); err == nil {
		for _, c := range left {
			d.Remove(cleanupCtx, c.ID)
		}
	}
	if testNet.ID != "" {
		if err := hostnet.RemoveVPC(testNet.ID, testNet.CIDR); err != nil {
			fmt.Fprintf(os.Stderr, "remove the test VPC: %v\n", err)
		}
	}
	for _, ref := range []string{testImage, d.pauseImage} {
		d.client.ImageRemove(cleanupCtx, ref, image.RemoveOptions{Force: true, PruneChildren: true})
	}
	return code
}

// needDocker skips integration tests without Docker and returns the
// driver.
func needDocker(t *testing.T) *Driver {
	t.Helper()
	if testDriver == nil {
		t.Skip(skipReason)
	}
	return testDriver
}

func testContext(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// uniqueName returns a container name unique to this run and test.
func uniqueName(t *testing.T, what string) string {
	name := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '.' || r == '-' {
			return r
		}
		return '-'
	}, t.Name())
	return fmt.Sprintf("berthtest-%s-%s-%s", runID, strings.ToLower(name), what)
}

// create creates a testbin container from spec (Image, Name and the run
// label filled in) and removes it when the test ends.
func create(t *testing.T, spec runtime.ContainerSpec) runtime.Container {
	t.Helper()
	d := needDocker(t)
	if spec.Image == "" {
		spec.Image = testImage
	}
	if spec.Labels == nil {
		spec.Labels = map[string]string{}
	}
	spec.Labels[runLabel] = runID
	ctx := testContext(t, 30*time.Second)
	c, err := d.Create(ctx, spec)
	if err != nil {
		t.Fatalf("create %s: %v", spec.Name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := d.Remove(ctx, c.ID); err != nil && !errors.Is(err, runtime.ErrNotFound) {
			t.Errorf("remove %s: %v", spec.Name, err)
		}
	})
	return c
}

// run creates and starts a testbin container.
func run(t *testing.T, spec runtime.ContainerSpec) runtime.Container {
	t.Helper()
	c := create(t, spec)
	if err := testDriver.Start(testContext(t, 30*time.Second), c.ID); err != nil {
		t.Fatalf("start %s: %v", spec.Name, err)
	}
	return c
}

// waitFor polls Inspect until cond holds or timeout passes.
func waitFor(t *testing.T, id string, timeout time.Duration, what string, cond func(runtime.Container) bool) runtime.Container {
	t.Helper()
	ctx := testContext(t, timeout+5*time.Second)
	deadline := time.Now().Add(timeout)
	for {
		c, err := testDriver.Inspect(ctx, id)
		if err != nil {
			t.Fatalf("inspect %s: %v", id, err)
		}
		if cond(c) {
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not %s after %v (state %+v)", id[:12], what, timeout, c)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func waitExited(t *testing.T, id string, timeout time.Duration) runtime.Container {
	t.Helper()
	return waitFor(t, id, timeout, "exited", func(c runtime.Container) bool { return c.Exited })
}

// logs returns a container's stdout and stderr.
func logs(t *testing.T, id string) string {
	t.Helper()
	rc, err := testDriver.client.ContainerLogs(testContext(t, 10*time.Second), id, container.LogsOptions{ShowStdout: true, ShowStderr: true})
	if err != nil {
		t.Fatalf("logs %s: %v", id, err)
	}
	defer rc.Close()
	var out bytes.Buffer
	if _, err := stdcopy.StdCopy(&out, &out, rc); err != nil {
		t.Fatalf("logs %s: %v", id, err)
	}
	return out.String()
}

// testVPC makes the VPC the networking tests share: a run-unique id, a
// /16 of 10.208.0.0/12 that no route of the host touches, one /24 subnet,
// and the metadata address on the host.
func testVPC(t *testing.T) hostnet.VPC {
	t.Helper()
	needDocker(t)
	vpcOnce.Do(func() {
		out, err := exec.Command("ip", "-4", "route", "show", "table", "all").Output()
		if err != nil {
			vpcErr = err
			return
		}
		for i := 208; i < 224 && testNet.ID == ""; i++ {
			if strings.Contains(string(out), fmt.Sprintf("10.%d.", i)) {
				continue
			}
			testNet = hostnet.VPC{
				ID:      "vpc-" + runID + "0000000000a",
				CIDR:    netip.MustParsePrefix(fmt.Sprintf("10.%d.0.0/16", i)),
				Subnets: []netip.Prefix{netip.MustParsePrefix(fmt.Sprintf("10.%d.1.0/24", i))},
			}
		}
		if testNet.ID == "" {
			vpcErr = errors.New("no free /16 in 10.208.0.0/12")
			return
		}
		if vpcErr = hostnet.EnsureVPC(testNet); vpcErr == nil {
			vpcErr = hostnet.EnsureLocalAddress(netip.MustParsePrefix("169.254.170.2/32"))
		}
	})
	if vpcErr != nil {
		t.Fatalf("test VPC: %v", vpcErr)
	}
	return testNet
}

// holder creates a network holder with an interface in the test VPC (its
// IPAddress set to the interface's address) and removes it when the test
// ends.
func holder(t *testing.T, spec runtime.HolderSpec) runtime.Container {
	t.Helper()
	d := needDocker(t)
	vpc := testVPC(t)
	if spec.Name == "" {
		spec.Name = uniqueName(t, "pause")
	}
	if spec.Labels == nil {
		spec.Labels = map[string]string{}
	}
	spec.Labels[runLabel] = runID
	h, err := d.CreateNetworkHolder(testContext(t, 60*time.Second), spec)
	if err != nil {
		t.Fatalf("CreateNetworkHolder: %v", err)
	}
	n := nextHost.Add(1)
	subnet := vpc.Subnets[0]
	addr := subnet.Addr().As4()
	addr[3] = byte(10 + n)
	iface := hostnet.Interface{ID: fmt.Sprintf("eni-%s%011d", runID, n), VPC: vpc.ID, Address: netip.PrefixFrom(netip.AddrFrom4(addr), subnet.Bits())}
	if err := hostnet.Attach(h.Pid, iface); err != nil {
		t.Fatalf("attach the holder's interface: %v", err)
	}
	h.IPAddress = iface.Address.Addr().String()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := d.Remove(ctx, h.ID); err != nil && !errors.Is(err, runtime.ErrNotFound) {
			t.Errorf("remove holder: %v", err)
		}
	})
	return h
}
