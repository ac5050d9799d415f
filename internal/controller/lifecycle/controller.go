// Package lifecycle is the ECR lifecycle controller: it applies each
// repository's lifecycle policy, deleting the images the policy expires,
// on an interval and as soon as a policy is put. Its decisions come from
// package ecr/lifecycle, the code the lifecycle policy preview runs, so it
// expires what a preview shows. The controller keeps no state of its own:
// every round reads the catalog afresh, so a restart just runs a round.
//
// An expired image is gone from the catalog (DescribeImages, pulls); its
// blobs stay on disk, unreferenced, for garbage collection to remove.
package lifecycle

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/opencontainers/go-digest"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/berth/berth/internal/controller"
	"github.com/berth/berth/internal/ecr/ecrstate"
	policies "github.com/berth/berth/internal/ecr/lifecycle"
	"github.com/berth/berth/internal/registry"
	"github.com/berth/berth/internal/store"
)

// DefaultInterval is how often every repository's policy is applied when
// Config.Interval is zero. ECR promises to act within 24 hours.
const DefaultInterval = time.Hour

// Config wires the controller.
type Config struct {
	Catalog *registry.Catalog
	// Store is the catalog's store, watched for policies being put.
	Store store.Store
	// Interval is how often every policy is applied (0: DefaultInterval).
	Interval time.Duration
	// Now is the clock policies are evaluated at (nil: time.Now).
	Now    func() time.Time
	Logger *slog.Logger
	// Registerer takes the controller's metrics (nil: none registered).
	Registerer prometheus.Registerer
}

// Controller is the lifecycle controller.
type Controller struct {
	cfg Config
	log *slog.Logger

	mu sync.Mutex
	// policyAt is, per repository with a policy, when the policy the
	// controller last saw was put; a newer one is applied at once.
	policyAt map[ecrstate.RepositoryID]time.Time

	expired prometheus.Counter
	skipped *prometheus.CounterVec
	rounds  *prometheus.CounterVec
}

// New returns a controller; Run runs it.
func New(cfg Config) *Controller {
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	reg := promauto.With(cfg.Registerer)
	return &Controller{
		cfg:      cfg,
		log:      cfg.Logger.With("controller", "ecr-lifecycle"),
		policyAt: map[ecrstate.RepositoryID]time.Time{},
		expired: reg.NewCounter(prometheus.CounterOpts{
			Name: "berth_ecr_lifecycle_images_expired_total",
			Help: "Images lifecycle policies expired (deleted).",
		}),
		skipped: reg.NewCounterVec(prometheus.CounterOpts{
			Name: "berth_ecr_lifecycle_images_skipped_total",
			Help: "Images a policy expires that were kept this round, by reason: changed (re-tagged since the evaluation), referenced (a manifest list lists them), policy_changed, transition (berth has no archive storage class).",
		}, []string{"reason"}),
		rounds: reg.NewCounterVec(prometheus.CounterOpts{
			Name: "berth_ecr_lifecycle_rounds_total",
			Help: "Policy applications to one repository, by result (ok, error).",
		}, []string{"result"}),
	}
}

// Run applies every policy at once, then every Interval, and a policy just
// put as soon as it is seen, until ctx ends. Its loop's metrics are
// berth_ecr_lifecycle_reconciles_total, _reconcile_seconds, _queue_depth
// and _retries_total.
func (c *Controller) Run(ctx context.Context) error {
	return controller.New(controller.Config{
		Reconciler: c,
		// One repository at a time, as a round always went: expiry is
		// background work that need not compete with pushes and pulls.
		Workers: 1,
		// The watch's first list queues every policy (none is recorded
		// yet); after that, only policies put since.
		Watches:       []controller.Watch{c.follow},
		Keys:          c.policyRepositories,
		Resync:        c.cfg.Interval,
		Logger:        c.log,
		MetricsPrefix: "berth_ecr_lifecycle",
		Registerer:    c.cfg.Registerer,
	}).Run(ctx)
}

// policyRepositories lists the repositories of every region that have a
// lifecycle policy, as work keys ("<region>|<repo>").
func (c *Controller) policyRepositories(ctx context.Context) ([]string, error) {
	ids, err := c.cfg.Catalog.AllRepositories(ctx)
	if err != nil {
		return nil, err
	}
	var keys []string
	for _, id := range ids {
		repo, err := c.cfg.Catalog.GetRepository(ctx, id)
		if errors.Is(err, registry.ErrRepositoryNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if repo.LifecyclePolicy != "" {
			keys = append(keys, id.String())
		}
	}
	return keys, nil
}

// Reconcile applies the lifecycle policy of the repository key names
// ("<region>|<repo>") once (Apply).
func (c *Controller) Reconcile(ctx context.Context, key string) (controller.Result, error) {
	repo, _, ok := ecrstate.ParseRepositoryID(key)
	if !ok {
		return controller.Result{}, nil
	}
	_, err := c.Apply(ctx, repo)
	if err != nil {
		c.rounds.WithLabelValues("error").Inc()
		return controller.Result{}, err
	}
	c.rounds.WithLabelValues("ok").Inc()
	return controller.Result{}, nil
}

// errChanged keeps an image that changed since the policy was evaluated.
var errChanged = errors.New("image changed since the lifecycle policy was evaluated")

// Apply applies repo's lifecycle policy once: it evaluates the policy over
// a snapshot of the repository's images and deletes the images it expires,
// each only if it is still as the snapshot saw it (same tags, same push)
// and no manifest list references it. It returns the images it deleted.
// An image that changed is left for the next round, which decides anew.
// Applying twice deletes nothing more than applying once.
func (c *Controller) Apply(ctx context.Context, repo ecrstate.RepositoryID) ([]ecrstate.Image, error) {
	r, err := c.cfg.Catalog.GetRepository(ctx, repo)
	if errors.Is(err, registry.ErrRepositoryNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	c.sawPolicy(repo, r)
	if r.LifecyclePolicy == "" {
		return nil, nil
	}
	images, err := c.cfg.Catalog.Images(ctx, repo)
	if errors.Is(err, registry.ErrRepositoryNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	evaluatedAt := c.cfg.Now()
	decisions, err := policies.Decide(r.LifecyclePolicy, images, evaluatedAt)
	if err != nil {
		// PutLifecyclePolicy validates, so only a stored policy that a
		// newer berth validates more strictly gets here; trying again
		// cannot help, a new policy or the next round may.
		return nil, controller.Terminal(fmt.Errorf("stored lifecycle policy: %w", err))
	}
	if err := c.recordEvaluation(ctx, repo, r, evaluatedAt); err != nil {
		return nil, err
	}

	var expiring []policies.Decision
	var transitions int
	for _, d := range decisions {
		switch {
		case d.Expires():
			expiring = append(expiring, d)
		case d.Action == policies.ActionTransition:
			transitions++
		default:
			c.skipped.WithLabelValues("referenced").Inc()
			c.log.DebugContext(ctx, "lifecycle: image kept, a manifest list references it", "region", repo.Region, "repository", repo.Name, "digest", d.Image.Digest, "rule", d.RulePriority, "manifest_lists", d.BlockedBy)
		}
	}
	if transitions > 0 {
		c.skipped.WithLabelValues("transition").Add(float64(transitions))
		c.log.WarnContext(ctx, "lifecycle: transition rules select images, but berth has no archive storage class; they stay in standard storage", "region", repo.Region, "repository", repo.Name, "images", transitions)
	}

	var deleted []ecrstate.Image
	for _, d := range deletionOrder(expiring) {
		// A policy put since the evaluation is applied by its own round.
		current, err := c.cfg.Catalog.GetRepository(ctx, repo)
		if errors.Is(err, registry.ErrRepositoryNotFound) {
			return deleted, nil
		}
		if err != nil {
			return deleted, err
		}
		if current.LifecyclePolicy != r.LifecyclePolicy || !current.LifecyclePolicyAt.Equal(r.LifecyclePolicyAt) {
			c.skipped.WithLabelValues("policy_changed").Inc()
			c.log.InfoContext(ctx, "lifecycle: policy changed during the round; the rest waits for the new one", "region", repo.Region, "repository", repo.Name)
			return deleted, nil
		}
		img, err := c.cfg.Catalog.DeleteImageIf(ctx, repo, d.Image.Digest, func(now ecrstate.Image) error {
			if !slices.Equal(now.Tags, d.Image.Tags) || !now.PushedAt.Equal(d.Image.PushedAt) {
				return errChanged
			}
			return nil
		})
		switch {
		case err == nil:
			deleted = append(deleted, img)
			c.expired.Inc()
			c.log.InfoContext(ctx, "lifecycle: image expired", "region", repo.Region, "repository", repo.Name, "digest", img.Digest,
				"tags", strings.Join(img.Tags, ","), "rule", d.RulePriority, "pushed_at", img.PushedAt)
		case errors.Is(err, registry.ErrImageNotFound):
			// Deleted meanwhile (by a client, or an earlier round).
		case errors.Is(err, errChanged):
			c.skipped.WithLabelValues("changed").Inc()
			c.log.InfoContext(ctx, "lifecycle: image changed since evaluated; kept for the next round", "region", repo.Region, "repository", repo.Name, "digest", d.Image.Digest)
		case errors.Is(err, registry.ErrImageReferenced):
			c.skipped.WithLabelValues("referenced").Inc()
			c.log.InfoContext(ctx, "lifecycle: image kept, a manifest list references it", "region", repo.Region, "repository", repo.Name, "digest", d.Image.Digest, "rule", d.RulePriority)
		case errors.Is(err, registry.ErrRepositoryNotFound):
			return deleted, nil
		default:
			return deleted, err
		}
	}
	return deleted, nil
}

// errPolicyReplaced ends recording an evaluation of a policy put over since.
var errPolicyReplaced = errors.New("lifecycle policy replaced")

// recordEvaluation notes on repo's record (r as evaluated) when its policy
// was evaluated, which GetLifecyclePolicy answers as lastEvaluatedAt. The
// write leaves the policy's put time alone, so the watch does not take it
// for a new policy to apply.
func (c *Controller) recordEvaluation(ctx context.Context, repo ecrstate.RepositoryID, r ecrstate.Repository, at time.Time) error {
	_, err := c.cfg.Catalog.UpdateRepository(ctx, repo, func(cur *ecrstate.Repository) error {
		if cur.LifecyclePolicy != r.LifecyclePolicy || !cur.LifecyclePolicyAt.Equal(r.LifecyclePolicyAt) {
			return errPolicyReplaced
		}
		cur.LifecyclePolicyEvaluatedAt = at
		return nil
	})
	if errors.Is(err, errPolicyReplaced) || errors.Is(err, registry.ErrRepositoryNotFound) {
		return nil // the new policy's round records its own
	}
	return err
}

// deletionOrder puts manifest lists before the images they list, so that
// an image expiring with its list is no longer referenced when its turn
// comes.
func deletionOrder(decisions []policies.Decision) []policies.Decision {
	expiring := map[digest.Digest]policies.Image{}
	for _, d := range decisions {
		expiring[d.Image.Digest] = d.Image
	}
	depth := map[digest.Digest]int{}
	var depthOf func(d digest.Digest) int
	depthOf = func(d digest.Digest) int {
		if n, ok := depth[d]; ok {
			return n
		}
		depth[d] = 0 // content addressing rules out cycles; this guards anyway
		n := 0
		for _, list := range expiring[d].ReferencedBy {
			if _, ok := expiring[list]; ok {
				n = max(n, depthOf(list)+1)
			}
		}
		depth[d] = n
		return n
	}
	ordered := slices.Clone(decisions)
	slices.SortStableFunc(ordered, func(a, b policies.Decision) int {
		return depthOf(a.Image.Digest) - depthOf(b.Image.Digest)
	})
	return ordered
}

// sawPolicy records the policy a round applied to repo (r), so the watch
// does not apply it again.
func (c *Controller) sawPolicy(repo ecrstate.RepositoryID, r ecrstate.Repository) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r.LifecyclePolicy == "" {
		delete(c.policyAt, repo)
		return
	}
	c.policyAt[repo] = r.LifecyclePolicyAt
}

// policyPut reports whether repo's record r carries a policy the
// controller has not applied yet, and records it.
func (c *Controller) policyPut(repo ecrstate.RepositoryID, r ecrstate.Repository) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r.LifecyclePolicy == "" || r.Deleting {
		delete(c.policyAt, repo)
		return false
	}
	if at, ok := c.policyAt[repo]; ok && at.Equal(r.LifecyclePolicyAt) {
		return false
	}
	c.policyAt[repo] = r.LifecyclePolicyAt
	return true
}

// follow lists the repositories, queues those with a policy not yet
// applied, and does the same for every change a watch reports.
func (c *Controller) follow(ctx context.Context, q controller.Queue) error {
	return followPrefix(ctx, c.cfg.Store, ecrstate.RepositoryPrefix, func(ev store.Event) {
		if ev.Type != store.EventDelete {
			c.observe(q, ev.KV)
			return
		}
		if repo, _, ok := ecrstate.ParseRepositoryID(strings.TrimPrefix(ev.KV.Key, ecrstate.RepositoryPrefix)); ok {
			c.mu.Lock()
			delete(c.policyAt, repo)
			c.mu.Unlock()
		}
	})
}

// followPrefix passes every record under prefix to change, as a put, then
// every change a watch from there reports, until ctx ends or the watch
// does.
func followPrefix(ctx context.Context, st store.Store, prefix string, change func(store.Event)) error {
	kvs, rev, err := st.List(ctx, prefix, store.ListOptions{})
	if err != nil {
		return err
	}
	for _, kv := range kvs {
		change(store.Event{Type: store.EventPut, KV: kv})
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	events, err := st.Watch(ctx, prefix, rev)
	if err != nil {
		return err
	}
	for ev := range events {
		change(ev)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return errors.New("watch channel closed")
}

func (c *Controller) observe(q controller.Queue, kv store.KV) {
	var r ecrstate.Repository
	repo, _, ok := ecrstate.ParseRepositoryID(strings.TrimPrefix(kv.Key, ecrstate.RepositoryPrefix))
	if err := json.Unmarshal(kv.Value, &r); err != nil || !ok {
		c.log.Error("lifecycle: undecodable repository record skipped", "key", kv.Key, "err", err)
		return
	}
	if c.policyPut(repo, r) {
		q.Add(repo.String())
	}
}
