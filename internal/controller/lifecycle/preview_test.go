package lifecycle

import (
	"context"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"github.com/berth/berth/internal/ecr/ecrstate"
	"github.com/berth/berth/internal/store"
)

func (f *fixture) startPreview(t *testing.T, repo string) {
	t.Helper()
	r, err := f.catalog.GetRepository(context.Background(), repoID(repo))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(ecrstate.LifecyclePreview{RepositoryCreatedAt: r.CreatedAt, PolicyText: articlePolicy, Status: ecrstate.PreviewInProgress, StartedAt: f.now()})
	if _, err := f.store.Txn(context.Background(), store.Txn{Then: []store.Op{store.Put(ecrstate.LifecyclePreviewKey(repoID(repo)), b)}}); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) preview(t *testing.T, repo string) ecrstate.LifecyclePreview {
	t.Helper()
	v, err := store.Get[ecrstate.LifecyclePreview](context.Background(), f.store, ecrstate.LifecyclePreviewKey(repoID(repo)))
	if err != nil {
		t.Fatal(err)
	}
	return v.Value
}

// The runner completes the previews in progress when it starts (a server
// restarted with one pending) and those started while it runs; a stale
// one stays as it is, FAILED to every reader.
func TestPreviewsCompleteInBackground(t *testing.T) {
	f := newFixture(t, time.Hour)
	f.articleRepository(t)
	f.createRepo(t, "stale")
	f.startPreview(t, "stale")
	f.advance(ecrstate.PreviewStaleAfter)
	f.startPreview(t, "my-app") // pending before the runner starts

	runUntilCleanup(t, NewPreviews(PreviewConfig{Catalog: f.catalog, Store: f.store, Now: f.now, Logger: slog.New(slog.DiscardHandler)}).Run)
	waitFor(t, "the pending preview to complete", func() bool { return f.preview(t, "my-app").Status == ecrstate.PreviewComplete })
	if p := f.preview(t, "my-app"); len(p.Results) != 4 {
		t.Fatalf("the article's policy expires 4 images, the preview shows %d: %+v", len(p.Results), p.Results)
	}

	f.createRepo(t, "later")
	f.push(t, "later", "one image", "v1")
	f.startPreview(t, "later")
	waitFor(t, "a preview started while running to complete", func() bool { return f.preview(t, "later").Status == ecrstate.PreviewComplete })

	if p := f.preview(t, "stale"); p.Status != ecrstate.PreviewInProgress || p.StatusAt(f.now()) != ecrstate.PreviewFailed {
		t.Fatalf("stale preview: %+v", p)
	}
	if got := f.counter(t, "berth_ecr_lifecycle_images_expired_total", ""); got != 0 {
		t.Fatalf("previews expired %v images", got)
	}
}
