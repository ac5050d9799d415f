package docker

import (
	"archive/tar"
	"bytes"
	"context"
	"debug/elf"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/image"

	"github.com/berth/berth/internal/runtime"
)

// dynamicBinary is an executable every Debian has that links libc
// dynamically, as a berth built with cgo does.
const dynamicBinary = "/bin/sleep"

func requireDynamic(t *testing.T, bin string) {
	t.Helper()
	f, err := elf.Open(bin)
	if err != nil {
		t.Skipf("%s: %v", bin, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return
		}
	}
	t.Skipf("%s is statically linked here", bin)
}

func tarFiles(t *testing.T, rootfs []byte) map[string]int64 {
	t.Helper()
	files := map[string]int64{}
	tr := tar.NewReader(bytes.NewReader(rootfs))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			files["/"+h.Name] = h.Size
		}
	}
}

func TestPauseRootfsStatic(t *testing.T) {
	rootfs, env, err := pauseRootfs(testBinPath)
	if err != nil {
		t.Fatal(err)
	}
	if files := tarFiles(t, rootfs); len(files) != 1 || files["/pause"] == 0 || len(env) != 0 {
		t.Fatalf("static binary: files %v env %v, want /pause alone", files, env)
	}
}

// A dynamically linked binary brings its interpreter and every library it
// needs, transitively: what ldd lists.
func TestPauseRootfsDynamic(t *testing.T) {
	requireDynamic(t, dynamicBinary)
	rootfs, env, err := pauseRootfs(dynamicBinary)
	if err != nil {
		t.Fatal(err)
	}
	files := tarFiles(t, rootfs)
	if files["/pause"] == 0 || !slices.Equal(env, []string{"LD_LIBRARY_PATH=" + pauseLibDir}) {
		t.Fatalf("files %v env %v", files, env)
	}
	out, err := exec.Command("ldd", dynamicBinary).Output()
	if err != nil {
		t.Skipf("ldd: %v", err)
	}
	for line := range strings.Lines(string(out)) {
		fields := strings.Fields(line)
		switch {
		case len(fields) >= 3 && fields[1] == "=>": // libc.so.6 => /lib/.../libc.so.6 (0x...)
			if files[pauseLibDir+"/"+fields[0]] == 0 {
				t.Errorf("%s needs %s; the image has %v", dynamicBinary, fields[0], files)
			}
		case len(fields) == 2 && strings.HasPrefix(fields[0], "/"): // the interpreter
			if files[fields[0]] == 0 {
				t.Errorf("the image lacks the interpreter %s: %v", fields[0], files)
			}
		}
	}
}

func TestPauseRootfsMissingBinary(t *testing.T) {
	if _, _, err := pauseRootfs("/nonexistent/berth"); err == nil {
		t.Fatal("no error for a missing binary")
	}
}

// A network holder whose pause binary is dynamically linked runs: the
// image carries the loader and libc.
func TestDynamicPauseBinaryHolder(t *testing.T) {
	requireDynamic(t, dynamicBinary)
	needDocker(t)
	t.Parallel()
	ctx := testContext(t, 60*time.Second)
	d, err := New(ctx, Config{PauseBinary: dynamicBinary, PauseArgs: []string{"infinity"}})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	h, err := d.CreateNetworkHolder(ctx, runtime.HolderSpec{Name: uniqueName(t, "pause"), Labels: map[string]string{runLabel: runID}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		d.Remove(context.Background(), h.ID)
		d.client.ImageRemove(context.Background(), d.pauseImage, image.RemoveOptions{Force: true})
	})
	time.Sleep(time.Second)
	again, err := d.Inspect(ctx, h.ID)
	if err != nil || !again.Running || again.Pid == 0 {
		t.Fatalf("holder of a dynamic pause binary: %+v, %v", again, err)
	}
}
