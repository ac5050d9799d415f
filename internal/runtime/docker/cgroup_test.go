package docker

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berth/berth/internal/runtime"
)

// fakeCgroupDir makes dir with control files holding the given contents, as
// the kernel would on mkdir.
func fakeCgroupDir(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

const unlimitedV1 = "9223372036854771712"

func TestApplyTaskCgroupV1(t *testing.T) {
	tests := []struct {
		name       string
		res        runtime.TaskResources
		memsw      bool
		wantMem    string // "" = untouched
		wantQuota  string
		wantPeriod string
	}{
		{name: "both limits with swap accounting", res: runtime.TaskResources{CPUUnits: 512, MemoryMiB: 32}, memsw: true,
			wantMem: "33554432", wantQuota: "50000", wantPeriod: "100000"},
		{name: "both limits without swap accounting", res: runtime.TaskResources{CPUUnits: 2048, MemoryMiB: 1}, memsw: false,
			wantMem: "1048576", wantQuota: "200000", wantPeriod: "100000"},
		{name: "memory only", res: runtime.TaskResources{MemoryMiB: 512}, memsw: true, wantMem: "536870912"},
		{name: "cpu only, tiny quota clamped", res: runtime.TaskResources{CPUUnits: 2}, wantQuota: "1000", wantPeriod: "100000"},
		{name: "no limits", res: runtime.TaskResources{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			memDir := filepath.Join(root, "memory", "berth", "task1")
			cpuDir := filepath.Join(root, "cpu", "berth", "task1")
			memFiles := map[string]string{"memory.limit_in_bytes": unlimitedV1}
			if tt.memsw {
				memFiles["memory.memsw.limit_in_bytes"] = unlimitedV1
			}
			fakeCgroupDir(t, memDir, memFiles)
			fakeCgroupDir(t, cpuDir, map[string]string{"cpu.cfs_quota_us": "-1", "cpu.cfs_period_us": "100000"})

			if err := applyTaskCgroupV1(root, "task1", tt.res); err != nil {
				t.Fatal(err)
			}
			wantMem := tt.wantMem
			if wantMem == "" {
				wantMem = unlimitedV1
			}
			if got := readFile(t, filepath.Join(memDir, "memory.limit_in_bytes")); got != wantMem {
				t.Errorf("memory.limit_in_bytes = %q, want %q", got, wantMem)
			}
			if tt.memsw {
				if got := readFile(t, filepath.Join(memDir, "memory.memsw.limit_in_bytes")); got != wantMem {
					t.Errorf("memory.memsw.limit_in_bytes = %q, want %q", got, wantMem)
				}
			} else if _, err := os.Stat(filepath.Join(memDir, "memory.memsw.limit_in_bytes")); err == nil {
				t.Error("memory.memsw.limit_in_bytes was created")
			}
			wantQuota, wantPeriod := tt.wantQuota, tt.wantPeriod
			if wantQuota == "" {
				wantQuota, wantPeriod = "-1", "100000"
			}
			if got := readFile(t, filepath.Join(cpuDir, "cpu.cfs_quota_us")); got != wantQuota {
				t.Errorf("cpu.cfs_quota_us = %q, want %q", got, wantQuota)
			}
			if got := readFile(t, filepath.Join(cpuDir, "cpu.cfs_period_us")); got != wantPeriod {
				t.Errorf("cpu.cfs_period_us = %q, want %q", got, wantPeriod)
			}
		})
	}
}

// TestSetMemoryLimitV1Order replays the kernel's rule that memory may
// never exceed memory+swap after any single write.
func TestSetMemoryLimitV1Order(t *testing.T) {
	dir := t.TempDir()
	fakeCgroupDir(t, dir, map[string]string{
		"memory.limit_in_bytes":       "33554432",
		"memory.memsw.limit_in_bytes": "33554432",
	})
	var writes []string
	kernelWrite := func(dir, name, value string) error {
		writes = append(writes, name)
		if err := writeCgroupFile(dir, name, value); err != nil {
			return err
		}
		mem, _ := readCgroupInt(dir, "memory.limit_in_bytes")
		memsw, _ := readCgroupInt(dir, "memory.memsw.limit_in_bytes")
		if mem > memsw {
			return fmt.Errorf("write %s=%s: memory %d > memsw %d: invalid argument", name, value, mem, memsw)
		}
		return nil
	}
	for _, limit := range []int64{64 << 20, 16 << 20, 16 << 20, 1 << 30} {
		writes = nil
		if err := setMemoryLimitV1(dir, limit, kernelWrite); err != nil {
			t.Fatalf("limit %d: %v", limit, err)
		}
		if len(writes) != 2 {
			t.Errorf("limit %d: writes %v, want both files", limit, writes)
		}
		for _, f := range []string{"memory.limit_in_bytes", "memory.memsw.limit_in_bytes"} {
			if got, _ := readCgroupInt(dir, f); got != limit {
				t.Errorf("limit %d: %s = %d", limit, f, got)
			}
		}
	}
}

func TestApplyTaskCgroupV2(t *testing.T) {
	root := t.TempDir()
	fakeCgroupDir(t, root, map[string]string{"cgroup.subtree_control": "cpu io"})
	fakeCgroupDir(t, filepath.Join(root, "berth"), map[string]string{"cgroup.subtree_control": ""})
	taskDir := filepath.Join(root, "berth", "task2")
	fakeCgroupDir(t, taskDir, map[string]string{"memory.max": "max", "memory.swap.max": "max", "cpu.max": "max 100000"})

	if err := applyTaskCgroupV2(root, "task2", runtime.TaskResources{CPUUnits: 256, MemoryMiB: 64}); err != nil {
		t.Fatal(err)
	}
	// Writing "+memory" to a real subtree_control adds to what is enabled;
	// a plain file just holds the last write.
	if got := readFile(t, filepath.Join(root, "cgroup.subtree_control")); got != "+memory" {
		t.Errorf("root subtree_control write = %q, want %q", got, "+memory")
	}
	if got := readFile(t, filepath.Join(root, "berth", "cgroup.subtree_control")); got != "+cpu +memory" {
		t.Errorf("berth subtree_control write = %q, want %q", got, "+cpu +memory")
	}
	for file, want := range map[string]string{"memory.max": "67108864", "memory.swap.max": "0", "cpu.max": "25000 100000"} {
		if got := readFile(t, filepath.Join(taskDir, file)); got != want {
			t.Errorf("%s = %q, want %q", file, got, want)
		}
	}
}

func TestApplyTaskCgroupRejectsBadTaskID(t *testing.T) {
	root := t.TempDir()
	for _, id := range []string{"", ".", "..", "a/b", "../x"} {
		if err := applyTaskCgroupV1(root, id, runtime.TaskResources{MemoryMiB: 1}); err == nil {
			t.Errorf("v1 accepted task id %q", id)
		}
		if err := applyTaskCgroupV2(root, id, runtime.TaskResources{MemoryMiB: 1}); err == nil {
			t.Errorf("v2 accepted task id %q", id)
		}
	}
	entries, _ := os.ReadDir(root)
	if len(entries) != 0 {
		t.Errorf("bad task ids created %d entries", len(entries))
	}
}

func TestReleaseTaskCgroupV1(t *testing.T) {
	root := t.TempDir()
	// Empty task cgroups (a real cgroup directory is removable while it
	// holds only control files; plain directories must be empty).
	for _, h := range []string{"memory", "cpu", "pids", "cpuset"} {
		if err := os.MkdirAll(filepath.Join(root, h, "berth", "task3", "leftover-container"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(root, "memory", "berth", "other"), 0o755); err != nil {
		t.Fatal(err)
	}
	// A co-mounted hierarchy reached through a symlink, and a stray file.
	if err := os.Symlink(filepath.Join(root, "cpu"), filepath.Join(root, "cpu,cpuacct")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "stray"), nil, 0o644); err != nil {
		t.Fatal(err)
	}

	if err := releaseTaskCgroupV1(context.Background(), root, "task3"); err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"memory", "cpu", "pids", "cpuset"} {
		if _, err := os.Stat(filepath.Join(root, h, "berth", "task3")); !os.IsNotExist(err) {
			t.Errorf("%s/berth/task3 still there (%v)", h, err)
		}
	}
	if _, err := os.Stat(filepath.Join(root, "memory", "berth", "other")); err != nil {
		t.Errorf("another task's cgroup was touched: %v", err)
	}
	// Releasing again is fine.
	if err := releaseTaskCgroupV1(context.Background(), root, "task3"); err != nil {
		t.Errorf("second release: %v", err)
	}
}

func TestReleaseTaskCgroupV2(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "berth", "task4"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := releaseTaskCgroupV2(context.Background(), root, "task4"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "berth", "task4")); !os.IsNotExist(err) {
		t.Errorf("berth/task4 still there (%v)", err)
	}
	if err := releaseTaskCgroupV2(context.Background(), root, "missing"); err != nil {
		t.Errorf("release of a missing cgroup: %v", err)
	}
}

func TestReleaseReportsNonEmptyDir(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "berth", "task5")
	fakeCgroupDir(t, dir, map[string]string{"not-a-cgroup-file": "x"})
	err := releaseTaskCgroupV2(context.Background(), root, "task5")
	if err == nil || !strings.Contains(err.Error(), "task5") {
		t.Errorf("err = %v, want one naming the cgroup", err)
	}
}
