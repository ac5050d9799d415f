// Package scan is the image scan controller: it runs ECR image scans. It
// starts scans on push (BASIC scan-on-push repositories and rules,
// ENHANCED rules), runs the scans StartImageScan asks for, matches images
// under ENHANCED continuous scanning again when the vulnerability database
// changes, and deletes the scan records of images that are gone.
//
// It is level-triggered over the store: every decision (decide.go) is
// taken from an image, its repository, the registry scanning
// configuration, its scan record and the database's state, so a scan that
// was IN_PROGRESS when the server stopped is simply run again.
package scan

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/berth/berth/internal/controller"
	"github.com/berth/berth/internal/ecr/ecrstate"
	"github.com/berth/berth/internal/registry"
	imagescan "github.com/berth/berth/internal/scan"
	"github.com/berth/berth/internal/store"
	"github.com/berth/berth/internal/vulndb"
)

// Inspector lists what an image holds, reading its layers from the blob
// store; scan.ErrUnsupportedImage when it holds nothing the scanner reads.
type Inspector interface {
	Inspect(ctx context.Context, repo ecrstate.RepositoryID, img ecrstate.Image) (ecrstate.Inventory, error)
}

// Database matches packages against the vulnerability database.
type Database interface {
	Match(ctx context.Context, pkgs []vulndb.Package) ([]vulndb.Finding, vulndb.Info, error)
	Info() (vulndb.Info, error)
}

// Config wires the controller.
type Config struct {
	Store     store.Store
	Catalog   *registry.Catalog
	Inspector Inspector
	Database  Database
	// Now is the clock (nil: time.Now).
	Now    func() time.Time
	Logger *slog.Logger
	// Registerer takes the controller's metrics (nil: none registered).
	Registerer prometheus.Registerer
	// Workers bound how many images are scanned at once (0: 2).
	Workers int
	// Resync is how often every image is looked at without a change (0: 1 min).
	Resync time.Duration
}

// backoff paces the retries of a failed scan: what fails one is the store
// or the vulnerability database, and a scan reads the whole image again.
var backoff = controller.Backoff{First: 5 * time.Second, Max: 5 * time.Minute}

// Controller is the scan controller.
type Controller struct {
	cfg Config
	log *slog.Logger

	// dbChanged wakes followDatabase (DatabaseChanged).
	dbChanged chan struct{}

	scans    *prometheus.CounterVec
	duration prometheus.Histogram
	deleted  prometheus.Counter
}

// New returns a controller; Run runs it.
func New(cfg Config) *Controller {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 2
	}
	if cfg.Resync <= 0 {
		cfg.Resync = time.Minute
	}
	reg := promauto.With(cfg.Registerer)
	return &Controller{
		cfg:       cfg,
		log:       cfg.Logger.With("controller", "ecr-scan"),
		dbChanged: make(chan struct{}, 1),
		scans: reg.NewCounterVec(prometheus.CounterOpts{
			Name: "berth_ecr_image_scans_total",
			Help: "Image scans by scan type and outcome (complete, failed, unsupported_image, empty_database).",
		}, []string{"scan_type", "outcome"}),
		duration: reg.NewHistogram(prometheus.HistogramOpts{
			Name:    "berth_ecr_image_scan_seconds",
			Help:    "Time one image scan took (reading the image and matching it).",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 16),
		}),
		deleted: reg.NewCounter(prometheus.CounterOpts{
			Name: "berth_ecr_scan_records_deleted_total",
			Help: "Scan records deleted because their image was gone.",
		}),
	}
}

// Run runs the controller until ctx ends. Its loop's metrics are
// berth_ecr_scan_reconciles_total, _reconcile_seconds, _queue_depth and
// _retries_total.
func (c *Controller) Run(ctx context.Context) error {
	return controller.New(controller.Config{
		Reconciler: c,
		Workers:    c.cfg.Workers,
		Watches:    []controller.Watch{c.follow, c.followDatabase},
		Keys: func(ctx context.Context) ([]string, error) {
			keys, _, err := c.keys(ctx, "")
			return keys, err
		},
		Resync:        c.cfg.Resync,
		Backoff:       backoff,
		Logger:        c.log,
		MetricsPrefix: "berth_ecr_scan",
		Registerer:    c.cfg.Registerer,
	}).Run(ctx)
}

// follow queues every image and scan record, then queues what a watch of
// ecr/ says changed until it ends.
func (c *Controller) follow(ctx context.Context, q controller.Queue) error {
	keys, rev, err := c.keys(ctx, "")
	if err != nil {
		return err
	}
	q.Add(keys...)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	events, err := c.cfg.Store.Watch(ctx, ecrstate.Prefix, rev)
	if err != nil {
		return err
	}
	for ev := range events {
		key := ev.KV.Key
		switch {
		case strings.HasPrefix(key, ecrstate.ImagePrefix):
			q.Add(strings.TrimPrefix(key, ecrstate.ImagePrefix))
		case strings.HasPrefix(key, ecrstate.ScanPrefix):
			q.Add(strings.TrimPrefix(key, ecrstate.ScanPrefix))
		case strings.HasPrefix(key, ecrstate.RegistryPrefix):
			// A region's scanning configuration changed: its images.
			region, ok := ecrstate.ParseScanningKey(key)
			if !ok {
				continue
			}
			keys, _, err := c.keys(ctx, region+"|")
			if err != nil {
				return err
			}
			q.Add(keys...)
		case strings.HasPrefix(key, ecrstate.RepositoryPrefix) && ev.Type == store.EventPut:
			// A repository's scanOnPush may have changed.
			keys, _, err := c.keys(ctx, strings.TrimPrefix(key, ecrstate.RepositoryPrefix)+"|")
			if err != nil {
				return err
			}
			q.Add(keys...)
		}
	}
	return ctx.Err()
}

// keys lists the keys ("<region>|<repo>|<digest>") of every image and
// every scan record (whose image may be gone) whose key starts with scope:
// "" for all of them, "<region>|" for one region's, "<region>|<repo>|" for
// one repository's. It returns the store revision it read at.
func (c *Controller) keys(ctx context.Context, scope string) ([]string, int64, error) {
	var keys []string
	var rev int64
	for _, prefix := range []string{ecrstate.ImagePrefix, ecrstate.ScanPrefix} {
		kvs, r, err := c.cfg.Store.List(ctx, prefix+scope, store.ListOptions{})
		if err != nil {
			return nil, 0, err
		}
		if rev == 0 || r < rev {
			rev = r
		}
		for _, kv := range kvs {
			keys = append(keys, strings.TrimPrefix(kv.Key, prefix))
		}
	}
	return keys, rev, nil
}

// followDatabase looks at every image again when the vulnerability
// database changes. The database is not in the store, so no watch sees an
// import: the import endpoint calls DatabaseChanged, and the resync covers
// a change this goroutine missed.
func (c *Controller) followDatabase(ctx context.Context, q controller.Queue) error {
	var last ecrstate.ScanSource
	first := true
	for {
		info, err := c.cfg.Database.Info()
		if err != nil {
			c.log.Warn("scan controller: reading the vulnerability database failed", "err", err)
		} else if src := ecrstate.SourceOf(info); first || !src.Equal(last) {
			if !first {
				c.log.Info("vulnerability database changed", "records", info.Records, "updatedAt", info.UpdatedAt)
				// Logged, not returned: a watch started again would take
				// the new database as the one already seen; the resync
				// queues the images instead.
				keys, _, err := c.keys(ctx, "")
				if err != nil && ctx.Err() == nil {
					c.log.Warn("scan controller: listing images failed", "err", err)
				}
				q.Add(keys...)
			}
			last, first = src, false
		}
		select {
		case <-ctx.Done():
			return nil
		case <-c.dbChanged:
		}
	}
}

// DatabaseChanged tells the controller the vulnerability database may have
// changed (an import committed).
func (c *Controller) DatabaseChanged() {
	select {
	case c.dbChanged <- struct{}{}:
	default:
	}
}

// Reconcile takes the decision for the image at key ("<region>|<repo>|<digest>")
// and carries it out. Nothing in a scan waits for a time: the result
// never asks to look again.
func (c *Controller) Reconcile(ctx context.Context, key string) (controller.Result, error) {
	return controller.Result{}, c.reconcileImage(ctx, key)
}

func (c *Controller) reconcileImage(ctx context.Context, key string) error {
	repo, d, ok := ecrstate.ParseScanKey(key)
	if !ok {
		return nil
	}
	in := decideInput{}
	rec, recRev, found, err := ecrstate.LoadScanRecord(ctx, c.cfg.Store, repo, d)
	if err != nil {
		return err
	}
	if found {
		in.record = &rec
	}
	img, err := c.cfg.Catalog.Image(ctx, repo, d.String())
	switch {
	case errors.Is(err, registry.ErrImageNotFound), errors.Is(err, registry.ErrRepositoryNotFound):
	case err != nil:
		return err
	default:
		in.imageFound, in.image = true, img
	}
	if in.imageFound {
		if in.repo, err = c.cfg.Catalog.GetRepository(ctx, repo); errors.Is(err, registry.ErrRepositoryNotFound) {
			in.imageFound = false
		} else if err != nil {
			return err
		}
	}
	if in.imageFound {
		if in.config, err = ecrstate.LoadScanningConfig(ctx, c.cfg.Store, repo.Region); err != nil {
			return err
		}
		info, err := c.cfg.Database.Info()
		if err != nil {
			return fmt.Errorf("vulnerability database: %w", err)
		}
		in.source = ecrstate.SourceOf(info)
	}
	act := decide(in)
	if act.kind == actNone {
		return nil
	}
	c.log.Debug("scan decision", "region", repo.Region, "repository", repo.Name, "digest", d, "action", act.kind, "scanType", act.scanType, "trigger", act.trigger)
	switch act.kind {
	case actDelete:
		_, err := c.cfg.Store.Txn(ctx, store.Txn{
			If:   []store.Compare{{Key: ecrstate.ScanKey(repo, d), ModRevision: recRev}},
			Then: []store.Op{store.Delete(ecrstate.ScanKey(repo, d))},
		})
		if err == nil {
			c.deleted.Inc()
		}
		return err
	case actStart:
		now := c.cfg.Now().UTC()
		rec = ecrstate.ScanRecord{
			Repository:  repo.Name,
			Digest:      d,
			ScanType:    act.scanType,
			Trigger:     act.trigger,
			Status:      ecrstate.ScanInProgress,
			RequestedAt: now,
		}
		if act.scanType == ecrstate.ScanTypeBasic {
			// A scan on push uses up the image's daily basic scan.
			rec.BasicStartedAt = now
		}
		op, err := ecrstate.PutScanRecordOp(repo.Region, rec)
		if err != nil {
			return err
		}
		recRev, err = c.cfg.Store.Txn(ctx, store.Txn{If: []store.Compare{{Key: op.Key, ModRevision: 0}}, Then: []store.Op{op}})
		if err != nil {
			return err
		}
		c.log.Info("image scan started", "region", repo.Region, "repository", repo.Name, "digest", d, "scanType", rec.ScanType, "trigger", rec.Trigger)
	case actRescan:
		rec.ScanType, rec.Trigger = act.scanType, act.trigger
	}
	return c.runScan(ctx, repo, img, rec, recRev)
}

// runScan scans img, an image of repo (reading it unless its inventory is
// kept in rec), matches it against the database and writes the outcome
// over rec, which the store holds at revision rev.
func (c *Controller) runScan(ctx context.Context, repo ecrstate.RepositoryID, img ecrstate.Image, rec ecrstate.ScanRecord, rev int64) error {
	began := time.Now()
	next := rec
	next.Status, next.Description, next.EmptyDatabase = "", "", false
	outcome, err := c.scan(ctx, repo, img, &next)
	if err != nil {
		return err
	}
	next.CompletedAt = c.cfg.Now().UTC()
	if next.Status == ecrstate.ScanComplete {
		// Enhanced findings keep when they were first seen on the image.
		seen := make(map[string]time.Time, len(rec.Findings))
		for _, f := range rec.Findings {
			seen[f.Key()] = f.FirstObservedAt
		}
		for i := range next.Findings {
			if t, ok := seen[next.Findings[i].Key()]; ok && !t.IsZero() {
				next.Findings[i].FirstObservedAt = t
			} else {
				next.Findings[i].FirstObservedAt = next.CompletedAt
			}
		}
	}
	op, err := ecrstate.PutScanRecordOp(repo.Region, next)
	if err != nil {
		return err
	}
	if _, err := c.cfg.Store.Txn(ctx, store.Txn{If: []store.Compare{{Key: op.Key, ModRevision: rev}}, Then: []store.Op{op}}); err != nil {
		return err
	}
	took := time.Since(began)
	c.duration.Observe(took.Seconds())
	c.scans.WithLabelValues(next.ScanType, outcome).Inc()
	c.log.Info("image scanned", "region", repo.Region, "repository", rec.Repository, "digest", rec.Digest, "scanType", next.ScanType, "trigger", next.Trigger,
		"status", next.Status, "findings", len(next.Findings), "outcome", outcome, "took", took)
	return nil
}

// scan fills rec's inventory (if missing), status, findings and source.
// An error is returned only for what is worth retrying (the context, the
// database); what the image is makes a status.
func (c *Controller) scan(ctx context.Context, repo ecrstate.RepositoryID, img ecrstate.Image, rec *ecrstate.ScanRecord) (outcome string, err error) {
	if rec.Inventory == nil {
		inv, err := c.cfg.Inspector.Inspect(ctx, repo, img)
		switch {
		case ctx.Err() != nil:
			return "", ctx.Err()
		case errors.Is(err, imagescan.ErrUnsupportedImage):
			rec.Status, rec.Description, rec.Findings = ecrstate.ScanUnsupported, ecrstate.ScanUnsupportedDescription, nil
			return "unsupported_image", nil
		case err != nil:
			c.log.Warn("image scan could not read the image", "repository", rec.Repository, "digest", rec.Digest, "err", err)
			// UNVERIFIED wording: ECR's descriptions of failed scans are not
			// documented; this one names berth's cause.
			rec.Status, rec.Description, rec.Findings = ecrstate.ScanFailed, "ScanFailed: the image could not be read: "+err.Error(), nil
			return "failed", nil
		}
		rec.Inventory = &inv
	}
	found, info, err := c.cfg.Database.Match(ctx, rec.Inventory.Packages)
	if err != nil {
		return "", fmt.Errorf("matching %s@%s: %w", rec.Repository, rec.Digest, err)
	}
	rec.Source = ecrstate.SourceOf(info)
	if info.Records == 0 {
		rec.Status, rec.Description, rec.Findings, rec.EmptyDatabase = ecrstate.ScanFailed, ecrstate.ScanEmptyDBDescription, nil, true
		return "empty_database", nil
	}
	rec.Unchecked = ecrstate.UncheckedPackages(rec.Inventory.Packages, info)
	if n := len(rec.Inventory.Packages); n > 0 && sum(rec.Unchecked) == n {
		// Nothing could be checked: as with an empty database, COMPLETE
		// with no findings would read as "no vulnerabilities".
		rec.Status, rec.Description, rec.Findings = ecrstate.ScanFailed, ecrstate.NothingCheckedDescription(rec.Unchecked), nil
		return "nothing_checked", nil
	}
	rec.Status = ecrstate.ScanComplete
	rec.Findings = make([]ecrstate.ScanFinding, len(found))
	for i, f := range found {
		rec.Findings[i] = ecrstate.ScanFinding{Finding: f}
	}
	return "complete", nil
}

// sum adds up counts.
func sum(counts map[string]int) int {
	n := 0
	for _, c := range counts {
		n += c
	}
	return n
}
