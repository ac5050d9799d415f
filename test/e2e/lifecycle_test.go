package e2e

import (
	"bufio"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// lifecycleInterval is the server's --lifecycle-interval in the lifecycle
// test: short, so a round comes during the test.
const lifecycleInterval = 2 * time.Second

// TestLifecyclePolicyExpiresImages follows the article's "Lifecycle
// Policies" section with the aws CLI (v1) against images pushed with
// go-containerregistry: the preview shows what the policy expires, putting
// the policy expires it for real (DescribeImages no longer lists the
// images, pulls fail), later pushes are expired by the interval's rounds,
// and a restarted server carries on.
//
// The rule on untagged images older than a day is covered by unit tests
// with a controllable clock (internal/ecr/lifecycle, internal/controller/
// lifecycle): a server only has the real clock, so here the untagged
// images are fresh and must survive.
func TestLifecyclePolicyExpiresImages(t *testing.T) {
	s := StartServer(t, ServerOptions{Args: []string{"--lifecycle-interval", lifecycleInterval.String()}})
	s.AWS(t, "ecr", "create-repository", "--repository-name", "my-app").OK(t)
	reg := newImagePusher(t, s, "my-app")

	digests := map[string]string{}
	for i := 1; i <= 12; i++ {
		tag := "v" + strconv.Itoa(i)
		digests[tag] = reg.push(t, tag)
	}
	untagged := []string{reg.push(t, ""), reg.push(t, "")}
	digests["latest"] = reg.push(t, "latest")

	// Preview the article's policy before putting it.
	var started struct {
		RepositoryName, LifecyclePolicyText, Status string
	}
	s.AWS(t, "ecr", "start-lifecycle-policy-preview", "--repository-name", "my-app",
		"--lifecycle-policy-text", articleLifecyclePolicy).OK(t).Decode(t, &started)
	// ECR answers at once and completes the preview in the background; the
	// CLI's waiter waits for it.
	if started.RepositoryName != "my-app" || started.LifecyclePolicyText != articleLifecyclePolicy || started.Status != "IN_PROGRESS" {
		t.Fatalf("start-lifecycle-policy-preview: %+v", started)
	}
	s.AWS(t, "ecr", "wait", "lifecycle-policy-preview-complete", "--repository-name", "my-app").OK(t)
	preview := getLifecyclePreview(t, s)
	if preview.Status != "COMPLETE" || preview.LifecyclePolicyText != articleLifecyclePolicy || preview.Summary.ExpiringImageTotalCount != 2 {
		t.Fatalf("get-lifecycle-policy-preview: %+v", preview)
	}
	want := []previewLine{{digests["v1"], "v1", 1, "EXPIRE"}, {digests["v2"], "v2", 1, "EXPIRE"}}
	if got := preview.lines(); !slices.Equal(got, want) {
		t.Fatalf("preview\n got %v\nwant %v", got, want)
	}
	// The CLI pages with --max-items, through nextToken.
	var page lifecyclePreviewOutput
	s.AWS(t, "ecr", "get-lifecycle-policy-preview", "--repository-name", "my-app", "--max-items", "1").OK(t).Decode(t, &page)
	if got := page.lines(); !slices.Equal(got, want[:1]) || page.NextToken == "" {
		t.Fatalf("first page: %v, next token %q", got, page.NextToken)
	}
	// Previewing deleted nothing.
	if got := describeImageTags(t, s); len(got) != 15 {
		t.Fatalf("after the preview: %v", got)
	}

	// Put the policy, verbatim: it applies at once.
	s.AWS(t, articlePutLifecycle...).OK(t)
	keptTags := []string{"latest"}
	for i := 3; i <= 12; i++ {
		keptTags = append(keptTags, "v"+strconv.Itoa(i))
	}
	waitImages(t, s, "v1 and v2 to expire", keptTags, untagged)
	for _, tag := range []string{"v1", "v2"} {
		reg.pullFails(t, tag)
		reg.pullFails(t, digests[tag])
	}
	reg.pulls(t, "v3")

	// Later pushes wait for the interval's round: v13 pushes v3 out.
	digests["v13"] = reg.push(t, "v13")
	keptTags = append(slices.DeleteFunc(keptTags, func(tag string) bool { return tag == "v3" }), "v13")
	waitImages(t, s, "a round to expire v3", keptTags, untagged)
	reg.pullFails(t, "v3")
	if got := expiredMetric(t, s); got != 3 {
		t.Fatalf("berth_ecr_lifecycle_images_expired_total %v, want 3", got)
	}
	// The server logs each expiry.
	logLines := strings.Split(tail(s.LogPath, 64<<20), "\n")
	for _, tag := range []string{"v1", "v2", "v3"} {
		if !slices.ContainsFunc(logLines, func(line string) bool {
			return strings.Contains(line, "lifecycle: image expired") && strings.Contains(line, digests[tag])
		}) {
			t.Fatalf("no line on the expiry of %s (%s) in the server log", tag, digests[tag])
		}
	}

	// A restarted server keeps the preview and goes on expiring.
	s.KillAndRestart(t)
	if got := getLifecyclePreview(t, s).lines(); !slices.Equal(got, want) {
		t.Fatalf("preview after a restart: %v", got)
	}
	reg = newImagePusher(t, s, "my-app") // a new server, a new password
	reg.push(t, "v14")
	keptTags = append(slices.DeleteFunc(keptTags, func(tag string) bool { return tag == "v4" }), "v14")
	waitImages(t, s, "v4 to expire after the restart", keptTags, untagged)

	// The stored policy's preview now expires nothing.
	s.AWS(t, "ecr", "start-lifecycle-policy-preview", "--repository-name", "my-app").OK(t)
	s.AWS(t, "ecr", "wait", "lifecycle-policy-preview-complete", "--repository-name", "my-app").OK(t)
	if p := getLifecyclePreview(t, s); p.Status != "COMPLETE" || p.Summary.ExpiringImageTotalCount != 0 || len(p.PreviewResults) != 0 {
		t.Fatalf("stored policy preview: %+v", p)
	}
}

// imagePusher pushes random images to a repository of the server and pulls
// them back, with go-containerregistry and the password
// `aws ecr get-login-password` prints.
type imagePusher struct {
	host, repo string
	auth       remote.Option
}

func newImagePusher(t *testing.T, s *Server, repo string) *imagePusher {
	t.Helper()
	password := strings.TrimSpace(s.AWS(t, "ecr", "get-login-password").OK(t).Stdout)
	return &imagePusher{host: s.RegistryHost, repo: repo, auth: remote.WithAuth(&authn.Basic{Username: "AWS", Password: password})}
}

func (p *imagePusher) ref(t *testing.T, tagOrDigest string) name.Reference {
	t.Helper()
	sep := ":"
	if strings.HasPrefix(tagOrDigest, "sha256:") {
		sep = "@"
	}
	ref, err := name.ParseReference(p.host+"/"+p.repo+sep+tagOrDigest, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

// push pushes a new random image under tag, or untagged (by digest) if tag
// is empty, and returns its digest.
func (p *imagePusher) push(t *testing.T, tag string) string {
	t.Helper()
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	ref := tag
	if ref == "" {
		ref = d.String()
	}
	if err := remote.Write(p.ref(t, ref), img, p.auth); err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
	return d.String()
}

func (p *imagePusher) pulls(t *testing.T, ref string) v1.Image {
	t.Helper()
	img, err := remote.Image(p.ref(t, ref), p.auth)
	if err != nil {
		t.Fatalf("pull %s: %v", ref, err)
	}
	return img
}

// pullFails fails the test unless pulling ref fails as for an image that is
// gone: MANIFEST_UNKNOWN.
func (p *imagePusher) pullFails(t *testing.T, ref string) {
	t.Helper()
	_, err := remote.Image(p.ref(t, ref), p.auth)
	if err == nil || !strings.Contains(err.Error(), "MANIFEST_UNKNOWN") {
		t.Fatalf("pull %s: %v, want MANIFEST_UNKNOWN", ref, err)
	}
}

type lifecyclePreviewOutput struct {
	RepositoryName, LifecyclePolicyText, Status, NextToken string
	PreviewResults                                         []struct {
		ImageDigest         string
		ImageTags           []string
		AppliedRulePriority int
		Action              struct{ Type string }
	}
	Summary struct{ ExpiringImageTotalCount int }
}

type previewLine struct {
	digest, tags string
	rule         int
	action       string
}

func (p lifecyclePreviewOutput) lines() []previewLine {
	var out []previewLine
	for _, r := range p.PreviewResults {
		out = append(out, previewLine{r.ImageDigest, strings.Join(r.ImageTags, ","), r.AppliedRulePriority, r.Action.Type})
	}
	return out
}

func getLifecyclePreview(t *testing.T, s *Server) lifecyclePreviewOutput {
	t.Helper()
	var out lifecyclePreviewOutput
	s.AWS(t, "ecr", "get-lifecycle-policy-preview", "--repository-name", "my-app").OK(t).Decode(t, &out)
	return out
}

// describeImageTags lists my-app's images as `aws ecr describe-images`
// shows them: tags joined by commas, untagged images by digest; sorted.
func describeImageTags(t *testing.T, s *Server) []string {
	t.Helper()
	var out struct {
		ImageDetails []struct {
			ImageDigest string
			ImageTags   []string
		}
	}
	s.AWS(t, "ecr", "describe-images", "--repository-name", "my-app").OK(t).Decode(t, &out)
	var images []string
	for _, d := range out.ImageDetails {
		if len(d.ImageTags) == 0 {
			images = append(images, d.ImageDigest)
			continue
		}
		images = append(images, strings.Join(d.ImageTags, ","))
	}
	slices.Sort(images)
	return images
}

// waitImages waits until describe-images lists exactly the tags and the
// untagged digests.
func waitImages(t *testing.T, s *Server, what string, tags, untagged []string) {
	t.Helper()
	want := slices.Concat(tags, untagged)
	slices.Sort(want)
	deadline := time.Now().Add(5*lifecycleInterval + 20*time.Second)
	for {
		got := describeImageTags(t, s)
		if slices.Equal(got, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: describe-images lists\n%v\nwant\n%v", what, got, want)
		}
		time.Sleep(lifecycleInterval / 2)
	}
}

// expiredMetric reads berth_ecr_lifecycle_images_expired_total.
func expiredMetric(t *testing.T, s *Server) float64 {
	t.Helper()
	resp, err := http.Get(s.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "berth_ecr_lifecycle_images_expired_total "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
	}
	t.Fatalf("no berth_ecr_lifecycle_images_expired_total in /metrics (%v)", sc.Err())
	return 0
}
