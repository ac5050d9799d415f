package docker

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/berth/berth/internal/runtime"
)

// Task-level limits live in a cgroup parent, /berth/<task id>, that the
// task's containers are created under; the kernel then caps the task as a
// whole, whatever the containers' own limits. This file holds the cgroupfs
// logic with the hierarchy root as a parameter, so it is testable on a
// temporary directory.

// cgroupParentDir is the directory, under each hierarchy, of all task
// cgroups.
const cgroupParentDir = "berth"

// cpuPeriodMicros is the CFS period task CPU quotas are expressed in.
const cpuPeriodMicros = 100000

// minCPUQuotaMicros is the kernel's smallest CFS quota.
const minCPUQuotaMicros = 1000

// taskCgroupParent is the cgroup parent given to Docker for a task.
func taskCgroupParent(taskID string) string {
	return "/" + cgroupParentDir + "/" + taskID
}

// validTaskID keeps task ids to a single, harmless path element.
func validTaskID(taskID string) error {
	if taskID == "" || taskID == "." || taskID == ".." || strings.ContainsAny(taskID, "/\\\x00") {
		return fmt.Errorf("invalid task id %q for a cgroup", taskID)
	}
	return nil
}

// cpuQuotaMicros converts ECS CPU units (1024 = one core) to a CFS quota per
// cpuPeriodMicros.
func cpuQuotaMicros(units int64) int64 {
	q := units * cpuPeriodMicros / 1024
	return max(q, minCPUQuotaMicros)
}

// applyTaskCgroupV1 creates the task's memory and cpu cgroups under root
// (where the v1 hierarchies are mounted, normally /sys/fs/cgroup) and writes
// the limits; a zero limit is left unset.
func applyTaskCgroupV1(root, taskID string, res runtime.TaskResources) error {
	if err := validTaskID(taskID); err != nil {
		return err
	}
	memDir := filepath.Join(root, "memory", cgroupParentDir, taskID)
	if err := os.MkdirAll(memDir, 0o755); err != nil {
		return err
	}
	if res.MemoryMiB > 0 {
		if err := setMemoryLimitV1(memDir, res.MemoryMiB<<20, writeCgroupFile); err != nil {
			return err
		}
	}
	cpuDir := filepath.Join(root, "cpu", cgroupParentDir, taskID)
	if err := os.MkdirAll(cpuDir, 0o755); err != nil {
		return err
	}
	if res.CPUUnits > 0 {
		if err := writeCgroupFile(cpuDir, "cpu.cfs_period_us", strconv.Itoa(cpuPeriodMicros)); err != nil {
			return err
		}
		if err := writeCgroupFile(cpuDir, "cpu.cfs_quota_us", strconv.FormatInt(cpuQuotaMicros(res.CPUUnits), 10)); err != nil {
			return err
		}
	}
	return nil
}

// setMemoryLimitV1 sets memory.limit_in_bytes and, where swap accounting
// exists, memory.memsw.limit_in_bytes to the same value (no swap beyond
// the limit), through write. The kernel wants memsw >= memory at every
// moment, so when raising memsw goes first and when lowering it goes last.
func setMemoryLimitV1(dir string, limit int64, write func(dir, name, value string) error) error {
	value := strconv.FormatInt(limit, 10)
	if _, err := os.Stat(filepath.Join(dir, "memory.memsw.limit_in_bytes")); err != nil {
		return write(dir, "memory.limit_in_bytes", value)
	}
	current, err := readCgroupInt(dir, "memory.limit_in_bytes")
	if err != nil {
		return err
	}
	order := []string{"memory.limit_in_bytes", "memory.memsw.limit_in_bytes"}
	if limit > current {
		order[0], order[1] = order[1], order[0]
	}
	for _, name := range order {
		if err := write(dir, name, value); err != nil {
			return err
		}
	}
	return nil
}

// applyTaskCgroupV2 creates the task's cgroup under root (the unified
// hierarchy, normally /sys/fs/cgroup), enables the cpu and memory
// controllers for it and writes the limits; a zero limit is left unset.
func applyTaskCgroupV2(root, taskID string, res runtime.TaskResources) error {
	if err := validTaskID(taskID); err != nil {
		return err
	}
	parent := filepath.Join(root, cgroupParentDir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return err
	}
	for _, dir := range []string{root, parent} {
		if err := enableControllersV2(dir, "cpu", "memory"); err != nil {
			return err
		}
	}
	dir := filepath.Join(parent, taskID)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if res.MemoryMiB > 0 {
		if err := writeCgroupFile(dir, "memory.max", strconv.FormatInt(res.MemoryMiB<<20, 10)); err != nil {
			return err
		}
		// As on v1: the limit is the task's memory, not memory plus swap.
		if _, err := os.Stat(filepath.Join(dir, "memory.swap.max")); err == nil {
			if err := writeCgroupFile(dir, "memory.swap.max", "0"); err != nil {
				return err
			}
		}
	}
	if res.CPUUnits > 0 {
		value := fmt.Sprintf("%d %d", cpuQuotaMicros(res.CPUUnits), cpuPeriodMicros)
		if err := writeCgroupFile(dir, "cpu.max", value); err != nil {
			return err
		}
	}
	return nil
}

// enableControllersV2 adds the controllers missing from dir's
// cgroup.subtree_control.
func enableControllersV2(dir string, controllers ...string) error {
	current, err := os.ReadFile(filepath.Join(dir, "cgroup.subtree_control"))
	if err != nil {
		return err
	}
	enabled := map[string]bool{}
	for _, c := range strings.Fields(string(current)) {
		enabled[c] = true
	}
	var missing []string
	for _, c := range controllers {
		if !enabled[c] {
			missing = append(missing, "+"+c)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return writeCgroupFile(dir, "cgroup.subtree_control", strings.Join(missing, " "))
}

// releaseTaskCgroupV1 removes the task's cgroup from every v1 hierarchy
// under root: Docker's runtime creates /berth/<task> in all of them (cpuset,
// pids, blkio, ...), not only in those we wrote limits to.
func releaseTaskCgroupV1(ctx context.Context, root, taskID string) error {
	if err := validTaskID(taskID); err != nil {
		return err
	}
	entries, err := os.ReadDir(root)
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range entries {
		// Hierarchies are directories or, for co-mounted ones such as
		// cpu,cpuacct, symlinks to them; removing twice is harmless.
		dir := filepath.Join(root, e.Name(), cgroupParentDir, taskID)
		if err := removeCgroupTree(ctx, dir); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// releaseTaskCgroupV2 removes the task's cgroup from the unified hierarchy.
func releaseTaskCgroupV2(ctx context.Context, root, taskID string) error {
	if err := validTaskID(taskID); err != nil {
		return err
	}
	return removeCgroupTree(ctx, filepath.Join(root, cgroupParentDir, taskID))
}

// removeCgroupTree removes a cgroup directory and its child cgroups,
// deepest first (a cgroup directory goes with rmdir, its control files
// with it). A cgroup whose processes are still exiting is busy for a
// moment, so EBUSY is retried briefly.
func removeCgroupTree(ctx context.Context, dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			return nil
		}
		return err
	}
	for _, e := range entries {
		if e.IsDir() {
			if err := removeCgroupTree(ctx, filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	const attempts = 20
	for i := 0; ; i++ {
		err := syscall.Rmdir(dir)
		switch {
		case err == nil || errors.Is(err, syscall.ENOENT):
			return nil
		case errors.Is(err, syscall.EBUSY) && i < attempts:
			select {
			case <-ctx.Done():
				return fmt.Errorf("remove cgroup %s: %w", dir, ctx.Err())
			case <-time.After(100 * time.Millisecond):
			}
		default:
			return fmt.Errorf("remove cgroup %s: %w", dir, err)
		}
	}
}

// writeCgroupFile writes a control file; cgroupfs files exist once the
// directory does, so the file is never created.
func writeCgroupFile(dir, name, value string) error {
	f, err := os.OpenFile(filepath.Join(dir, name), os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(value); err != nil {
		f.Close()
		return fmt.Errorf("write %s to %s: %w", value, f.Name(), err)
	}
	return f.Close()
}

func readCgroupInt(dir, name string) (int64, error) {
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return 0, err
	}
	s := strings.TrimSpace(string(b))
	if s == "max" {
		return int64(^uint64(0) >> 1), nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("read %s/%s: %w", dir, name, err)
	}
	return v, nil
}

// SetTaskResources applies task-level CPU and memory limits through the
// cgroup parent /berth/<taskID> and returns it. With the systemd cgroup
// driver it returns "" (Docker wants a slice there, which berth does not
// manage); container-level limits still apply.
func (d *Driver) SetTaskResources(ctx context.Context, taskID string, res runtime.TaskResources) (string, error) {
	driver, version, err := d.cgroupSetup(ctx)
	if err != nil {
		return "", err
	}
	if driver != "cgroupfs" {
		d.cgroupMu.Lock()
		warned := d.systemdWarned
		d.systemdWarned = true
		d.cgroupMu.Unlock()
		if !warned {
			d.log.WarnContext(ctx, "task-level CPU and memory limits are not applied with this Docker cgroup driver; container limits still are", "cgroupDriver", driver)
		}
		return "", nil
	}
	switch version {
	case "2":
		err = applyTaskCgroupV2(d.cgroupRoot, taskID, res)
	default:
		err = applyTaskCgroupV1(d.cgroupRoot, taskID, res)
	}
	if err != nil {
		return "", fmt.Errorf("docker: task cgroup for %s: %w", taskID, err)
	}
	return taskCgroupParent(taskID), nil
}

// ReleaseTaskResources removes the task's cgroups, once its containers are
// gone. It is not an error if there are none.
func (d *Driver) ReleaseTaskResources(ctx context.Context, taskID string) error {
	driver, version, err := d.cgroupSetup(ctx)
	if err != nil {
		return err
	}
	if driver != "cgroupfs" {
		return nil
	}
	switch version {
	case "2":
		err = releaseTaskCgroupV2(ctx, d.cgroupRoot, taskID)
	default:
		err = releaseTaskCgroupV1(ctx, d.cgroupRoot, taskID)
	}
	if err != nil {
		return fmt.Errorf("docker: release task cgroup for %s: %w", taskID, err)
	}
	return nil
}

// cgroupSetup returns the daemon's cgroup driver and version, asking the
// daemon once (again after a failure).
func (d *Driver) cgroupSetup(ctx context.Context) (driver, version string, err error) {
	d.cgroupMu.Lock()
	defer d.cgroupMu.Unlock()
	if d.cgroupQueried {
		return d.cgroupDriver, d.cgroupVersion, nil
	}
	info, err := d.client.Info(ctx)
	if err != nil {
		return "", "", fmt.Errorf("docker: info: %w", err)
	}
	d.cgroupDriver, d.cgroupVersion = info.CgroupDriver, info.CgroupVersion
	if d.cgroupVersion == "" {
		d.cgroupVersion = "1" // daemons before API 1.40 did not say
	}
	d.cgroupQueried = true
	d.log.InfoContext(ctx, "docker cgroup setup", "cgroupDriver", d.cgroupDriver, "cgroupVersion", d.cgroupVersion)
	return d.cgroupDriver, d.cgroupVersion, nil
}
