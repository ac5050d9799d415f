package ecr

import (
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/berth/berth/internal/awsapi"
	lifecyclecontroller "github.com/berth/berth/internal/controller/lifecycle"
	"github.com/berth/berth/internal/ecr/ecrstate"
	"github.com/berth/berth/internal/ecr/ecrtypes"
	"github.com/berth/berth/internal/store"
)

// articleRepository creates my-app holding two untagged images pushed two
// days before v1..v12 and one untagged image pushed after them; it returns
// the tags' digests and the untagged images' digests, oldest first.
func articleRepository(t *testing.T, f *fixture) (map[string]string, []string) {
	t.Helper()
	createRepo(t, f, "my-app")
	untagged := []string{pushImage(t, f, "my-app", "old 1").String(), pushImage(t, f, "my-app", "old 2").String()}
	f.mu.Lock()
	f.clock = f.clock.Add(48 * time.Hour)
	f.mu.Unlock()
	tags := map[string]string{}
	for i := 1; i <= 12; i++ {
		tag := "v" + strconv.Itoa(i)
		tags[tag] = pushImage(t, f, "my-app", "image "+tag, tag).String()
	}
	untagged = append(untagged, pushImage(t, f, "my-app", "fresh").String())
	return tags, untagged
}

type previewRow struct {
	digest   string
	tags     string
	priority int32
	action   string
}

func previewRows(out *ecrtypes.GetLifecyclePolicyPreviewResponse) []previewRow {
	var rows []previewRow
	for _, r := range out.PreviewResults {
		rows = append(rows, previewRow{*r.ImageDigest, strings.Join(r.ImageTags, ","), *r.AppliedRulePriority, *r.Action.Type})
	}
	return rows
}

func getPreview(t *testing.T, f *fixture, in *ecrtypes.GetLifecyclePolicyPreviewRequest) *ecrtypes.GetLifecyclePolicyPreviewResponse {
	t.Helper()
	if in.RepositoryName == nil {
		in.RepositoryName = str("my-app")
	}
	return mustCall[ecrtypes.GetLifecyclePolicyPreviewResponse](t, f, "GetLifecyclePolicyPreview", in)
}

// completePreview runs the lifecycle controller's preview runner over
// repo's preview, as the server does in the background.
func completePreview(t *testing.T, f *fixture, repo string) {
	t.Helper()
	runner := lifecyclecontroller.NewPreviews(lifecyclecontroller.PreviewConfig{Catalog: f.catalog, Store: f.store, Now: f.now, Logger: slog.New(slog.DiscardHandler)})
	if err := runner.Complete(context.Background(), repoID(repo)); err != nil {
		t.Fatal(err)
	}
}

func TestLifecyclePolicyPreview(t *testing.T) {
	f := newFixture(t)
	tags, untagged := articleRepository(t, f)

	_, err := call[ecrtypes.GetLifecyclePolicyPreviewResponse](t, f, "GetLifecyclePolicyPreview", &ecrtypes.GetLifecyclePolicyPreviewRequest{RepositoryName: str("my-app")})
	wantErr(t, err, "LifecyclePolicyPreviewNotFoundException", "Lifecycle policy preview request does not exist for the repository with name 'my-app' in the registry with id '123456789012'")
	_, err = call[ecrtypes.StartLifecyclePolicyPreviewResponse](t, f, "StartLifecyclePolicyPreview", &ecrtypes.StartLifecyclePolicyPreviewRequest{RepositoryName: str("my-app")})
	wantErr(t, err, "LifecyclePolicyNotFoundException", "Lifecycle policy does not exist for the repository with name 'my-app' in the registry with id '123456789012'")
	_, err = call[ecrtypes.StartLifecyclePolicyPreviewResponse](t, f, "StartLifecyclePolicyPreview", &ecrtypes.StartLifecyclePolicyPreviewRequest{RepositoryName: str("my-app"), LifecyclePolicyText: str(policy(rule(1, selAny), rule(2, selTagged)))})
	wantErr(t, err, "InvalidParameterException", "Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: 'Lifecycle policy validation failure: Rule for tagStatus=ANY must have the lowest priority per storage class'")
	_, err = call[ecrtypes.StartLifecyclePolicyPreviewResponse](t, f, "StartLifecyclePolicyPreview", &ecrtypes.StartLifecyclePolicyPreviewRequest{RepositoryName: str("nope"), LifecyclePolicyText: str(articlePolicy)})
	wantErr(t, err, "RepositoryNotFoundException", "The repository with name 'nope' does not exist in the registry with id '123456789012'")

	// The preview answers IN_PROGRESS and completes in the background,
	// as ECR's does.
	start := mustCall[ecrtypes.StartLifecyclePolicyPreviewResponse](t, f, "StartLifecyclePolicyPreview", &ecrtypes.StartLifecyclePolicyPreviewRequest{RepositoryName: str("my-app"), LifecyclePolicyText: str(articlePolicy)})
	if *start.Status != "IN_PROGRESS" || *start.LifecyclePolicyText != articlePolicy || *start.RepositoryName != "my-app" || *start.RegistryId != testAccount {
		t.Fatalf("start: %+v", start)
	}
	if out := getPreview(t, f, &ecrtypes.GetLifecyclePolicyPreviewRequest{}); *out.Status != "IN_PROGRESS" || len(out.PreviewResults) != 0 || out.Summary != nil {
		t.Fatalf("before the runner: %+v", out)
	}
	completePreview(t, f, "my-app")
	// The article's policy keeps the newest ten v images and the untagged
	// image under a day old.
	want := []previewRow{
		{tags["v1"], "v1", 1, "EXPIRE"},
		{tags["v2"], "v2", 1, "EXPIRE"},
		{untagged[0], "", 2, "EXPIRE"},
		{untagged[1], "", 2, "EXPIRE"},
	}
	out := getPreview(t, f, &ecrtypes.GetLifecyclePolicyPreviewRequest{})
	if got := previewRows(out); !slices.Equal(got, want) {
		t.Fatalf("preview\n got %v\nwant %v", got, want)
	}
	if *out.Status != "COMPLETE" || *out.LifecyclePolicyText != articlePolicy || *out.Summary.ExpiringImageTotalCount != 4 || out.Summary.TransitioningImageTotalCounts != nil || out.NextToken != nil {
		t.Fatalf("preview: %+v", out)
	}
	r := out.PreviewResults[0]
	if *r.StorageClass != "STANDARD" || r.ImagePushedAt == nil || r.Action.TargetStorageClass != nil {
		t.Fatalf("result %+v", r)
	}
	// The wire shape: untagged results carry no imageTags.
	b, _ := json.Marshal(out.PreviewResults[2])
	if strings.Contains(string(b), "imageTags") || !strings.Contains(string(b), `"action":{"type":"EXPIRE"}`) {
		t.Fatalf("result JSON %s", b)
	}

	// Filters, image ids, pages.
	if got := previewRows(getPreview(t, f, &ecrtypes.GetLifecyclePolicyPreviewRequest{Filter: &ecrtypes.LifecyclePolicyPreviewFilter{TagStatus: str("TAGGED")}})); !slices.Equal(got, want[:2]) {
		t.Fatalf("tagged: %v", got)
	}
	untaggedOut := getPreview(t, f, &ecrtypes.GetLifecyclePolicyPreviewRequest{Filter: &ecrtypes.LifecyclePolicyPreviewFilter{TagStatus: str("UNTAGGED")}})
	if got := previewRows(untaggedOut); !slices.Equal(got, want[2:]) || *untaggedOut.Summary.ExpiringImageTotalCount != 4 {
		t.Fatalf("untagged: %v", got)
	}
	byID := getPreview(t, f, &ecrtypes.GetLifecyclePolicyPreviewRequest{ImageIds: []ecrtypes.ImageIdentifier{{ImageTag: str("v2")}, {ImageDigest: str(untagged[1])}, {ImageTag: str("v12")}, {ImageDigest: str(tags["v1"]), ImageTag: str("v2")}}})
	if got := previewRows(byID); !slices.Equal(got, []previewRow{want[1], want[3]}) {
		t.Fatalf("by id: %v", got)
	}
	var paged []previewRow
	var token *string
	for pages := 0; ; pages++ {
		page := getPreview(t, f, &ecrtypes.GetLifecyclePolicyPreviewRequest{MaxResults: awsapi.Int32(3), NextToken: token})
		paged = append(paged, previewRows(page)...)
		if token = page.NextToken; token == nil {
			if pages != 1 {
				t.Fatalf("%d pages", pages+1)
			}
			break
		}
	}
	if !slices.Equal(paged, want) {
		t.Fatalf("paged: %v", paged)
	}
	_, err = call[ecrtypes.GetLifecyclePolicyPreviewResponse](t, f, "GetLifecyclePolicyPreview", &ecrtypes.GetLifecyclePolicyPreviewRequest{RepositoryName: str("my-app"), NextToken: str("garbage")})
	wantErr(t, err, "InvalidParameterException", "Invalid parameter at 'nextToken' failed to satisfy constraint: 'Invalid NextToken'")
	_, err = call[ecrtypes.GetLifecyclePolicyPreviewResponse](t, f, "GetLifecyclePolicyPreview", &ecrtypes.GetLifecyclePolicyPreviewRequest{RepositoryName: str("my-app"), MaxResults: awsapi.Int32(5), ImageIds: []ecrtypes.ImageIdentifier{{ImageTag: str("v1")}}})
	wantErr(t, err, "InvalidParameterException", "")
	_, err = call[ecrtypes.GetLifecyclePolicyPreviewResponse](t, f, "GetLifecyclePolicyPreview", &ecrtypes.GetLifecyclePolicyPreviewRequest{RepositoryName: str("my-app"), Filter: &ecrtypes.LifecyclePolicyPreviewFilter{TagStatus: str("tagged")}})
	wantErr(t, err, "InvalidParameterException", "")

	// A token of an older preview does not page a newer one.
	first := getPreview(t, f, &ecrtypes.GetLifecyclePolicyPreviewRequest{MaxResults: awsapi.Int32(1)})

	// The stored policy is previewed when no text is given; the preview is
	// kept in the store, so another server on it reads it.
	mustCall[ecrtypes.PutLifecyclePolicyResponse](t, f, "PutLifecyclePolicy", &ecrtypes.PutLifecyclePolicyRequest{RepositoryName: str("my-app"), LifecyclePolicyText: str(policy(rule(1, `{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":14}`)))})
	start = mustCall[ecrtypes.StartLifecyclePolicyPreviewResponse](t, f, "StartLifecyclePolicyPreview", &ecrtypes.StartLifecyclePolicyPreviewRequest{RepositoryName: str("my-app")})
	if *start.Status != "IN_PROGRESS" || !strings.Contains(*start.LifecyclePolicyText, `"countNumber":14`) {
		t.Fatalf("start stored: %+v", start)
	}
	completePreview(t, f, "my-app")
	_, err = call[ecrtypes.GetLifecyclePolicyPreviewResponse](t, f, "GetLifecyclePolicyPreview", &ecrtypes.GetLifecyclePolicyPreviewRequest{RepositoryName: str("my-app"), MaxResults: awsapi.Int32(1), NextToken: first.NextToken})
	wantErr(t, err, "InvalidParameterException", "Invalid parameter at 'nextToken' failed to satisfy constraint: 'Invalid NextToken'")
	other := &fixture{store: f.store, catalog: f.catalog, clock: f.clock}
	other.svc = NewService(Config{Catalog: f.catalog, Blobs: f.blobs, Tokens: f.tokens, Store: f.store, AccountID: testAccount, Region: testRegion, RegistryHost: testHost, Now: other.now, Logger: slog.New(slog.DiscardHandler)})
	stored := getPreview(t, other, &ecrtypes.GetLifecyclePolicyPreviewRequest{})
	if got := previewRows(stored); !slices.Equal(got, []previewRow{{untagged[0], "", 1, "EXPIRE"}}) || *stored.Summary.ExpiringImageTotalCount != 1 {
		t.Fatalf("stored policy preview: %v", got)
	}

	// Previewing deletes nothing.
	images := mustCall[ecrtypes.DescribeImagesResponse](t, f, "DescribeImages", &ecrtypes.DescribeImagesRequest{RepositoryName: str("my-app")})
	if len(images.ImageDetails) != 15 {
		t.Fatalf("%d images after previews", len(images.ImageDetails))
	}

	// A repository deleted and created again has no preview.
	mustCall[ecrtypes.DeleteRepositoryResponse](t, f, "DeleteRepository", &ecrtypes.DeleteRepositoryRequest{RepositoryName: str("my-app"), Force: awsapi.Bool(true)})
	createRepo(t, f, "my-app")
	_, err = call[ecrtypes.GetLifecyclePolicyPreviewResponse](t, f, "GetLifecyclePolicyPreview", &ecrtypes.GetLifecyclePolicyPreviewRequest{RepositoryName: str("my-app")})
	wantErr(t, err, "LifecyclePolicyPreviewNotFoundException", "")
}

func TestLifecyclePolicyPreviewInProgress(t *testing.T) {
	f := newFixture(t)
	createRepo(t, f, "my-app")
	repo, err := f.catalog.GetRepository(context.Background(), repoID("my-app"))
	if err != nil {
		t.Fatal(err)
	}
	// A preview a crash interrupted: IN_PROGRESS since now.
	b, _ := json.Marshal(ecrstate.LifecyclePreview{RepositoryCreatedAt: repo.CreatedAt, PolicyText: articlePolicy, Status: "IN_PROGRESS", StartedAt: f.now()})
	if _, err := f.store.Txn(context.Background(), store.Txn{Then: []store.Op{store.Put(ecrstate.LifecyclePreviewKey(repoID("my-app")), b)}}); err != nil {
		t.Fatal(err)
	}
	out := getPreview(t, f, &ecrtypes.GetLifecyclePolicyPreviewRequest{})
	if *out.Status != "IN_PROGRESS" || len(out.PreviewResults) != 0 || out.Summary != nil {
		t.Fatalf("in progress: %+v", out)
	}
	_, err = call[ecrtypes.StartLifecyclePolicyPreviewResponse](t, f, "StartLifecyclePolicyPreview", &ecrtypes.StartLifecyclePolicyPreviewRequest{RepositoryName: str("my-app"), LifecyclePolicyText: str(articlePolicy)})
	wantErr(t, err, "LifecyclePolicyPreviewInProgressException", "The previous lifecycle policy preview request has not completed for the repository with name 'my-app' in the registry with id '123456789012'. Wait and try again.")

	// Past the limit it has failed, and a new preview may start.
	f.mu.Lock()
	f.clock = f.clock.Add(ecrstate.PreviewStaleAfter)
	f.mu.Unlock()
	if out := getPreview(t, f, &ecrtypes.GetLifecyclePolicyPreviewRequest{}); *out.Status != "FAILED" {
		t.Fatalf("stale: %+v", out)
	}
	mustCall[ecrtypes.StartLifecyclePolicyPreviewResponse](t, f, "StartLifecyclePolicyPreview", &ecrtypes.StartLifecyclePolicyPreviewRequest{RepositoryName: str("my-app"), LifecyclePolicyText: str(articlePolicy)})
	completePreview(t, f, "my-app")
	if out := getPreview(t, f, &ecrtypes.GetLifecyclePolicyPreviewRequest{}); *out.Status != "COMPLETE" || *out.Summary.ExpiringImageTotalCount != 0 || out.PreviewResults == nil {
		t.Fatalf("empty repository: %+v", out)
	}
}
