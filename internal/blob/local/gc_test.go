package local

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/berth/berth/internal/blob"
	"github.com/opencontainers/go-digest"
)

// fakeClock is a settable clock for use times.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

func newClockedStore(t *testing.T) (*Store, *fakeClock, string) {
	t.Helper()
	clock := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	dir := t.TempDir()
	s, err := open(dir, Options{Key: testKey, Now: clock.now}, 64)
	if err != nil {
		t.Fatal(err)
	}
	return s, clock, dir
}

func usedAt(t *testing.T, s *Store, d digest.Digest) time.Time {
	t.Helper()
	var at time.Time
	found := false
	if err := s.Walk(context.Background(), func(b blob.Info) error {
		if b.Digest == d {
			at, found = b.UsedAt, true
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if !found {
		t.Fatalf("Walk does not list %s", d)
	}
	return at
}

func TestUseTimesAndGuardedDelete(t *testing.T) {
	ctx := context.Background()
	s, clock, _ := newClockedStore(t)
	rng := rand.New(rand.NewPCG(1, 2))
	data := randBytes(rng, 300)
	t0 := clock.now()

	// A session last written long before its commit: the blob's use time
	// is the commit's.
	up, err := s.NewUpload(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := up.WriteAt(ctx, bytes.NewReader(data), 0); err != nil {
		t.Fatal(err)
	}
	clock.set(t0.Add(time.Hour))
	d := digest.FromBytes(data)
	if _, err := up.Commit(ctx, d); err != nil {
		t.Fatal(err)
	}
	if got := usedAt(t, s, d); !got.Equal(t0.Add(time.Hour)) {
		t.Fatalf("UsedAt after commit = %v, want %v", got, t0.Add(time.Hour))
	}

	// Committing the same content again refreshes it.
	clock.set(t0.Add(2 * time.Hour))
	put(t, s, rng, data)
	if got := usedAt(t, s, d); !got.Equal(t0.Add(2 * time.Hour)) {
		t.Fatalf("UsedAt after second commit = %v", got)
	}
	// So does Refresh, which reports the size.
	clock.set(t0.Add(3 * time.Hour))
	if n, err := s.Refresh(ctx, d); err != nil || n != int64(len(data)) {
		t.Fatalf("Refresh = %d, %v", n, err)
	}
	if got := usedAt(t, s, d); !got.Equal(t0.Add(3 * time.Hour)) {
		t.Fatalf("UsedAt after Refresh = %v", got)
	}

	for _, tc := range []struct {
		since time.Time
		want  error
	}{
		{t0.Add(3 * time.Hour), blob.ErrRecentlyUsed}, // used exactly at the cutoff
		{t0.Add(2 * time.Hour), blob.ErrRecentlyUsed},
		{t0.Add(3*time.Hour + time.Second), nil},
		{t0.Add(4 * time.Hour), blob.ErrNotFound},
	} {
		if err := s.DeleteUnusedSince(ctx, d, tc.since); !errors.Is(err, tc.want) {
			t.Fatalf("DeleteUnusedSince(%v) = %v, want %v", tc.since, err, tc.want)
		}
	}
	if _, err := s.Refresh(ctx, d); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("Refresh of a deleted blob = %v", err)
	}
	if _, err := s.Refresh(ctx, "sha256:zz"); err == nil {
		t.Fatal("Refresh accepted a bad digest")
	}
}

func TestExpireUploads(t *testing.T) {
	ctx := context.Background()
	s, clock, dir := newClockedStore(t)
	t0 := clock.now()
	idle, err := s.NewUpload(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := idle.WriteAt(ctx, bytes.NewReader([]byte("abc")), 0); err != nil {
		t.Fatal(err)
	}
	clock.set(t0.Add(time.Hour))
	fresh, err := s.NewUpload(ctx)
	if err != nil {
		t.Fatal(err)
	}
	busy, err := s.NewUpload(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// A file no session owns, old, and one that is new.
	stray := filepath.Join(dir, "uploads", "stray")
	if err := os.WriteFile(stray, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(stray, t0, t0); err != nil {
		t.Fatal(err)
	}
	newStray := filepath.Join(dir, "uploads", "new-stray")
	if err := os.WriteFile(newStray, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(newStray, t0.Add(time.Hour), t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	clock.set(t0.Add(2 * time.Hour))
	// busy is in a write: it holds its lock.
	busy.(*upload).mu.Lock()
	busy.(*upload).active.Store(t0.UnixNano())

	cutoff := t0.Add(30 * time.Minute)
	for _, dryRun := range []bool{true, false} {
		got, err := s.ExpireUploads(ctx, cutoff, dryRun)
		if err != nil {
			t.Fatal(err)
		}
		ids := map[string]blob.UploadInfo{}
		for _, u := range got {
			ids[u.ID] = u
		}
		if len(ids) != 2 || ids[idle.ID()].Size != 3 || !ids[idle.ID()].StartedAt.Equal(t0) || !ids[idle.ID()].ActiveAt.Equal(t0) {
			t.Fatalf("dryRun=%v: expired %+v, want %s (3 bytes) and stray", dryRun, got, idle.ID())
		}
		if _, ok := ids["stray"]; !ok {
			t.Fatalf("dryRun=%v: stray file not expired: %+v", dryRun, got)
		}
		_, err = s.Upload(ctx, idle.ID())
		if _, statErr := os.Stat(stray); dryRun != (err == nil && statErr == nil) {
			t.Fatalf("dryRun=%v: idle session lookup %v, stray %v", dryRun, err, statErr)
		}
	}
	busy.(*upload).mu.Unlock()
	for _, u := range []blob.Upload{fresh, busy} {
		if _, err := s.Upload(ctx, u.ID()); err != nil {
			t.Fatalf("session %s ended: %v", u.ID(), err)
		}
	}
	if _, err := os.Stat(newStray); err != nil {
		t.Fatalf("new stray file removed: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "uploads", idle.ID())); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("expired session's file: %v", err)
	}
	if _, err := idle.WriteAt(ctx, bytes.NewReader([]byte("d")), 3); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("write to an expired session: %v", err)
	}
}

// TestCommitRacesGuardedDelete commits content that is already stored while
// a collector deletes it as unused: every commit that succeeds leaves the
// blob readable for as long as the collector's cutoff is before the commit.
func TestCommitRacesGuardedDelete(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t, testKey, 64)
	rng := rand.New(rand.NewPCG(3, 4))
	data := randBytes(rng, 1000)
	d := digest.FromBytes(data)
	for range 200 {
		cutoff := time.Now()
		var wg sync.WaitGroup
		wg.Go(func() {
			if err := s.DeleteUnusedSince(ctx, d, cutoff); err != nil && !errors.Is(err, blob.ErrNotFound) && !errors.Is(err, blob.ErrRecentlyUsed) {
				t.Error(err)
			}
		})
		up, err := s.NewUpload(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := up.WriteAt(ctx, bytes.NewReader(data), 0); err != nil {
			t.Fatal(err)
		}
		_, err = up.Commit(ctx, d)
		wg.Wait()
		if err != nil {
			t.Fatal(err)
		}
		// The collector ran before the commit (which then wrote the blob
		// again) or after it (and saw it used since its cutoff).
		if got, err := get(s, d); err != nil || len(got) != len(data) {
			t.Fatalf("blob after commit racing a delete: %d bytes, %v", len(got), err)
		}
	}
}
