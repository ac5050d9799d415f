package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/berth/berth/internal/ecr/ecrstate"
	policies "github.com/berth/berth/internal/ecr/lifecycle"
	"github.com/berth/berth/internal/registry"
	"github.com/berth/berth/internal/store/bolt"
)

// articlePolicy is the article's put-lifecycle-policy text, verbatim.
const articlePolicy = `{
            "rules": [
                {
                    "rulePriority": 1,
                    "description": "Keep last 10 tagged images",
                    "selection": {
                        "tagStatus": "tagged",
                        "tagPrefixList": ["v"],
                        "countType": "imageCountMoreThan",
                        "countNumber": 10
                    },
                    "action": {"type": "expire"}
                },
                {
                    "rulePriority": 2,
                    "description": "Delete untagged images older than 1 day",
                    "selection": {
                        "tagStatus": "untagged",
                        "countType": "sinceImagePushed",
                        "countUnit": "days",
                        "countNumber": 1
                    },
                    "action": {"type": "expire"}
                }
            ]
        }`

type fixture struct {
	store   *bolt.Store
	catalog *registry.Catalog
	ctrl    *Controller
	metrics *prometheus.Registry

	mu    sync.Mutex
	clock time.Time
	// onNow runs (once) the next time the controller reads the clock,
	// which it does after its snapshot and before deleting.
	onNow func()
}

func (f *fixture) now() time.Time {
	f.mu.Lock()
	hook := f.onNow
	f.onNow = nil
	f.clock = f.clock.Add(time.Millisecond)
	now := f.clock
	f.mu.Unlock()
	if hook != nil {
		hook()
	}
	return now
}

// counter reads a counter of the controller's metrics; label is the value
// of its one label, if it has one.
func (f *fixture) counter(t *testing.T, name, label string) float64 {
	t.Helper()
	families, err := f.metrics.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range families {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if labels := m.GetLabel(); label == "" || (len(labels) == 1 && labels[0].GetValue() == label) {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

func (f *fixture) advance(d time.Duration) {
	f.mu.Lock()
	f.clock = f.clock.Add(d)
	f.mu.Unlock()
}

func newFixture(t *testing.T, interval time.Duration) *fixture {
	t.Helper()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "state.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := &fixture{store: st, clock: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC), metrics: prometheus.NewRegistry()}
	f.catalog = registry.NewCatalog(st, f.now)
	f.ctrl = New(Config{Catalog: f.catalog, Store: st, Interval: interval, Now: f.now, Logger: slog.New(slog.DiscardHandler), Registerer: f.metrics})
	return f
}

func (f *fixture) createRepo(t *testing.T, name string) {
	t.Helper()
	if _, err := f.catalog.CreateRepository(context.Background(), repoID(name), ecrstate.Repository{Name: name}); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) putPolicy(t *testing.T, repo, text string) {
	t.Helper()
	_, err := f.catalog.UpdateRepository(context.Background(), repoID(repo), func(r *ecrstate.Repository) error {
		r.LifecyclePolicy, r.LifecyclePolicyAt = text, f.now()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// push stores an image with content of its own under the tags (none:
// untagged) and returns its digest.
func (f *fixture) push(t *testing.T, repo, content string, tags ...string) digest.Digest {
	t.Helper()
	ctx := context.Background()
	config, layer := "config of "+content, "layer of "+content
	for _, blob := range []string{config, layer} {
		if err := f.catalog.LinkBlob(ctx, repoID(repo), digest.FromString(blob), int64(len(blob))); err != nil {
			t.Fatal(err)
		}
	}
	manifest := fmt.Sprintf(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",`+
		`"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%d},`+
		`"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"%s","size":%d}]}`,
		digest.FromString(config), len(config), digest.FromString(layer), len(layer))
	return f.putManifest(t, repo, manifest, tags...)
}

// pushIndex stores an image index of children under the tags.
func (f *fixture) pushIndex(t *testing.T, repo string, children []digest.Digest, tags ...string) digest.Digest {
	t.Helper()
	var entries []string
	for _, c := range children {
		entries = append(entries, fmt.Sprintf(`{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"%s","size":1,"platform":{"os":"linux","architecture":"%s"}}`, c, c.Encoded()[:6]))
	}
	return f.putManifest(t, repo, `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[`+strings.Join(entries, ",")+`]}`, tags...)
}

func (f *fixture) putManifest(t *testing.T, repo, manifest string, tags ...string) digest.Digest {
	t.Helper()
	if len(tags) == 0 {
		tags = []string{""}
	}
	var d digest.Digest
	for _, tag := range tags {
		res, err := f.catalog.PutManifest(context.Background(), repoID(repo), tag, "", "", []byte(manifest))
		if err != nil {
			t.Fatal(err)
		}
		d = res.Image.Digest
	}
	return d
}

// contents lists a repository's images as sorted "tag,tag" (untagged: "-"
// and the first 6 digits).
func (f *fixture) contents(t *testing.T, repo string) string {
	t.Helper()
	images, err := f.catalog.Images(context.Background(), repoID(repo))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, img := range images {
		out = append(out, imageName(img))
	}
	slices.Sort(out)
	return strings.Join(out, " ")
}

func imageName(img ecrstate.Image) string {
	if len(img.Tags) == 0 {
		return "-" + img.Digest.Encoded()[:6]
	}
	return strings.Join(img.Tags, ",")
}

func names(images []ecrstate.Image) string {
	var out []string
	for _, img := range images {
		out = append(out, imageName(img))
	}
	slices.Sort(out)
	return strings.Join(out, " ")
}

func short(d digest.Digest) string { return "-" + d.Encoded()[:6] }

// articleRepository fills my-app: two untagged images, then two days
// later v1..v12 and a fresh untagged image. It returns the untagged
// images' names, oldest first.
func (f *fixture) articleRepository(t *testing.T) []string {
	t.Helper()
	f.createRepo(t, "my-app")
	old := []string{short(f.push(t, "my-app", "old 1")), short(f.push(t, "my-app", "old 2"))}
	f.advance(48 * time.Hour)
	for i := 1; i <= 12; i++ {
		f.push(t, "my-app", fmt.Sprintf("image v%d", i), fmt.Sprintf("v%d", i))
	}
	return append(old, short(f.push(t, "my-app", "fresh")))
}

func sortedJoin(s ...string) string {
	s = slices.Clone(s)
	slices.Sort(s)
	return strings.Join(s, " ")
}

func vTags(from, to int) []string {
	var out []string
	for i := from; i <= to; i++ {
		out = append(out, fmt.Sprintf("v%d", i))
	}
	return out
}

func TestApplyArticlePolicy(t *testing.T) {
	f := newFixture(t, 0)
	ctx := context.Background()
	untagged := f.articleRepository(t)

	// No policy, nothing happens.
	if deleted, err := f.ctrl.Apply(ctx, repoID("my-app")); err != nil || len(deleted) != 0 {
		t.Fatalf("without a policy: %v %v", deleted, err)
	}
	f.putPolicy(t, "my-app", articlePolicy)
	deleted, err := f.ctrl.Apply(ctx, repoID("my-app"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := names(deleted), sortedJoin("v1", "v2", untagged[0], untagged[1]); got != want {
		t.Fatalf("expired %q, want %q", got, want)
	}
	if got, want := f.contents(t, "my-app"), sortedJoin(append(vTags(3, 12), untagged[2])...); got != want {
		t.Fatalf("left %q, want %q", got, want)
	}
	// Pulls fail: the tag and the image are gone.
	if _, err := f.catalog.Image(ctx, repoID("my-app"), "v1"); !errors.Is(err, registry.ErrImageNotFound) {
		t.Fatalf("pull v1: %v", err)
	}
	if got := f.counter(t, "berth_ecr_lifecycle_images_expired_total", ""); got != 4 {
		t.Fatalf("expired counter %v", got)
	}

	// Applying again changes nothing.
	if deleted, err := f.ctrl.Apply(ctx, repoID("my-app")); err != nil || len(deleted) != 0 {
		t.Fatalf("second round: %v %v", names(deleted), err)
	}
	// A day later the fresh untagged image is older than a day.
	f.advance(24 * time.Hour)
	deleted, err = f.ctrl.Apply(ctx, repoID("my-app"))
	if err != nil || names(deleted) != untagged[2] {
		t.Fatalf("a day later: %q %v", names(deleted), err)
	}
	// Two more pushes push v3 and v4 past the last ten.
	f.push(t, "my-app", "image v13", "v13")
	f.push(t, "my-app", "image v14", "v14")
	deleted, err = f.ctrl.Apply(ctx, repoID("my-app"))
	if err != nil || names(deleted) != "v3 v4" {
		t.Fatalf("after two pushes: %q %v", names(deleted), err)
	}
}

func TestApplyKeepsImagesChangedSinceEvaluation(t *testing.T) {
	f := newFixture(t, 0)
	ctx := context.Background()
	f.articleRepository(t)
	f.putPolicy(t, "my-app", articlePolicy)
	v1 := f.catalogImage(t, "my-app", "v1")
	// Between the snapshot and the deletions, v1 gets another tag.
	f.onNow = func() { f.putManifest(t, "my-app", string(v1.Manifest), "release") }
	deleted, err := f.ctrl.Apply(ctx, repoID("my-app"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(names(deleted), "v1") || !strings.Contains(names(deleted), "v2") {
		t.Fatalf("expired %q", names(deleted))
	}
	if got := f.catalogImage(t, "my-app", "release"); got.Digest != v1.Digest {
		t.Fatalf("release is %s", got.Digest)
	}
	if got := f.counter(t, "berth_ecr_lifecycle_images_skipped_total", "changed"); got != 1 {
		t.Fatalf("skipped changed %v", got)
	}
	// The next round decides anew: v1 (now also "release") is still a v
	// image past the last ten.
	deleted, err = f.ctrl.Apply(ctx, repoID("my-app"))
	if err != nil || names(deleted) != "release,v1" {
		t.Fatalf("next round: %q %v", names(deleted), err)
	}
}

func TestApplyStopsWhenPolicyChanges(t *testing.T) {
	f := newFixture(t, 0)
	ctx := context.Background()
	f.articleRepository(t)
	f.putPolicy(t, "my-app", articlePolicy)
	keepAll := `{"rules":[{"rulePriority":1,"selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":100},"action":{"type":"expire"}}]}`
	f.onNow = func() { f.putPolicy(t, "my-app", keepAll) }
	deleted, err := f.ctrl.Apply(ctx, repoID("my-app"))
	if err != nil || len(deleted) != 0 {
		t.Fatalf("expired %q %v", names(deleted), err)
	}
	if deleted, err := f.ctrl.Apply(ctx, repoID("my-app")); err != nil || len(deleted) != 0 {
		t.Fatalf("under the new policy: %q %v", names(deleted), err)
	}
}

func (f *fixture) catalogImage(t *testing.T, repo, ref string) ecrstate.Image {
	t.Helper()
	img, err := f.catalog.Image(context.Background(), repoID(repo), ref)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func TestApplyManifestLists(t *testing.T) {
	f := newFixture(t, 0)
	ctx := context.Background()
	f.createRepo(t, "multi")
	amd, arm := f.push(t, "multi", "amd64"), f.push(t, "multi", "arm64")
	index := f.pushIndex(t, "multi", []digest.Digest{amd, arm}, "1.0")
	loose := f.push(t, "multi", "loose")
	f.advance(48 * time.Hour)

	// The untagged children are old enough, but the index keeps them.
	f.putPolicy(t, "multi", `{"rules":[{"rulePriority":1,"selection":{"tagStatus":"untagged","countType":"sinceImagePushed","countUnit":"days","countNumber":1},"action":{"type":"expire"}}]}`)
	deleted, err := f.ctrl.Apply(ctx, repoID("multi"))
	if err != nil || names(deleted) != short(loose) {
		t.Fatalf("expired %q %v", names(deleted), err)
	}
	// A policy that expires the index too deletes it first, then them.
	f.push(t, "multi", "newest", "2.0")
	f.putPolicy(t, "multi", `{"rules":[{"rulePriority":1,"selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":1},"action":{"type":"expire"}}]}`)
	deleted, err = f.ctrl.Apply(ctx, repoID("multi"))
	if err != nil {
		t.Fatal(err)
	}
	if len(deleted) != 3 || deleted[0].Digest != index {
		t.Fatalf("expired %q, index first", names(deleted))
	}
	if got := f.contents(t, "multi"); got != "2.0" {
		t.Fatalf("left %q", got)
	}
}

// TestResyncAndMissingRepositories: a resync queues the repositories with
// a policy, and reconciling them applies it; a repository gone is no
// error.
func TestResyncAndMissingRepositories(t *testing.T) {
	f := newFixture(t, 0)
	ctx := context.Background()
	f.createRepo(t, "a")
	f.createRepo(t, "b")
	f.createRepo(t, "no-policy")
	for _, repo := range []string{"a", "b", "no-policy"} {
		f.push(t, repo, repo+" old")
	}
	f.advance(48 * time.Hour)
	f.putPolicy(t, "a", articlePolicy)
	f.putPolicy(t, "b", articlePolicy)
	repos, err := f.ctrl.policyRepositories(ctx)
	if err != nil || !slices.Equal(repos, []string{"us-east-1|a", "us-east-1|b"}) {
		t.Fatalf("repositories with a policy: %q %v", repos, err)
	}
	for _, repo := range repos {
		if _, err := f.ctrl.Reconcile(ctx, repo); err != nil {
			t.Fatal(err)
		}
	}
	for repo, want := range map[string]int{"a": 0, "b": 0, "no-policy": 1} {
		images, err := f.catalog.Images(ctx, repoID(repo))
		if err != nil || len(images) != want {
			t.Fatalf("%s: %d images (%v), want %d", repo, len(images), err, want)
		}
	}
	if deleted, err := f.ctrl.Apply(ctx, repoID("gone")); err != nil || deleted != nil {
		t.Fatalf("missing repository: %v %v", deleted, err)
	}
	if got := f.counter(t, "berth_ecr_lifecycle_rounds_total", "ok"); got != 2 {
		t.Fatalf("%v rounds, want 2", got)
	}
}

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func runController(t *testing.T, f *fixture) { runUntilCleanup(t, f.ctrl.Run) }

// runUntilCleanup runs run until the test ends, and fails the test if it
// returns an error then.
func runUntilCleanup(t *testing.T, run func(context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
}

func TestRunAppliesPoliciesWhenPut(t *testing.T) {
	// An interval far longer than the test: only the put can trigger.
	f := newFixture(t, time.Hour)
	f.articleRepository(t)
	runController(t, f)
	time.Sleep(50 * time.Millisecond) // the first round finds no policy
	f.putPolicy(t, "my-app", articlePolicy)
	waitFor(t, "the put policy to expire images", func() bool { return !strings.Contains(f.contents(t, "my-app"), "v1 ") })
	waitFor(t, "four expirations", func() bool { return f.counter(t, "berth_ecr_lifecycle_images_expired_total", "") == 4 })
	// Another push waits for the interval.
	f.push(t, "my-app", "image v13", "v13")
	time.Sleep(100 * time.Millisecond)
	if !strings.Contains(f.contents(t, "my-app"), "v3") {
		t.Fatal("v3 expired without a round")
	}
}

func TestRunAppliesPoliciesOnInterval(t *testing.T) {
	f := newFixture(t, 50*time.Millisecond)
	f.articleRepository(t)
	f.putPolicy(t, "my-app", articlePolicy)
	runController(t, f)
	waitFor(t, "the first round", func() bool { return f.counter(t, "berth_ecr_lifecycle_images_expired_total", "") == 4 })
	f.push(t, "my-app", "image v13", "v13")
	waitFor(t, "an interval round to expire v3", func() bool { return !strings.Contains(f.contents(t, "my-app"), "v3") })
	if got := f.counter(t, "berth_ecr_lifecycle_rounds_total", "error"); got != 0 {
		t.Fatalf("%v failed rounds", got)
	}
}

func TestDeletionOrder(t *testing.T) {
	f := newFixture(t, 0)
	f.createRepo(t, "r")
	a, b := f.push(t, "r", "a"), f.push(t, "r", "b")
	inner := f.pushIndex(t, "r", []digest.Digest{a}, "inner")
	outer := f.pushIndex(t, "r", []digest.Digest{inner, b}, "outer")
	images, err := f.catalog.Images(context.Background(), repoID("r"))
	if err != nil {
		t.Fatal(err)
	}
	var decisions []policies.Decision
	for _, img := range policies.Snapshot(images) {
		decisions = append(decisions, policies.Decision{Image: img, Action: "expire"})
	}
	var order []digest.Digest
	for _, d := range deletionOrder(decisions) {
		order = append(order, d.Image.Digest)
	}
	pos := func(d digest.Digest) int { return slices.Index(order, d) }
	if pos(outer) > pos(inner) || pos(inner) > pos(a) || pos(outer) > pos(b) {
		t.Fatalf("order %v: outer %s inner %s", order, outer, inner)
	}
}

// repoID is repository name in the region the tests work in.
func repoID(name string) ecrstate.RepositoryID {
	return ecrstate.RepositoryID{Region: "us-east-1", Name: name}
}

// A round records when it evaluated the policy (GetLifecyclePolicy's
// lastEvaluatedAt), and that write is not taken for a new policy: the put
// causes one round, not an endless chain of them.
func TestRoundRecordsEvaluationWithoutRetriggering(t *testing.T) {
	f := newFixture(t, time.Hour)
	f.articleRepository(t)
	runController(t, f)
	time.Sleep(50 * time.Millisecond) // the first round finds no policy
	f.putPolicy(t, "my-app", articlePolicy)
	waitFor(t, "the round the put causes", func() bool { return f.counter(t, "berth_ecr_lifecycle_rounds_total", "ok") == 1 })
	waitFor(t, "the evaluation to be recorded", func() bool {
		r, err := f.catalog.GetRepository(context.Background(), repoID("my-app"))
		return err == nil && r.LifecyclePolicyEvaluatedAt.After(r.LifecyclePolicyAt)
	})
	time.Sleep(200 * time.Millisecond)
	if got := f.counter(t, "berth_ecr_lifecycle_rounds_total", "ok"); got != 1 {
		t.Fatalf("%v rounds after one put, want 1", got)
	}
}
