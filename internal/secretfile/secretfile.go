// Package secretfile keeps the secrets berth creates on its first start
// (the blob encryption key, the registry token key, the admin access key,
// the agent token) in files of their own in the data dir: created once,
// mode 0600, atomically and durably, and read back ever after.
package secretfile

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// LoadOrCreate returns the content of the secret file at path. When there
// is none it writes generate's content there first: in a directory made
// with mode 0700 if missing, through a temporary file (mode 0600) that is
// synced, linked into place and its directory synced, so the file appears
// whole or not at all and survives a crash once this returns. Linking,
// unlike renaming, never replaces a file: when two processes race, both
// end up with the first one's secret. check validates the content read
// (nil accepts anything non-empty).
func LoadOrCreate(path string, generate func() ([]byte, error), check func([]byte) error) ([]byte, error) {
	if content, err := read(path, check); !errors.Is(err, fs.ErrNotExist) {
		return content, err
	}
	content, err := generate()
	if err != nil {
		return nil, fmt.Errorf("secret %s: %w", path, err)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*") // mode 0600
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(content)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return read(path, check)
		}
		return nil, err
	}
	if err := syncDir(dir); err != nil {
		return nil, err
	}
	return content, nil
}

func read(path string, check func([]byte) error) ([]byte, error) {
	content, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if check == nil {
		if len(content) == 0 {
			return nil, fmt.Errorf("secret file %s is empty", path)
		}
		return content, nil
	}
	if err := check(content); err != nil {
		return nil, fmt.Errorf("secret file %s: %w", path, err)
	}
	return content, nil
}

// Token returns the hex token in the secret file at path, creating one of
// 32 random bytes on first use.
func Token(path string) (string, error) {
	content, err := LoadOrCreate(path, func() ([]byte, error) {
		return []byte(hex.EncodeToString(RandomBytes(32)) + "\n"), nil
	}, func(b []byte) error {
		if strings.TrimSpace(string(b)) == "" {
			return errors.New("no token")
		}
		return nil
	})
	return strings.TrimSpace(string(content)), err
}

// RandomBytes returns n bytes from crypto/rand, which never fails on Linux.
func RandomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
