package logdata

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// fdatasync is fsync without the metadata a read does not need (mtime);
// the file size, which appends change, is still synced.
func fdatasync(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		for {
			serr = syscall.Fdatasync(int(fd))
			if serr != syscall.EINTR {
				return
			}
		}
	}); err != nil {
		return err
	}
	if serr != nil {
		return &os.PathError{Op: "fdatasync", Path: f.Name(), Err: serr}
	}
	return nil
}

// lockDir takes an exclusive lock on dir/LOCK so that a second Store, in
// this process or another, cannot open dir and corrupt it.
func lockDir(dir string) (unlock func(), err error) {
	f, err := os.OpenFile(filepath.Join(dir, "LOCK"), os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("logdata: %s is in use by another store: %w", dir, err)
	}
	return func() { f.Close() }, nil
}
