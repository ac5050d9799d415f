package lifecycle

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/berth/berth/internal/controller"
	"github.com/berth/berth/internal/ecr/ecrstate"
	policies "github.com/berth/berth/internal/ecr/lifecycle"
	"github.com/berth/berth/internal/registry"
	"github.com/berth/berth/internal/store"
)

// PreviewConfig wires the preview runner.
type PreviewConfig struct {
	Catalog *registry.Catalog
	// Store is the catalog's store, where previews are recorded.
	Store store.Store
	// Now is the clock previews are evaluated at and go stale by (nil:
	// time.Now).
	Now    func() time.Time
	Logger *slog.Logger
	// Registerer takes the runner's metrics (nil: none registered).
	Registerer prometheus.Registerer
}

// Previews completes lifecycle policy previews: StartLifecyclePolicyPreview
// records one IN_PROGRESS and answers at once, as ECR does; Previews
// evaluates it over the repository's images as they are when it runs, and
// records the result (COMPLETE, or FAILED for a policy that no longer
// evaluates). The record in the store is the work
// list, so a preview interrupted by a restart completes after it, unless
// it went stale meanwhile (ecrstate.PreviewStaleAfter: FAILED).
type Previews struct {
	cfg PreviewConfig
	log *slog.Logger
}

// NewPreviews returns a preview runner; Run runs it.
func NewPreviews(cfg PreviewConfig) *Previews {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Previews{cfg: cfg, log: cfg.Logger.With("controller", "ecr-lifecycle-preview")}
}

// Run completes previews as they are started, until ctx ends. Its loop's
// metrics are berth_ecr_lifecycle_preview_reconciles_total and siblings.
func (p *Previews) Run(ctx context.Context) error {
	return controller.New(controller.Config{
		Reconciler:    p,
		Watches:       []controller.Watch{p.follow},
		Logger:        p.log,
		MetricsPrefix: "berth_ecr_lifecycle_preview",
		Registerer:    p.cfg.Registerer,
	}).Run(ctx)
}

// Reconcile completes the preview of the repository key names
// ("<region>|<repo>") if it is in progress.
func (p *Previews) Reconcile(ctx context.Context, key string) (controller.Result, error) {
	repo, _, ok := ecrstate.ParseRepositoryID(key)
	if !ok {
		return controller.Result{}, nil
	}
	return controller.Result{}, p.Complete(ctx, repo)
}

// Complete evaluates repo's preview if it is in progress and records its
// result, unless another preview replaced it meanwhile.
func (p *Previews) Complete(ctx context.Context, repo ecrstate.RepositoryID) error {
	key := ecrstate.LifecyclePreviewKey(repo)
	v, err := store.Get[ecrstate.LifecyclePreview](ctx, p.cfg.Store, key)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	preview := v.Value
	if preview.StatusAt(p.cfg.Now()) != ecrstate.PreviewInProgress {
		return nil
	}
	images, err := p.cfg.Catalog.Images(ctx, repo)
	if errors.Is(err, registry.ErrRepositoryNotFound) {
		return nil // the preview goes with its repository
	}
	if err != nil {
		return err
	}
	preview.Results, err = policies.Preview(preview.PolicyText, images, p.cfg.Now())
	preview.Status = ecrstate.PreviewComplete
	if err != nil {
		// The policy was valid when the preview started; only a berth
		// that validates more strictly than the one that took it gets
		// here, and evaluating again cannot help.
		p.log.WarnContext(ctx, "lifecycle preview failed", "region", repo.Region, "repository", repo.Name, "err", err)
		preview.Status, preview.Results = ecrstate.PreviewFailed, nil
	}
	put, err := store.PutJSON(key, preview)
	if err != nil {
		return err
	}
	_, err = p.cfg.Store.Txn(ctx, store.Txn{If: []store.Compare{{Key: key, ModRevision: v.ModRevision}}, Then: []store.Op{put}})
	if errors.Is(err, store.ErrConflict) {
		return nil // a newer preview replaced this one; its own turn comes
	}
	if err == nil {
		p.log.InfoContext(ctx, "lifecycle preview done", "region", repo.Region, "repository", repo.Name, "status", preview.Status, "images", len(preview.Results))
	}
	return err
}

// follow lists the previews, queues those in progress, and does the same
// for every preview a watch reports.
func (p *Previews) follow(ctx context.Context, q controller.Queue) error {
	return followPrefix(ctx, p.cfg.Store, ecrstate.LifecyclePreviewPrefix, func(ev store.Event) {
		if ev.Type != store.EventDelete {
			p.observe(q, ev.KV)
		}
	})
}

func (p *Previews) observe(q controller.Queue, kv store.KV) {
	var preview ecrstate.LifecyclePreview
	if err := json.Unmarshal(kv.Value, &preview); err != nil {
		p.log.Error("lifecycle preview: undecodable record skipped", "key", kv.Key, "err", err)
		return
	}
	if preview.Status == ecrstate.PreviewInProgress {
		q.Add(strings.TrimPrefix(kv.Key, ecrstate.LifecyclePreviewPrefix))
	}
}
