package registry

// Garbage collection.
//
// What goes. A repository's blob link (ecr/blob/<repo>|<digest>) that no
// image in the repository references and that is older than the grace
// period; then a blob file that no link in any repository names, that no
// image references, and that was not used (committed, committed again,
// refreshed by a mount) within the grace period; and upload sessions idle
// for longer than the upload age limit, in the blob store and the ECR
// layer-upload API's records. Deleted images (BatchDeleteImage, lifecycle
// expiry, DeleteRepository --force) leave links nothing references, or no
// links at all, so their blobs go by these rules once no other image uses
// them.
//
// Why a push racing a sweep never loses what it uploaded. Two invariants
// make every stored image pull completely: (a) a manifest is stored only
// while its repository links every blob it references, and (b) a link
// names a blob whose bytes are stored. A sweep deletes in two steps, each
// keeping one invariant against the push paths (the OCI API here, the ECR
// layer-upload API in package ecr, which takes the same steps):
//
//  1. Links. The collector lists a repository's images and links and picks
//     the unreferenced links linked before now-grace. It marks each one
//     Condemned in a transaction comparing the link's revision, re-lists the
//     repository's images, and deletes the link in a transaction comparing
//     the revision of its own mark (a link an image now references gets its
//     mark taken off instead). PutManifest compares the revision of every
//     link its manifest references and takes the mark off one it finds
//     condemned. So either the manifest put commits before the mark (the
//     re-list sees its image: kept), or after it and before the deletion
//     (the put changed the link's revision: the deletion fails), or after
//     the deletion (the put finds the link missing and fails cleanly with
//     MANIFEST_BLOB_UNKNOWN; the client uploads the blob again). A manifest
//     is never stored referencing a link that is gone.
//     - Blob uploaded, manifest not put yet: its link is younger than the
//       grace period, so it is not even a candidate. The grace period (6 h
//       by default) bounds how long a push may take from its first layer
//       to its manifest; a slower push fails as above, it does not corrupt.
//     - Upload or mount of content the repository already links: LinkBlob
//       rewrites the link with a new LinkedAt and revision, so a pending
//       deletion fails and the link is young again.
//     - HEAD, then a manifest referencing the blob without uploading it: a
//       HEAD that finds a link older than linkRefreshAge re-dates it (and
//       takes off a mark), so the client has at least grace-linkRefreshAge
//       to put its manifest; after a deletion the HEAD answers 404 and the
//       client uploads. ECR's BatchCheckLayerAvailability and a
//       CompleteLayerUpload answering LayerAlreadyExistsException do the
//       same (RefreshBlob).
//  2. Blob files. The collector picks the stored blobs that no link and no
//     image names and that were last used before now-grace. For a batch of
//     them it takes the catalog's per-digest locks (LockBlob), lists every
//     link and image again, and deletes each still-unnamed blob with the
//     blob store's DeleteUnusedSince. Every path that creates a link takes
//     the same lock around making sure the bytes are there and linking
//     them: an upload's Commit and LinkBlob, a cross-repository mount's
//     Refresh and LinkBlob. So a blob is either deleted before such a path
//     looks (the commit then writes it again, a mount finds it missing and
//     the client uploads it), or the path has linked it before the
//     collector's fresh listing (kept).
//     - Committed, not linked yet: it is under the lock until linked.
//     - Upload of content already stored ("stores nothing twice"): the
//       commit refreshes the stored blob under the store's own per-digest
//       lock, and DeleteUnusedSince, under the same lock, keeps a blob used
//       since the cutoff: a second guard besides the catalog lock.
//     - Cross-repository mount: the new link and the refreshed blob are
//       made under the lock; the source link can go afterwards, the blob
//       stays while the new link names it.
//  3. Upload sessions idle longer than the age limit are ended; one in the
//     middle of a write or commit is busy and never ended. A client whose
//     session expired gets BLOB_UPLOAD_UNKNOWN / UploadNotFoundException and
//     starts again; nothing it committed is touched.
//
// The locks are in-process: berth is one process over its store and blob
// directory. Sweeps run one at a time.

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/opencontainers/go-digest"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/berth/berth/internal/admin"
	"github.com/berth/berth/internal/blob"
	"github.com/berth/berth/internal/controller"
	"github.com/berth/berth/internal/ecr/ecrstate"
	"github.com/berth/berth/internal/store"
)

// Defaults of the collector's limits.
const (
	// DefaultGCInterval is how often the background sweep runs.
	DefaultGCInterval = time.Hour
	// DefaultGCGracePeriod is how long a blob link or a blob is kept before
	// a manifest references it: longer than a push takes from its first
	// layer to its manifest (six hours move ~50 GiB, ECR's largest layer,
	// at 20 Mbit/s), short enough that an abandoned push's layers don't
	// linger past the day. Deleting an image frees its blobs at once if
	// they were pushed longer ago than this.
	DefaultGCGracePeriod = 6 * time.Hour
	// DefaultUploadMaxAge is how long an upload session may sit idle. The
	// registry already ends OCI sessions idle for an hour when new ones
	// start; this catches the rest, notably the ECR layer-upload API's
	// sessions, which nothing else ends. Docker and the AWS SDKs never
	// resume an upload a day later (distribution's 168 h default is for
	// clients that do).
	DefaultUploadMaxAge = 24 * time.Hour
	// linkRefreshAge: a HEAD that finds a link older than this re-dates it,
	// writing at most once per link per linkRefreshAge.
	linkRefreshAge = 10 * time.Minute
	// firstSweepDelay is how long after Run starts the first sweep comes
	// (or the interval, if shorter).
	firstSweepDelay = 5 * time.Minute
	// gcBatch is how many blobs one locked re-check covers.
	gcBatch = 500
	// sweepKey is the one key of the background sweep's loop.
	sweepKey = "sweep"
)

// GCPath is the admin endpoint `berth registry gc` calls; GCPurpose its
// token purpose.
const (
	GCPath    = "/_berth/registry/gc"
	GCPurpose = "berth registry gc v1"
)

// GCRequest is the endpoint's input.
type GCRequest struct {
	// DryRun reports what would go and deletes nothing.
	DryRun bool `json:"dryRun"`
}

// GCReport is what a sweep deleted (or, dry, would delete).
type GCReport struct {
	DryRun    bool      `json:"dryRun"`
	StartedAt time.Time `json:"startedAt"`
	// DurationSeconds is how long the sweep took.
	DurationSeconds float64 `json:"durationSeconds"`
	GracePeriod     string  `json:"gracePeriod"`
	UploadMaxAge    string  `json:"uploadMaxAge"`
	// Links are repositories' blob links removed: the repository no longer
	// holds the blob (the blob itself stays while another repository does).
	Links []GCLink `json:"links"`
	// Waiting are links no image references that are kept because they
	// are younger than the grace period (a push may still put the
	// manifest that needs them).
	Waiting []GCWaitingLink `json:"waiting"`
	// Blobs are blob files deleted.
	Blobs   []GCBlob   `json:"blobs"`
	Uploads []GCUpload `json:"uploads"`
	Totals  GCTotals   `json:"totals"`
}

// GCLink is one repository's link to a blob.
type GCLink struct {
	Region     string        `json:"region"`
	Repository string        `json:"repository"`
	Digest     digest.Digest `json:"digest"`
	Size       int64         `json:"size"`
}

// GCWaitingLink is a link kept for the grace period, and when a sweep may
// remove it if still unused.
type GCWaitingLink struct {
	GCLink
	EligibleAt time.Time `json:"eligibleAt"`
}

// GCBlob is one blob file.
type GCBlob struct {
	Digest digest.Digest `json:"digest"`
	Size   int64         `json:"size"`
	// Repositories are those whose links to it this sweep removed; empty
	// when no repository linked it any more (its images' repository was
	// deleted, or its push never finished).
	Repositories []string `json:"repositories"`
}

// Upload session kinds.
const (
	UploadKindOCI  = "oci"  // an OCI distribution API session (/v2/.../blobs/uploads/)
	UploadKindECR  = "ecr"  // an InitiateLayerUpload session
	UploadKindFile = "file" // a file in the blob store's uploads/ no session owns
)

// GCUpload is one expired upload session.
type GCUpload struct {
	Kind       string    `json:"kind"`
	ID         string    `json:"id"`
	Repository string    `json:"repository,omitempty"`
	Size       int64     `json:"size"`
	StartedAt  time.Time `json:"startedAt,omitzero"`
	// LastActivityAt is when it last received content.
	LastActivityAt time.Time `json:"lastActivityAt,omitzero"`
	// BlobUpload is the blob store session behind it, for SessionSweepers.
	BlobUpload string `json:"-"`
}

// GCTotals sum a report.
type GCTotals struct {
	Links int `json:"links"`
	// Waiting and WaitingBytes count the links kept for the grace period
	// and the sizes of their blobs.
	Waiting      int   `json:"waiting"`
	WaitingBytes int64 `json:"waitingBytes"`
	Blobs        int   `json:"blobs"`
	Bytes        int64 `json:"bytes"`
	Uploads      int   `json:"uploads"`
	UploadBytes  int64 `json:"uploadBytes"`
}

// SessionSweeper removes upload records kept outside the blob store (the
// ECR layer-upload API's) whose blob session is gone or expired in this
// sweep (expired reports which), or with dryRun lists them.
type SessionSweeper func(ctx context.Context, expired func(blobUpload string) bool, dryRun bool) ([]GCUpload, error)

// GCConfig configures a Collector.
type GCConfig struct {
	Catalog *Catalog
	Blobs   blob.Store
	// Interval is how often Run sweeps; 0 or less: Run does nothing.
	Interval time.Duration
	// GracePeriod: 0 is DefaultGCGracePeriod.
	GracePeriod time.Duration
	// UploadMaxAge: 0 is DefaultUploadMaxAge.
	UploadMaxAge    time.Duration
	SessionSweepers []SessionSweeper
	// Now is the clock (nil: time.Now); it must be the blob store's.
	Now        func() time.Time
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// Collector sweeps the registry's garbage.
type Collector struct {
	cat          *Catalog
	blobs        blob.Store
	interval     time.Duration
	grace        time.Duration
	uploadMaxAge time.Duration
	sweepers     []SessionSweeper
	now          func() time.Time
	log          *slog.Logger
	m            *gcMetrics
	registerer   prometheus.Registerer // for Run's loop

	mu sync.Mutex // one sweep at a time
}

// NewCollector returns a collector; Run starts its background sweeps.
func NewCollector(cfg GCConfig) *Collector {
	c := &Collector{
		cat:          cfg.Catalog,
		blobs:        cfg.Blobs,
		interval:     cfg.Interval,
		grace:        cmp.Or(cfg.GracePeriod, DefaultGCGracePeriod),
		uploadMaxAge: cmp.Or(cfg.UploadMaxAge, DefaultUploadMaxAge),
		sweepers:     cfg.SessionSweepers,
		now:          cfg.Now,
		log:          cmp.Or(cfg.Logger, slog.Default()).With("component", "registry-gc"),
		m:            newGCMetrics(cfg.Registerer),
		registerer:   cfg.Registerer,
	}
	if c.now == nil {
		c.now = time.Now
	}
	return c
}

// Run sweeps every interval until ctx ends. A failed sweep is tried again
// after a minute, then after twice as long each time up to the interval;
// everything a failed sweep did stands. The sweep loop's metrics are
// berth_registry_gc_reconciles_total, _reconcile_seconds, _queue_depth
// and _retries_total.
func (c *Collector) Run(ctx context.Context) error {
	if c.interval <= 0 {
		c.log.InfoContext(ctx, "background garbage collection disabled")
		return nil
	}
	loop := controller.New(controller.Config{
		Reconciler: controller.ReconcilerFunc(func(ctx context.Context, _ string) (controller.Result, error) {
			if _, err := c.Sweep(ctx, false); err != nil {
				return controller.Result{}, err
			}
			return controller.Result{RequeueAfter: c.interval}, nil
		}),
		Backoff:       controller.Backoff{First: min(c.interval, time.Minute), Max: c.interval},
		Logger:        c.log,
		MetricsPrefix: "berth_registry_gc",
		Registerer:    c.registerer,
	})
	// The first sweep comes soon after a start, so a server restarted
	// more often than the interval still collects.
	loop.AddAfter(sweepKey, min(c.interval, firstSweepDelay))
	return loop.Run(ctx)
}

// Handler serves GCPath for the admin with that secret.
func (c *Collector) Handler(adminSecret string) http.Handler {
	return admin.JSONHandler(admin.NewAuthorizer(adminSecret, GCPurpose), c.log,
		func(ctx context.Context, req GCRequest) (*GCReport, error) {
			return c.Sweep(ctx, req.DryRun)
		})
}

// Sweep collects garbage now; with dryRun it reports what would go.
func (c *Collector) Sweep(ctx context.Context, dryRun bool) (*GCReport, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	start := c.now()
	began := time.Now() // for the duration, whatever c.now is
	rep := &GCReport{
		DryRun:       dryRun,
		StartedAt:    start.UTC(),
		GracePeriod:  c.grace.String(),
		UploadMaxAge: c.uploadMaxAge.String(),
		Links:        []GCLink{},
		Waiting:      []GCWaitingLink{},
		Blobs:        []GCBlob{},
		Uploads:      []GCUpload{},
	}
	err := c.sweep(ctx, rep, start, dryRun)
	rep.DurationSeconds = time.Since(began).Seconds()
	for _, b := range rep.Blobs {
		rep.Totals.Bytes += b.Size
	}
	for _, u := range rep.Uploads {
		rep.Totals.UploadBytes += u.Size
	}
	for _, l := range rep.Waiting {
		rep.Totals.WaitingBytes += l.Size
	}
	rep.Totals.Waiting = len(rep.Waiting)
	rep.Totals.Links, rep.Totals.Blobs, rep.Totals.Uploads = len(rep.Links), len(rep.Blobs), len(rep.Uploads)
	c.m.observe(rep, err)
	attrs := []any{"dry_run", dryRun, "links", rep.Totals.Links, "blobs", rep.Totals.Blobs, "bytes", rep.Totals.Bytes,
		"uploads", rep.Totals.Uploads, "duration", time.Duration(rep.DurationSeconds * float64(time.Second))}
	if err != nil {
		c.log.WarnContext(ctx, "garbage collection sweep failed", append(attrs, "error", err)...)
		return nil, err
	}
	c.log.InfoContext(ctx, "garbage collection sweep", attrs...)
	return rep, nil
}

func (c *Collector) sweep(ctx context.Context, rep *GCReport, start time.Time, dryRun bool) error {
	cutoff := start.Add(-c.grace)
	links, waiting, err := c.sweepLinks(ctx, cutoff, dryRun)
	rep.Links = append(rep.Links, links...)
	rep.Waiting = append(rep.Waiting, waiting...)
	if err != nil {
		return fmt.Errorf("blob links: %w", err)
	}
	blobs, err := c.sweepBlobs(ctx, cutoff, links, dryRun)
	rep.Blobs = append(rep.Blobs, blobs...)
	if err != nil {
		return fmt.Errorf("blobs: %w", err)
	}
	uploads, err := c.sweepUploads(ctx, start.Add(-c.uploadMaxAge), dryRun)
	rep.Uploads = append(rep.Uploads, uploads...)
	if err != nil {
		return fmt.Errorf("upload sessions: %w", err)
	}
	return nil
}

// linkEntry is a stored link and its revision.
type linkEntry struct {
	link ecrstate.BlobLink
	rev  int64
}

// unusedLinks picks the links no image references: old were linked
// before cutoff and may go, young are kept for the grace period. A
// condemned link left by an interrupted sweep is picked like any other.
func unusedLinks(links []linkEntry, images []ecrstate.Image, cutoff time.Time) (old, young []linkEntry) {
	referenced := map[digest.Digest]bool{}
	for _, img := range images {
		for _, d := range img.Blobs {
			referenced[d] = true
		}
	}
	for _, l := range links {
		switch {
		case referenced[l.link.Digest]:
		case l.link.LinkedAt.Before(cutoff):
			old = append(old, l)
		default:
			young = append(young, l)
		}
	}
	return old, young
}

// sweepLinks removes (or with dryRun lists) the unused links linked before
// cutoff, and lists those kept only for the grace period.
func (c *Collector) sweepLinks(ctx context.Context, cutoff time.Time, dryRun bool) (removed []GCLink, waiting []GCWaitingLink, err error) {
	repos, err := c.cat.AllRepositories(ctx)
	if err != nil {
		return nil, nil, err
	}
	for _, repo := range repos {
		images, err := c.cat.Images(ctx, repo)
		if errors.Is(err, ErrRepositoryNotFound) {
			continue // deleted meanwhile, links and all
		}
		if err != nil {
			return removed, waiting, err
		}
		links, err := c.cat.links(ctx, repo)
		if err != nil {
			return removed, waiting, err
		}
		candidates, young := unusedLinks(links, images, cutoff)
		for _, l := range young {
			waiting = append(waiting, GCWaitingLink{
				GCLink:     GCLink{Region: repo.Region, Repository: repo.Name, Digest: l.link.Digest, Size: l.link.Size},
				EligibleAt: l.link.LinkedAt.Add(c.grace).UTC(),
			})
		}
		if dryRun {
			for _, l := range candidates {
				removed = append(removed, GCLink{Region: repo.Region, Repository: repo.Name, Digest: l.link.Digest, Size: l.link.Size})
			}
			continue
		}
		gone, err := c.cat.deleteUnusedLinks(ctx, repo, candidates)
		removed = append(removed, gone...)
		if err != nil {
			return removed, waiting, err
		}
	}
	return removed, waiting, nil
}

// links lists repo's blob links with their revisions.
func (c *Catalog) links(ctx context.Context, repo ecrstate.RepositoryID) ([]linkEntry, error) {
	links, _, err := store.List[ecrstate.BlobLink](ctx, c.store, ecrstate.RepositoryScoped(ecrstate.BlobPrefix, repo), store.ListOptions{})
	if err != nil {
		return nil, err
	}
	out := make([]linkEntry, 0, len(links))
	for _, v := range links {
		out = append(out, linkEntry{link: v.Value, rev: v.ModRevision})
	}
	return out, nil
}

// deleteUnusedLinks marks the candidates condemned, checks the repository's
// images again and deletes the marked links still unreferenced, each only
// if nothing touched it since its mark (see the file comment).
func (c *Catalog) deleteUnusedLinks(ctx context.Context, repo ecrstate.RepositoryID, candidates []linkEntry) ([]GCLink, error) {
	var marked []linkEntry
	for _, l := range candidates {
		l.link.Condemned = true
		put, err := store.PutJSON(ecrstate.BlobKey(repo, l.link.Digest), l.link)
		if err != nil {
			return nil, err
		}
		rev, err := c.store.Txn(ctx, store.Txn{
			If:   []store.Compare{{Key: ecrstate.BlobKey(repo, l.link.Digest), ModRevision: l.rev}},
			Then: []store.Op{put},
		})
		if errors.Is(err, store.ErrConflict) {
			continue // linked again or claimed since the listing
		}
		if err != nil {
			return nil, err
		}
		marked = append(marked, linkEntry{link: l.link, rev: rev})
	}
	if len(marked) == 0 {
		return nil, nil
	}
	images, err := c.Images(ctx, repo)
	if errors.Is(err, ErrRepositoryNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	referenced := map[digest.Digest]bool{}
	for _, img := range images {
		for _, d := range img.Blobs {
			referenced[d] = true
		}
	}
	var removed []GCLink
	for _, l := range marked {
		key := ecrstate.BlobKey(repo, l.link.Digest)
		op := store.Delete(key)
		if referenced[l.link.Digest] {
			// An image came to reference it before the mark.
			l.link.Condemned = false
			put, err := store.PutJSON(key, l.link)
			if err != nil {
				return removed, err
			}
			op = put
		}
		_, err := c.store.Txn(ctx, store.Txn{If: []store.Compare{{Key: key, ModRevision: l.rev}}, Then: []store.Op{op}})
		if errors.Is(err, store.ErrConflict) {
			continue // claimed by a manifest put or linked again
		}
		if err != nil {
			return removed, err
		}
		if !referenced[l.link.Digest] {
			removed = append(removed, GCLink{Region: repo.Region, Repository: repo.Name, Digest: l.link.Digest, Size: l.link.Size})
		}
	}
	return removed, nil
}

// RefreshBlob is Blob for a client that may skip uploading the blob because
// it is there (a HEAD): a link older than linkRefreshAge, or condemned, is
// re-dated, so garbage collection keeps it while the client puts its
// manifest.
func (c *Catalog) RefreshBlob(ctx context.Context, repo ecrstate.RepositoryID, d digest.Digest) (ecrstate.BlobLink, error) {
	var link ecrstate.BlobLink
	err := store.Retry(ctx, func() error {
		lV, err := store.Get[ecrstate.BlobLink](ctx, c.store, ecrstate.BlobKey(repo, d))
		l, rev := lV.Value, lV.ModRevision
		if errors.Is(err, store.ErrNotFound) {
			if _, _, err := c.repository(ctx, repo); err != nil {
				return err
			}
			return ErrBlobNotFound
		}
		if err != nil {
			return err
		}
		link = l
		if !l.Condemned && c.now().Sub(l.LinkedAt) < linkRefreshAge {
			return nil
		}
		l.Condemned, l.LinkedAt = false, c.now()
		put, err := store.PutJSON(ecrstate.BlobKey(repo, d), l)
		if err != nil {
			return err
		}
		_, err = c.store.Txn(ctx, store.Txn{
			If:   []store.Compare{{Key: ecrstate.BlobKey(repo, d), ModRevision: rev}},
			Then: []store.Op{put},
		})
		link = l
		return err
	})
	return link, err
}

// LockBlob takes blob d's lock, which orders whatever makes sure the blob
// is stored and links it (an upload's commit and LinkBlob, a mount's
// refresh and LinkBlob) against garbage collection deleting it. Hold it
// from before the blob is checked or committed until the link is made.
func (c *Catalog) LockBlob(d digest.Digest) (unlock func()) {
	return c.blobLocks.Lock(d)
}

// namedBlobs returns every digest a link in any repository of any region
// or an image names, except the links in skip (region|repository|digest),
// read now. Blob files are shared by the regions.
func (c *Catalog) namedBlobs(ctx context.Context, skip map[string]bool) (map[digest.Digest]bool, error) {
	named := map[digest.Digest]bool{}
	links, _, err := c.store.List(ctx, ecrstate.BlobPrefix, store.ListOptions{})
	if err != nil {
		return nil, err
	}
	for _, kv := range links {
		rest := strings.TrimPrefix(kv.Key, ecrstate.BlobPrefix)
		if skip[rest] {
			continue
		}
		i := strings.LastIndexByte(rest, '|')
		if i < 0 {
			continue
		}
		named[digest.Digest(rest[i+1:])] = true
	}
	// Only the blobs of each image are decoded.
	images, _, err := store.List[struct {
		Blobs []digest.Digest `json:"blobs"`
	}](ctx, c.store, ecrstate.ImagePrefix, store.ListOptions{})
	if err != nil {
		return nil, err
	}
	for _, img := range images {
		for _, d := range img.Value.Blobs {
			named[d] = true
		}
	}
	return named, nil
}

// unusedBlobs picks the stored blobs nothing names that were last used
// before cutoff.
func unusedBlobs(stored []blob.Info, named map[digest.Digest]bool, cutoff time.Time) []blob.Info {
	var out []blob.Info
	for _, b := range stored {
		if !named[b.Digest] && b.UsedAt.Before(cutoff) {
			out = append(out, b)
		}
	}
	return out
}

func (c *Collector) sweepBlobs(ctx context.Context, cutoff time.Time, links []GCLink, dryRun bool) ([]GCBlob, error) {
	unlinkedFrom := map[digest.Digest][]string{}
	skip := map[string]bool{}
	for _, l := range links {
		unlinkedFrom[l.Digest] = append(unlinkedFrom[l.Digest], l.Repository)
		if dryRun {
			// What the link sweep would have removed.
			skip[ecrstate.RepositoryScoped("", ecrstate.RepositoryID{Region: l.Region, Name: l.Repository})+l.Digest.String()] = true
		}
	}
	named, err := c.cat.namedBlobs(ctx, skip)
	if err != nil {
		return nil, err
	}
	var stored []blob.Info
	if err := c.blobs.Walk(ctx, func(b blob.Info) error {
		stored = append(stored, b)
		return nil
	}); err != nil {
		return nil, err
	}
	candidates := unusedBlobs(stored, named, cutoff)
	report := func(b blob.Info) GCBlob {
		repos := append([]string{}, unlinkedFrom[b.Digest]...)
		slices.Sort(repos)
		return GCBlob{Digest: b.Digest, Size: b.Size, Repositories: repos}
	}
	var deleted []GCBlob
	if dryRun {
		for _, b := range candidates {
			deleted = append(deleted, report(b))
		}
		return deleted, nil
	}
	for batch := range slices.Chunk(candidates, gcBatch) {
		gone, err := c.deleteBlobs(ctx, batch, cutoff)
		for _, b := range gone {
			deleted = append(deleted, report(b))
		}
		if err != nil {
			return deleted, err
		}
	}
	return deleted, nil
}

// deleteBlobs deletes the blobs of batch that nothing names, checked again
// under their locks.
func (c *Collector) deleteBlobs(ctx context.Context, batch []blob.Info, cutoff time.Time) ([]blob.Info, error) {
	for _, b := range batch {
		unlock := c.cat.LockBlob(b.Digest)
		defer unlock()
	}
	named, err := c.cat.namedBlobs(ctx, nil)
	if err != nil {
		return nil, err
	}
	var deleted []blob.Info
	for _, b := range batch {
		if named[b.Digest] {
			continue
		}
		err := c.blobs.DeleteUnusedSince(ctx, b.Digest, cutoff)
		if errors.Is(err, blob.ErrRecentlyUsed) || errors.Is(err, blob.ErrNotFound) {
			continue
		}
		if err != nil {
			return deleted, fmt.Errorf("delete %s: %w", b.Digest, err)
		}
		c.log.DebugContext(ctx, "blob deleted", "digest", b.Digest, "size", b.Size)
		deleted = append(deleted, b)
	}
	return deleted, nil
}

func (c *Collector) sweepUploads(ctx context.Context, idleSince time.Time, dryRun bool) ([]GCUpload, error) {
	expired, err := c.blobs.ExpireUploads(ctx, idleSince, dryRun)
	byID := make(map[string]blob.UploadInfo, len(expired))
	for _, u := range expired {
		byID[u.ID] = u
	}
	var out []GCUpload
	claimed := map[string]bool{}
	var errs []error
	errs = append(errs, err)
	for _, sweep := range c.sweepers {
		ups, err := sweep(ctx, func(id string) bool { _, ok := byID[id]; return ok }, dryRun)
		errs = append(errs, err)
		for _, u := range ups {
			if info, ok := byID[u.BlobUpload]; ok {
				claimed[u.BlobUpload] = true
				u.Size, u.LastActivityAt = info.Size, info.ActiveAt
			}
			out = append(out, u)
		}
	}
	for _, u := range expired {
		if claimed[u.ID] {
			continue
		}
		kind := UploadKindOCI
		if u.StartedAt.IsZero() {
			kind = UploadKindFile
		}
		out = append(out, GCUpload{Kind: kind, ID: u.ID, Size: u.Size, StartedAt: u.StartedAt, LastActivityAt: u.ActiveAt, BlobUpload: u.ID})
	}
	return out, errors.Join(errs...)
}

type gcMetrics struct {
	sweeps      *prometheus.CounterVec
	duration    prometheus.Histogram
	links       prometheus.Counter
	blobs       prometheus.Counter
	bytes       prometheus.Counter
	uploads     prometheus.Counter
	lastSuccess prometheus.Gauge
}

func newGCMetrics(reg prometheus.Registerer) *gcMetrics {
	f := promauto.With(reg)
	return &gcMetrics{
		sweeps: f.NewCounterVec(prometheus.CounterOpts{
			Name: "berth_registry_gc_sweeps_total",
			Help: "Garbage collection sweeps by outcome (ok, error) and whether dry.",
		}, []string{"result", "dry_run"}),
		duration: f.NewHistogram(prometheus.HistogramOpts{
			Name:    "berth_registry_gc_sweep_duration_seconds",
			Help:    "How long garbage collection sweeps take.",
			Buckets: prometheus.ExponentialBuckets(0.01, 4, 10),
		}),
		links: f.NewCounter(prometheus.CounterOpts{
			Name: "berth_registry_gc_links_deleted_total",
			Help: "Repository blob links deleted as garbage.",
		}),
		blobs: f.NewCounter(prometheus.CounterOpts{
			Name: "berth_registry_gc_blobs_deleted_total",
			Help: "Blobs deleted as garbage.",
		}),
		bytes: f.NewCounter(prometheus.CounterOpts{
			Name: "berth_registry_gc_blob_bytes_deleted_total",
			Help: "Plaintext bytes of the blobs deleted as garbage.",
		}),
		uploads: f.NewCounter(prometheus.CounterOpts{
			Name: "berth_registry_gc_uploads_expired_total",
			Help: "Upload sessions ended for being idle too long.",
		}),
		lastSuccess: f.NewGauge(prometheus.GaugeOpts{
			Name: "berth_registry_gc_last_success_timestamp_seconds",
			Help: "When the last garbage collection sweep that deleted succeeded.",
		}),
	}
}

func (m *gcMetrics) observe(rep *GCReport, err error) {
	result := "ok"
	if err != nil {
		result = "error"
	}
	m.sweeps.WithLabelValues(result, fmt.Sprint(rep.DryRun)).Inc()
	m.duration.Observe(rep.DurationSeconds)
	if rep.DryRun {
		return
	}
	// A failed sweep still deleted what it reports.
	m.links.Add(float64(len(rep.Links)))
	m.blobs.Add(float64(len(rep.Blobs)))
	for _, b := range rep.Blobs {
		m.bytes.Add(float64(b.Size))
	}
	m.uploads.Add(float64(len(rep.Uploads)))
	if err == nil {
		m.lastSuccess.SetToCurrentTime()
	}
}
