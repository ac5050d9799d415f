package e2e

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"
)

const (
	ociManifestType = "application/vnd.oci.image.manifest.v1+json"
	ociConfigType   = "application/vnd.oci.image.config.v1+json"
	ociLayerType    = "application/vnd.oci.image.layer.v1.tar+gzip"
)

// TestECRWithSDK drives the ECR API with aws-sdk-go-v2, the client most
// tools embed: its paginators, the layer-upload API (whose images docker
// then pulls), batch failures, tags, policies and authorization.
func TestECRWithSDK(t *testing.T) {
	s := StartServer(t, ServerOptions{})
	client := ecrClient(s)
	ctx := context.Background()
	createRepository := func(t *testing.T, name string, tags ...types.Tag) types.Repository {
		t.Helper()
		out, err := client.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String(name), Tags: tags})
		if err != nil {
			t.Fatalf("CreateRepository %s: %v", name, err)
		}
		return *out.Repository
	}

	// First, while the registry holds only these 25 repositories.
	t.Run("DescribeRepositoriesPagination", func(t *testing.T) {
		created := map[string]bool{}
		for i := range 25 {
			name := fmt.Sprintf("page/repo-%02d", i)
			createRepository(t, name)
			created[name] = true
		}
		listed := map[string]bool{}
		var sizes []int
		pages := ecr.NewDescribeRepositoriesPaginator(client, &ecr.DescribeRepositoriesInput{MaxResults: aws.Int32(10)})
		for pages.HasMorePages() {
			page, err := pages.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			sizes = append(sizes, len(page.Repositories))
			for _, r := range page.Repositories {
				if listed[*r.RepositoryName] {
					t.Errorf("%s listed twice", *r.RepositoryName)
				}
				listed[*r.RepositoryName] = true
			}
		}
		if !slices.Equal(sizes, []int{10, 10, 5}) || !maps.Equal(listed, created) {
			t.Errorf("pages of %v repositories, %d distinct; want pages of [10 10 5], the 25 created", sizes, len(listed))
		}
	})

	t.Run("ListImagesPagination", func(t *testing.T) {
		const repo = "sdk/images"
		createRepository(t, repo)
		base := uploadTestImage(t, client, repo, randomBytes(t, 1024), 1)
		// Seven images that differ in an annotation: the first five tagged
		// twice, the last two untagged.
		want := map[imageID]bool{}
		digestOf := map[string]string{} // by tag
		var digests []string
		for i := range 7 {
			m := base
			m.Annotations = map[string]string{"n": fmt.Sprint(i)}
			tags := []string{""}
			if i < 5 {
				tags = []string{fmt.Sprintf("t%d", i), fmt.Sprintf("t%d-alias", i)}
			}
			var d string
			for _, tag := range tags {
				if tag == "" {
					d = putImage(t, client, repo, m, nil)
				} else {
					d = putImage(t, client, repo, m, aws.String(tag))
					digestOf[tag] = d
				}
				want[imageID{d, tag}] = true
			}
			digests = append(digests, d)
		}
		for _, c := range []struct {
			tagStatus types.TagStatus
			pageSize  int32
			pages     []int
		}{{types.TagStatusAny, 5, []int{5, 5, 2}}, {types.TagStatusTagged, 4, []int{4, 4, 2}}, {types.TagStatusUntagged, 1, []int{1, 1}}} {
			listed := map[imageID]bool{}
			var sizes []int
			pages := ecr.NewListImagesPaginator(client, &ecr.ListImagesInput{RepositoryName: aws.String(repo),
				MaxResults: aws.Int32(c.pageSize), Filter: &types.ListImagesFilter{TagStatus: c.tagStatus}})
			for pages.HasMorePages() {
				page, err := pages.NextPage(ctx)
				if err != nil {
					t.Fatal(err)
				}
				sizes = append(sizes, len(page.ImageIds))
				for _, id := range page.ImageIds {
					listed[idOf(id)] = true
				}
			}
			wantListed := map[imageID]bool{}
			for id := range want {
				if c.tagStatus == types.TagStatusAny || (id.tag != "") == (c.tagStatus == types.TagStatusTagged) {
					wantListed[id] = true
				}
			}
			if !slices.Equal(sizes, c.pages) || !maps.Equal(listed, wantListed) {
				t.Errorf("ListImages %s by %d: pages %v, ids %v; want pages %v, ids %v", c.tagStatus, c.pageSize, sizes, listed, c.pages, wantListed)
			}
		}
		var described []string
		pages := ecr.NewDescribeImagesPaginator(client, &ecr.DescribeImagesInput{RepositoryName: aws.String(repo), MaxResults: aws.Int32(3)})
		for pages.HasMorePages() {
			page, err := pages.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range page.ImageDetails {
				described = append(described, *d.ImageDigest)
			}
		}
		slices.Sort(described)
		slices.Sort(digests)
		if !slices.Equal(described, digests) {
			t.Errorf("DescribeImages pages: %v, want the 7 images %v", described, digests)
		}

		t.Run("BatchDeleteImageFailures", func(t *testing.T) {
			before := snapshot(t, client)
			ids := []types.ImageIdentifier{
				{ImageTag: aws.String("t0")},
				{ImageTag: aws.String("nope")},
				{ImageDigest: aws.String("sha256:" + strings.Repeat("0", 64))},
				{ImageDigest: aws.String("not-a-digest")},
				{},
				{ImageDigest: aws.String(digestOf["t2"]), ImageTag: aws.String("t1")},
			}
			out, err := client.BatchDeleteImage(ctx, &ecr.BatchDeleteImageInput{RepositoryName: aws.String(repo), ImageIds: ids})
			if err != nil {
				t.Fatal(err)
			}
			if len(out.ImageIds) != 1 || idOf(out.ImageIds[0]) != (imageID{digestOf["t0"], "t0"}) {
				t.Errorf("deleted %+v, want %s:t0", out.ImageIds, digestOf["t0"])
			}
			// Each failure names the id as given, with ECR's code and reason.
			type failure struct {
				id           imageID
				code, reason string
			}
			var got []failure
			for _, f := range out.Failures {
				got = append(got, failure{idOf(*f.ImageId), string(f.FailureCode), aws.ToString(f.FailureReason)})
			}
			wantFailures := []failure{
				{idOf(ids[1]), "ImageNotFound", "Requested image not found"},
				{idOf(ids[2]), "ImageNotFound", "Requested image not found"},
				{idOf(ids[3]), "InvalidImageDigest", "Invalid request parameters: image digest should satisfy the regex '[a-zA-Z0-9-_+.]+:[a-fA-F0-9]+'"},
				{idOf(ids[4]), "MissingDigestAndTag", "Invalid request parameters: both tag and digest cannot be null"},
				{idOf(ids[5]), "ImageTagDoesNotMatchDigest", "Invalid request parameters: image tag does not match digest"},
			}
			if !slices.Equal(got, wantFailures) {
				t.Errorf("failures:\n%+v\nwant\n%+v", got, wantFailures)
			}
			// Only the tag t0 went; its image stays, tagged t0-alias.
			after := strings.Replace(before, `"t0","t0-alias"`, `"t0-alias"`, 1)
			if now := snapshot(t, client); now != after || after == before {
				t.Errorf("after BatchDeleteImage:\n%s\nwant\n%s", now, after)
			}
		})
	})

	t.Run("LayerUploadThenDockerPull", func(t *testing.T) {
		RequireDocker(t)
		const repo = "sdk/handmade"
		createRepository(t, repo)
		content := randomBytes(t, 256<<10)
		m := uploadTestImage(t, client, repo, content, 2)
		layer := m.Layers[0]
		avail, err := client.BatchCheckLayerAvailability(ctx, &ecr.BatchCheckLayerAvailabilityInput{
			RepositoryName: aws.String(repo), LayerDigests: []string{layer.Digest, m.Config.Digest}})
		if err != nil || len(avail.Failures) != 0 || len(avail.Layers) != 2 ||
			avail.Layers[0].LayerAvailability != types.LayerAvailabilityAvailable || aws.ToInt64(avail.Layers[0].LayerSize) != layer.Size {
			t.Errorf("BatchCheckLayerAvailability: %v %+v", err, avail)
		}
		digest := putImage(t, client, repo, m, aws.String("v1"))

		described, err := client.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String(repo)})
		if err != nil || len(described.ImageDetails) != 1 {
			t.Fatalf("DescribeImages: %v %+v", err, described)
		}
		if d := described.ImageDetails[0]; aws.ToString(d.ImageDigest) != digest || aws.ToString(d.ImageManifestMediaType) != ociManifestType ||
			aws.ToString(d.ArtifactMediaType) != ociConfigType || aws.ToInt64(d.ImageSizeInBytes) != layer.Size || !slices.Equal(d.ImageTags, []string{"v1"}) {
			t.Errorf("DescribeImages: %s %s %s %d %v", aws.ToString(d.ImageDigest), aws.ToString(d.ImageManifestMediaType),
				aws.ToString(d.ArtifactMediaType), aws.ToInt64(d.ImageSizeInBytes), d.ImageTags)
		}

		// The download URL serves the layer to the raw authorization token.
		url, err := client.GetDownloadUrlForLayer(ctx, &ecr.GetDownloadUrlForLayerInput{RepositoryName: aws.String(repo), LayerDigest: aws.String(layer.Digest)})
		if err != nil {
			t.Fatal(err)
		}
		path, ok := strings.CutPrefix(aws.ToString(url.DownloadUrl), "http://"+s.RegistryHost)
		if !ok {
			t.Fatalf("download URL %s is not on the registry %s", aws.ToString(url.DownloadUrl), s.RegistryHost)
		}
		if resp, body := registryGet(t, s, registryToken(t, s), path); resp.StatusCode != http.StatusOK || sha256Digest(body) != layer.Digest {
			t.Errorf("GET download URL: %s, digest %s", resp.Status, sha256Digest(body))
		}

		// docker pulls what the API uploaded and finds the file in it.
		s.DockerLogin(t)
		ref := s.ImageRef(repo, "v1")
		removeImagesAtEnd(t, ref)
		Docker(t, "pull", ref).OK(t)
		var repoDigests []string
		Docker(t, "image", "inspect", "--format", "{{json .RepoDigests}}", ref).OK(t).Decode(t, &repoDigests)
		if !slices.Equal(repoDigests, []string{s.RegistryHost + "/" + repo + "@" + digest}) {
			t.Errorf("RepoDigests: %v, want the digest PutImage returned, %s", repoDigests, digest)
		}
		container := strings.TrimSpace(Docker(t, "create", ref).OK(t).Stdout)
		t.Cleanup(func() { Docker(t, "rm", "--force", container) })
		if got := untarFile(t, Docker(t, "cp", container+":/hello.txt", "-").OK(t).Stdout, "hello.txt"); !bytes.Equal(got, content) {
			t.Errorf("/hello.txt in the pulled image: %d bytes, not the %d uploaded", len(got), len(content))
		}
	})

	t.Run("Tags", func(t *testing.T) {
		arn := createRepository(t, "sdk/tagged", types.Tag{Key: aws.String("team"), Value: aws.String("berth")}).RepositoryArn
		list := func() map[string]string {
			t.Helper()
			out, err := client.ListTagsForResource(ctx, &ecr.ListTagsForResourceInput{ResourceArn: arn})
			if err != nil {
				t.Fatal(err)
			}
			tags := map[string]string{}
			for _, tag := range out.Tags {
				tags[*tag.Key] = aws.ToString(tag.Value)
			}
			return tags
		}
		if got := list(); !maps.Equal(got, map[string]string{"team": "berth"}) {
			t.Errorf("tags given at creation: %v", got)
		}
		if _, err := client.TagResource(ctx, &ecr.TagResourceInput{ResourceArn: arn, Tags: []types.Tag{
			{Key: aws.String("team"), Value: aws.String("ops")}, {Key: aws.String("env"), Value: aws.String("test")}}}); err != nil {
			t.Fatal(err)
		}
		if got := list(); !maps.Equal(got, map[string]string{"team": "ops", "env": "test"}) {
			t.Errorf("after TagResource: %v", got)
		}
		if _, err := client.UntagResource(ctx, &ecr.UntagResourceInput{ResourceArn: arn, TagKeys: []string{"team"}}); err != nil {
			t.Fatal(err)
		}
		if got := list(); !maps.Equal(got, map[string]string{"env": "test"}) {
			t.Errorf("after UntagResource: %v", got)
		}
	})

	t.Run("RepositoryPolicy", func(t *testing.T) {
		const repo = "sdk/policy"
		createRepository(t, repo)
		policy := `{"Version":"2012-10-17","Statement":[{"Sid":"pull","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:root"},"Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer"]}]}`
		set, err := client.SetRepositoryPolicy(ctx, &ecr.SetRepositoryPolicyInput{RepositoryName: aws.String(repo), PolicyText: aws.String(policy)})
		if err != nil || aws.ToString(set.PolicyText) != policy {
			t.Fatalf("SetRepositoryPolicy: %v %+v", err, set)
		}
		got, err := client.GetRepositoryPolicy(ctx, &ecr.GetRepositoryPolicyInput{RepositoryName: aws.String(repo)})
		if err != nil || aws.ToString(got.PolicyText) != policy || aws.ToString(got.RegistryId) != s.AccountID {
			t.Errorf("GetRepositoryPolicy: %v %+v", err, got)
		}
		deleted, err := client.DeleteRepositoryPolicy(ctx, &ecr.DeleteRepositoryPolicyInput{RepositoryName: aws.String(repo)})
		if err != nil || aws.ToString(deleted.PolicyText) != policy {
			t.Errorf("DeleteRepositoryPolicy: %v %+v", err, deleted)
		}
		_, err = client.GetRepositoryPolicy(ctx, &ecr.GetRepositoryPolicyInput{RepositoryName: aws.String(repo)})
		var notFound *types.RepositoryPolicyNotFoundException
		if !errors.As(err, &notFound) || notFound.ErrorMessage() != "Repository policy does not exist for the repository with name 'sdk/policy' in the registry with id '"+s.AccountID+"'" {
			t.Errorf("GetRepositoryPolicy after the delete: %v", err)
		}
	})

	t.Run("GetAuthorizationToken", func(t *testing.T) {
		before := time.Now()
		out, err := client.GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{})
		if err != nil || len(out.AuthorizationData) != 1 {
			t.Fatalf("GetAuthorizationToken: %v %+v", err, out)
		}
		data := out.AuthorizationData[0]
		if exp := aws.ToTime(data.ExpiresAt); exp.Before(before.Add(12*time.Hour-time.Minute)) || exp.After(time.Now().Add(12*time.Hour+time.Minute)) {
			t.Errorf("expiresAt %s, want about 12 hours from %s", exp, before)
		}
		if got := aws.ToString(data.ProxyEndpoint); got != "http://"+s.RegistryHost {
			t.Errorf("proxyEndpoint %s, want http://%s", got, s.RegistryHost)
		}
		raw, err := base64.StdEncoding.DecodeString(aws.ToString(data.AuthorizationToken))
		user, password, _ := strings.Cut(string(raw), ":")
		if err != nil || user != "AWS" || password == "" {
			t.Fatalf("authorizationToken is not base64 of AWS:<password>: %v %q", err, raw)
		}
		if resp, _ := registryGet(t, s, basicAuth("AWS", password), "/v2/"); resp.StatusCode != http.StatusOK {
			t.Errorf("GET /v2/ with the password: %s", resp.Status)
		}
		resp, body := registryGet(t, s, basicAuth("AWS", password+"x"), "/v2/")
		if resp.StatusCode != http.StatusUnauthorized || string(body) != "Not Authorized\n" ||
			resp.Header.Get("Www-Authenticate") != `Basic realm="https://`+s.Listen+`/",service="ecr.amazonaws.com"` {
			t.Errorf("GET /v2/ with a wrong password: %s %q %v", resp.Status, body, resp.Header)
		}
	})

	t.Run("DescribeRegistry", func(t *testing.T) {
		out, err := client.DescribeRegistry(ctx, &ecr.DescribeRegistryInput{})
		if err != nil || aws.ToString(out.RegistryId) != s.AccountID || out.ReplicationConfiguration == nil || len(out.ReplicationConfiguration.Rules) != 0 {
			t.Errorf("DescribeRegistry: %v %+v", err, out)
		}
	})
}

// imageID is an image id as a comparable value; "" stands for no tag or
// no digest.
type imageID struct{ digest, tag string }

func idOf(id types.ImageIdentifier) imageID {
	return imageID{aws.ToString(id.ImageDigest), aws.ToString(id.ImageTag)}
}

func randomBytes(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// uploadTestImage uploads, through the layer-upload API, a one-layer image
// whose layer holds /hello.txt with content (sent in parts parts) and its
// config, and returns the image's OCI manifest.
func uploadTestImage(t testing.TB, client *ecr.Client, repo string, content []byte, parts int) manifest {
	t.Helper()
	var tarball, layer bytes.Buffer
	tw := tar.NewWriter(&tarball)
	if err := tw.WriteHeader(&tar.Header{Name: "hello.txt", Mode: 0o644, Size: int64(len(content)), Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	tw.Write(content)
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	zw := gzip.NewWriter(&layer)
	zw.Write(tarball.Bytes())
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	config := fmt.Sprintf(`{"architecture":%q,"os":"linux","config":{"Cmd":["/hello"]},"rootfs":{"type":"layers","diff_ids":[%q]}}`,
		runtime.GOARCH, sha256Digest(tarball.Bytes()))
	return manifest{
		SchemaVersion: 2,
		MediaType:     ociManifestType,
		Config:        uploadBlob(t, client, repo, ociConfigType, []byte(config), 1),
		Layers:        []descriptor{uploadBlob(t, client, repo, ociLayerType, layer.Bytes(), parts)},
	}
}

// uploadBlob uploads b with InitiateLayerUpload, UploadLayerPart (in parts
// parts) and CompleteLayerUpload.
func uploadBlob(t testing.TB, client *ecr.Client, repo, mediaType string, b []byte, parts int) descriptor {
	t.Helper()
	ctx := context.Background()
	d := sha256Digest(b)
	initiated, err := client.InitiateLayerUpload(ctx, &ecr.InitiateLayerUploadInput{RepositoryName: aws.String(repo)})
	if err != nil {
		t.Fatal(err)
	}
	partSize := (len(b) + parts - 1) / parts
	for first := 0; first < len(b); first += partSize {
		last := min(first+partSize, len(b)) - 1
		out, err := client.UploadLayerPart(ctx, &ecr.UploadLayerPartInput{RepositoryName: aws.String(repo), UploadId: initiated.UploadId,
			PartFirstByte: aws.Int64(int64(first)), PartLastByte: aws.Int64(int64(last)), LayerPartBlob: b[first : last+1]})
		if err != nil || aws.ToInt64(out.LastByteReceived) != int64(last) {
			t.Fatalf("UploadLayerPart %d-%d: %v %+v", first, last, err, out)
		}
	}
	done, err := client.CompleteLayerUpload(ctx, &ecr.CompleteLayerUploadInput{RepositoryName: aws.String(repo), UploadId: initiated.UploadId, LayerDigests: []string{d}})
	if err != nil || aws.ToString(done.LayerDigest) != d {
		t.Fatalf("CompleteLayerUpload: %v %+v, want digest %s", err, done, d)
	}
	return descriptor{MediaType: mediaType, Digest: d, Size: int64(len(b))}
}

// putImage puts m into repo, tagged tag unless tag is nil, and returns its
// digest, checking it is the manifest's sha256.
func putImage(t testing.TB, client *ecr.Client, repo string, m manifest, tag *string) string {
	t.Helper()
	raw, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	out, err := client.PutImage(context.Background(), &ecr.PutImageInput{RepositoryName: aws.String(repo), ImageManifest: aws.String(string(raw)),
		ImageManifestMediaType: aws.String(m.MediaType), ImageTag: tag})
	if err != nil {
		t.Fatalf("PutImage: %v", err)
	}
	if d := aws.ToString(out.Image.ImageId.ImageDigest); d != sha256Digest(raw) {
		t.Fatalf("PutImage returned digest %s for a manifest whose sha256 is %s", d, sha256Digest(raw))
	}
	return sha256Digest(raw)
}

// untarFile returns the file name from a tar stream.
func untarFile(t testing.TB, stream, name string) []byte {
	t.Helper()
	tr := tar.NewReader(strings.NewReader(stream))
	for {
		h, err := tr.Next()
		if err != nil {
			t.Fatalf("%s not in the tar stream: %v", name, err)
		}
		if h.Name == name {
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
	}
}
