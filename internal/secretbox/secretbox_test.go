package secretbox

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestSealOpen(t *testing.T) {
	dir := t.TempDir()
	box, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	sealed := box.Seal([]byte("hunter2"), "secret/a")
	if bytes.Contains(sealed, []byte("hunter2")) {
		t.Fatal("plaintext visible in the sealed value")
	}
	again, err := Load(dir) // the same key from the file
	if err != nil {
		t.Fatal(err)
	}
	plain, err := again.Open(sealed, "secret/a")
	if err != nil || string(plain) != "hunter2" {
		t.Fatalf("open: %q %v", plain, err)
	}
	if _, err := again.Open(sealed, "secret/b"); !errors.Is(err, ErrOpen) {
		t.Fatalf("another context opened: %v", err)
	}
	sealed[len(sealed)-1] ^= 1
	if _, err := again.Open(sealed, "secret/a"); !errors.Is(err, ErrOpen) {
		t.Fatalf("damaged value opened: %v", err)
	}
	if _, err := again.Open([]byte{1, 2}, "secret/a"); !errors.Is(err, ErrOpen) {
		t.Fatalf("short value: %v", err)
	}
	fi, err := os.Stat(filepath.Join(dir, KeyFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", fi, err)
	}
}

func TestBadKeyFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, KeyFile), []byte("c2hvcnQ=\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(dir); err == nil {
		t.Fatal("a short key was accepted")
	}
}
