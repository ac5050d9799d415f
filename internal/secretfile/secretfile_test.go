package secretfile

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

func TestLoadOrCreate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "secret")
	n := 0
	generate := func() ([]byte, error) { n++; return []byte("first"), nil }
	got, err := LoadOrCreate(path, generate, nil)
	if err != nil || string(got) != "first" {
		t.Fatalf("create: %q, %v", got, err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, %v; want 0600", fi.Mode(), err)
	}
	if di, err := os.Stat(filepath.Dir(path)); err != nil || di.Mode().Perm() != 0o700 {
		t.Fatalf("directory mode %v, %v; want 0700", di.Mode(), err)
	}
	again, err := LoadOrCreate(path, func() ([]byte, error) { return []byte("second"), nil }, nil)
	if err != nil || string(again) != "first" || n != 1 {
		t.Fatalf("reload: %q, %v (generated %d times)", again, err, n)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Fatalf("left behind: %v", entries)
	}
}

func TestLoadOrCreateChecksWhatItReads(t *testing.T) {
	path := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(path, []byte("short"), 0o600); err != nil {
		t.Fatal(err)
	}
	tooShort := errors.New("too short")
	_, err := LoadOrCreate(path, func() ([]byte, error) { return make([]byte, 32), nil }, func(b []byte) error {
		if len(b) != 32 {
			return tooShort
		}
		return nil
	})
	if !errors.Is(err, tooShort) {
		t.Fatalf("err %v, want the check's", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "short" {
		t.Fatalf("the invalid file was replaced: %q", b)
	}
	empty := filepath.Join(t.TempDir(), "empty")
	os.WriteFile(empty, nil, 0o600)
	if _, err := LoadOrCreate(empty, func() ([]byte, error) { return []byte("x"), nil }, nil); err == nil {
		t.Fatal("an empty secret file was accepted")
	}
}

// Racing creators all get the first one's secret.
func TestLoadOrCreateRace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "key")
	const n = 16
	got := make([][]byte, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			b, err := LoadOrCreate(path, func() ([]byte, error) { return RandomBytes(32), nil }, nil)
			if err != nil {
				t.Error(err)
			}
			got[i] = b
		})
	}
	wg.Wait()
	onDisk, _ := os.ReadFile(path)
	for i, b := range got {
		if !bytes.Equal(b, onDisk) {
			t.Fatalf("creator %d got %x, the file holds %x", i, b, onDisk)
		}
	}
}

func TestToken(t *testing.T) {
	path := filepath.Join(t.TempDir(), "token")
	tok, err := Token(path)
	if err != nil || len(tok) != 64 {
		t.Fatalf("token %q, %v", tok, err)
	}
	if again, err := Token(path); err != nil || again != tok {
		t.Fatalf("again %q, %v; want %q", again, err, tok)
	}
}
