package e2e

import (
	"context"
	"encoding/json"
	"os/exec"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"
)

// The article's commands ("Containers on AWS", part 1, "Amazon ECR"),
// verbatim; the tests add only --endpoint-url.
var (
	articleCreateRepository = []string{"ecr", "create-repository",
		"--repository-name", "my-app",
		"--image-scanning-configuration", "scanOnPush=true",
		"--encryption-configuration", "encryptionType=AES256"}
	articleScanningRules = `[{"repositoryFilters":[{"filter":"*","filterType":"WILDCARD"}],"scanFrequency":"CONTINUOUS_SCAN"}]`
	articlePutScanning   = []string{"ecr", "put-registry-scanning-configuration",
		"--scan-type", "ENHANCED",
		"--rules", articleScanningRules}
	articleScanFindings = []string{"ecr", "describe-image-scan-findings",
		"--repository-name", "my-app",
		"--image-id", "imageTag=latest"}
	articleLifecyclePolicy = `{
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
	articlePutLifecycle = []string{"ecr", "put-lifecycle-policy",
		"--repository-name", "my-app",
		"--lifecycle-policy-text", articleLifecyclePolicy}
)

const (
	dockerManifestType = "application/vnd.docker.distribution.manifest.v2+json"
	dockerConfigType   = "application/vnd.docker.container.image.v1+json"
)

// TestArticleECRWalkthrough follows the article's ECR section with each aws
// CLI and docker, and checks what every step leaves behind.
func TestArticleECRWalkthrough(t *testing.T) {
	for _, cli := range awsCLIs {
		t.Run(cli.name, func(t *testing.T) {
			cli.require(t)
			RequireDocker(t)
			s := StartServer(t, ServerOptions{})
			start := time.Now().Add(-time.Second) // slack: the CLIs print times to the millisecond

			// Create a repository.
			var created struct {
				Repository struct {
					RepositoryArn, RegistryId, RepositoryName, RepositoryUri, ImageTagMutability string
					ImageScanningConfiguration                                                   struct{ ScanOnPush bool }
					EncryptionConfiguration                                                      struct{ EncryptionType string }
				}
			}
			cli.run(t, s, articleCreateRepository...).OK(t).Decode(t, &created)
			repo := created.Repository
			uri := s.RegistryHost + "/my-app"
			if repo.RepositoryUri != uri || repo.RepositoryName != "my-app" || repo.RegistryId != s.AccountID ||
				repo.RepositoryArn != "arn:aws:ecr:us-east-1:"+s.AccountID+":repository/my-app" || repo.ImageTagMutability != "MUTABLE" ||
				!repo.ImageScanningConfiguration.ScanOnPush || repo.EncryptionConfiguration.EncryptionType != "AES256" {
				t.Fatalf("create-repository output: %+v, want repositoryUri %s, scanOnPush true, encryptionType AES256", repo, uri)
			}

			// Authenticate Docker: the article's pipe, in a shell.
			path, _ := exec.LookPath(cli.path)
			Run(t, Command{
				Name: "sh",
				Args: []string{"-c", `"$0" --endpoint-url "$1" ecr get-login-password --region us-east-1 | docker login --username AWS --password-stdin "$2"`,
					path, s.URL, s.RegistryHost},
				Env: append(s.awsEnv(), dockerEnv()...),
			}).OK(t)

			// Build, tag, and push an image: both tags name one image.
			local := UniqueName("berth-e2e-my-app") + ":latest"
			BuildUniqueAppImage(t, local)
			removeImagesAtEnd(t, uri+":latest", uri+":v1.2.3")
			Docker(t, "tag", local, uri+":latest").OK(t)
			Docker(t, "tag", local, uri+":v1.2.3").OK(t)
			digest := pushedDigest(t, Docker(t, "push", uri+":latest").OK(t), "latest")
			if d := pushedDigest(t, Docker(t, "push", uri+":v1.2.3").OK(t), "v1.2.3"); d != digest {
				t.Fatalf("docker push: latest is %s, v1.2.3 is %s; want one image", digest, d)
			}

			// batch-get-image returns the manifest docker pushed.
			var got struct {
				Images []struct {
					ImageId                               struct{ ImageDigest, ImageTag string }
					ImageManifest, ImageManifestMediaType string
				}
				Failures []any
			}
			cli.run(t, s, "ecr", "batch-get-image", "--repository-name", "my-app", "--image-ids", "imageTag=v1.2.3").OK(t).Decode(t, &got)
			if len(got.Images) != 1 || len(got.Failures) != 0 {
				t.Fatalf("batch-get-image: %+v", got)
			}
			img := got.Images[0]
			if d := sha256Digest([]byte(img.ImageManifest)); d != digest || img.ImageId.ImageDigest != digest ||
				img.ImageId.ImageTag != "v1.2.3" || img.ImageManifestMediaType != dockerManifestType {
				t.Errorf("batch-get-image: manifest digest %s, image %+v, media type %s; want %s, v1.2.3, %s",
					d, img.ImageId, img.ImageManifestMediaType, digest, dockerManifestType)
			}
			var m manifest
			if err := json.Unmarshal([]byte(img.ImageManifest), &m); err != nil || len(m.Layers) != 2 {
				t.Fatalf("manifest of the app image (app and marker layers): %v\n%s", err, img.ImageManifest)
			}

			// describe-images: one image, both tags, its size and media types.
			var described struct {
				ImageDetails []struct {
					RegistryId, RepositoryName, ImageDigest string
					ImageTags                               []string
					ImageSizeInBytes                        int64
					ImagePushedAt                           cliTime
					ImageManifestMediaType                  string
					ArtifactMediaType                       string
				}
			}
			cli.run(t, s, "ecr", "describe-images", "--repository-name", "my-app").OK(t).Decode(t, &described)
			if len(described.ImageDetails) != 1 {
				t.Fatalf("describe-images: %d images, want 1: %+v", len(described.ImageDetails), described)
			}
			detail := described.ImageDetails[0]
			slices.Sort(detail.ImageTags)
			pushedAt := time.Time(detail.ImagePushedAt)
			if detail.ImageDigest != digest || !slices.Equal(detail.ImageTags, []string{"latest", "v1.2.3"}) ||
				detail.RegistryId != s.AccountID || detail.RepositoryName != "my-app" ||
				detail.ImageSizeInBytes != m.layersSize() || detail.ImageManifestMediaType != dockerManifestType ||
				detail.ArtifactMediaType != dockerConfigType || pushedAt.Before(start) || pushedAt.After(time.Now()) {
				t.Errorf("describe-images: %+v (pushed at %s)\nwant digest %s, tags [latest v1.2.3], size %d (the layers'), %s, %s, pushed since %s",
					detail, pushedAt, digest, m.layersSize(), dockerManifestType, dockerConfigType, start)
			}

			// list-images with the tagStatus filter.
			var tagged, untagged struct {
				ImageIds []struct{ ImageDigest, ImageTag string }
			}
			cli.run(t, s, "ecr", "list-images", "--repository-name", "my-app", "--filter", "tagStatus=TAGGED").OK(t).Decode(t, &tagged)
			want := []struct{ ImageDigest, ImageTag string }{{digest, "latest"}, {digest, "v1.2.3"}}
			slices.SortFunc(tagged.ImageIds, func(a, b struct{ ImageDigest, ImageTag string }) int { return strings.Compare(a.ImageTag, b.ImageTag) })
			if !slices.Equal(tagged.ImageIds, want) {
				t.Errorf("list-images TAGGED: %+v, want %+v", tagged.ImageIds, want)
			}
			cli.run(t, s, "ecr", "list-images", "--repository-name", "my-app", "--filter", "tagStatus=UNTAGGED").OK(t).Decode(t, &untagged)
			if untagged.ImageIds == nil || len(untagged.ImageIds) != 0 {
				t.Errorf("list-images UNTAGGED: %s, want imageIds []", cli.name)
			}

			// Removed from Docker, the image comes back by pull, by digest.
			Docker(t, "image", "rm", uri+":latest", uri+":v1.2.3", local).OK(t)
			Docker(t, "image", "inspect", uri+"@"+digest).Fails(t, "No such image")
			pull := Docker(t, "pull", uri+":v1.2.3").OK(t)
			if !strings.Contains(pull.Stdout, "Pull complete") || !strings.Contains(pull.Stdout, "Digest: "+digest) {
				t.Errorf("docker pull downloaded nothing or another image:\n%s", pull.Stdout)
			}
			var repoDigests []string
			Docker(t, "image", "inspect", "--format", "{{json .RepoDigests}}", uri+":v1.2.3").OK(t).Decode(t, &repoDigests)
			if !slices.Equal(repoDigests, []string{uri + "@" + digest}) {
				t.Errorf("RepoDigests after the pull: %v, want [%s@%s]", repoDigests, uri, digest)
			}

			// Enable enhanced scanning; the registry keeps the rules.
			scanning := jsonValue(t, `{"scanType":"ENHANCED","rules":`+articleScanningRules+`}`)
			put := cli.run(t, s, articlePutScanning...).OK(t)
			if !reflect.DeepEqual(put.JSON["registryScanningConfiguration"], scanning) {
				t.Errorf("put-registry-scanning-configuration: %s", put.Stdout)
			}
			get := cli.run(t, s, "ecr", "get-registry-scanning-configuration").OK(t)
			if !reflect.DeepEqual(get.JSON["scanningConfiguration"], scanning) || get.JSON["registryId"] != s.AccountID {
				t.Errorf("get-registry-scanning-configuration: %s\nwant the article's configuration", get.Stdout)
			}

			// Lifecycle policy: the article's text is accepted and kept.
			policy := jsonValue(t, articleLifecyclePolicy)
			for _, args := range [][]string{articlePutLifecycle, {"ecr", "get-lifecycle-policy", "--repository-name", "my-app"}} {
				r := cli.run(t, s, args...).OK(t)
				text, _ := r.JSON["lifecyclePolicyText"].(string)
				if !reflect.DeepEqual(jsonValue(t, text), policy) || r.JSON["repositoryName"] != "my-app" || r.JSON["registryId"] != s.AccountID {
					t.Errorf("%s: %s\nwant the article's policy", args[1], r.Stdout)
				}
			}

			// The image was scanned on push and comes under enhanced scanning;
			// with no vulnerability records loaded the scan says so instead of
			// reporting no findings (scan_test.go covers real findings).
			var scanned struct {
				ImageScanStatus   struct{ Status, Description string }
				ImageScanFindings *struct{}
			}
			cli.run(t, s, articleScanFindings...).OK(t).Decode(t, &scanned)
			if st := scanned.ImageScanStatus; !(st.Status == "IN_PROGRESS" || st.Status == "FAILED" && strings.Contains(st.Description, "berth vulndb import")) || scanned.ImageScanFindings != nil {
				t.Errorf("describe-image-scan-findings with an empty database: %+v", scanned)
			}
		})
	}
}

// cliTime is a timestamp as the aws CLIs print it: v1 epoch seconds, v2
// ISO 8601.
type cliTime time.Time

func (c *cliTime) UnmarshalJSON(b []byte) error {
	var seconds float64
	if err := json.Unmarshal(b, &seconds); err == nil {
		*c = cliTime(time.UnixMilli(int64(seconds * 1000)))
		return nil
	}
	var iso time.Time
	err := json.Unmarshal(b, &iso)
	*c = cliTime(iso)
	return err
}

// jsonValue decodes a JSON text into maps, slices and scalars, for
// comparisons that ignore formatting and key order.
func jsonValue(t testing.TB, text string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(text), &v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, text)
	}
	return v
}

// TestECRErrorsWithRealClients checks that both aws CLIs and docker show
// ECR's own errors, and that a refused call changes nothing.
func TestECRErrorsWithRealClients(t *testing.T) {
	RequireDocker(t)
	s := StartServer(t, ServerOptions{})
	client := ecrClient(s)
	ctx := context.Background()
	id := s.AccountID

	// A wrong password gets no login (tried before the right one, so
	// docker holds no credentials for the registry yet).
	Run(t, Command{
		Name: "docker", Args: []string{"login", "--username", "AWS", "--password-stdin", s.RegistryHost},
		Env: dockerEnv(), Stdin: "not-the-password",
	}).Fails(t, "401 Unauthorized")
	s.DockerLogin(t)

	// errors/full holds image A; errors/immutable holds A as 1.0 and B as 2.0.
	for name, mutability := range map[string]types.ImageTagMutability{"errors/full": types.ImageTagMutabilityMutable, "errors/immutable": types.ImageTagMutabilityImmutable} {
		if _, err := client.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String(name), ImageTagMutability: mutability}); err != nil {
			t.Fatal(err)
		}
	}
	imageA, imageB := UniqueName("berth-e2e-a")+":a", UniqueName("berth-e2e-b")+":b"
	BuildAppImage(t, imageA)
	BuildUniqueAppImage(t, imageB)
	full, immutable := s.ImageRef("errors/full", "latest"), s.ImageRef("errors/immutable", "1.0")
	other, absent := s.ImageRef("errors/immutable", "2.0"), s.ImageRef("errors/absent", "latest")
	removeImagesAtEnd(t, full, immutable, other, absent)
	for ref, image := range map[string]string{full: imageA, immutable: imageA, other: imageB} {
		Docker(t, "tag", image, ref).OK(t)
		digest := pushedDigest(t, Docker(t, "push", ref).OK(t), ref[strings.LastIndex(ref, ":")+1:])
		// Moving the local tag below leaves this reference behind.
		removeImagesAtEnd(t, ref[:strings.LastIndex(ref, ":")]+"@"+digest)
	}
	manifestB := batchGetManifest(t, client, "errors/immutable", "2.0")
	before := snapshot(t, client)

	t.Run("docker", func(t *testing.T) {
		Docker(t, "tag", imageA, absent).OK(t)
		Docker(t, "push", absent).Fails(t, "name unknown: The repository with name 'errors/absent' does not exist in the registry with id '"+id+"'")

		// The tag moves to image B: refused, as in ECR.
		Docker(t, "tag", imageB, immutable).OK(t)
		Docker(t, "push", immutable).Fails(t, "tag invalid: The image tag '1.0' already exists in the 'errors/immutable' repository and cannot be overwritten because the repository is immutable.")
		if after := snapshot(t, client); after != before {
			t.Errorf("refused pushes changed the registry:\nbefore %s\nafter  %s", before, after)
		}
	})

	wrongSecret := "wrong" + s.Env()["AWS_SECRET_ACCESS_KEY"][5:]
	for _, cli := range awsCLIs {
		t.Run(cli.name, func(t *testing.T) {
			cli.require(t)
			cli.serviceError(t, cli.run(t, s, "ecr", "create-repository", "--repository-name", "errors/full", "--image-tag-mutability", "IMMUTABLE"),
				"CreateRepository", "RepositoryAlreadyExistsException", "The repository with name 'errors/full' already exists in the registry with id '"+id+"'")
			cli.serviceError(t, cli.run(t, s, "ecr", "create-repository", "--repository-name", "My_App"),
				"CreateRepository", "InvalidParameterException",
				`Invalid parameter at 'repositoryName' failed to satisfy constraint: 'must satisfy regular expression '[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*''`)
			cli.serviceError(t, cli.run(t, s, "ecr", "describe-repositories", "--repository-names", "errors/missing"),
				"DescribeRepositories", "RepositoryNotFoundException", "The repository with name 'errors/missing' does not exist in the registry with id '"+id+"'")
			cli.serviceError(t, cli.run(t, s, "ecr", "delete-repository", "--repository-name", "errors/full"),
				"DeleteRepository", "RepositoryNotEmptyException", "The repository with name 'errors/full' in registry with id '"+id+"' cannot be deleted because it still contains images")
			cli.serviceError(t, cli.run(t, s, "ecr", "put-image", "--repository-name", "errors/immutable", "--image-tag", "1.0", "--image-manifest", manifestB),
				"PutImage", "ImageTagAlreadyExistsException", "The image tag '1.0' already exists in the 'errors/immutable' repository and cannot be overwritten because the repository is immutable.")
			cli.serviceError(t, cli.runEnv(t, s, []string{"AWS_SECRET_ACCESS_KEY=" + wrongSecret}, "ecr", "create-repository", "--repository-name", "errors/forged"),
				"CreateRepository", "InvalidSignatureException",
				"The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.")
			cli.serviceError(t, cli.runEnv(t, s, []string{"AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE"}, "ecr", "delete-repository", "--repository-name", "errors/immutable", "--force"),
				"DeleteRepository", "UnrecognizedClientException", "The security token included in the request is invalid.")
			if after := snapshot(t, client); after != before {
				t.Errorf("refused calls changed the registry:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
}

// batchGetManifest returns the manifest of repo:tag through the SDK.
func batchGetManifest(t testing.TB, client *ecr.Client, repo, tag string) string {
	t.Helper()
	out, err := client.BatchGetImage(context.Background(), &ecr.BatchGetImageInput{
		RepositoryName: aws.String(repo), ImageIds: []types.ImageIdentifier{{ImageTag: aws.String(tag)}}})
	if err != nil || len(out.Images) != 1 {
		t.Fatalf("BatchGetImage %s:%s: %v %+v", repo, tag, err, out)
	}
	return aws.ToString(out.Images[0].ImageManifest)
}

// snapshot renders every repository, with its settings, and its images
// with their tags, for before/after comparisons.
func snapshot(t testing.TB, client *ecr.Client) string {
	t.Helper()
	ctx := context.Background()
	// It only reads, so the SDK may retry: on loopback, net/http sometimes
	// closes a connection on the client side while a 200 response is read
	// ("use of closed network connection", see crash_test.go).
	client = ecr.New(client.Options(), func(o *ecr.Options) { o.RetryMaxAttempts = 3 })
	type image struct {
		Digest string
		Tags   []string
	}
	type repository struct {
		Repo   types.Repository
		Images []image
	}
	var all []repository
	pages := ecr.NewDescribeRepositoriesPaginator(client, &ecr.DescribeRepositoriesInput{})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page.Repositories {
			images, err := client.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: r.RepositoryName})
			if err != nil {
				t.Fatal(err)
			}
			rep := repository{Repo: r, Images: []image{}}
			for _, d := range images.ImageDetails {
				tags := slices.Sorted(slices.Values(d.ImageTags))
				rep.Images = append(rep.Images, image{aws.ToString(d.ImageDigest), tags})
			}
			all = append(all, rep)
		}
	}
	b, err := json.Marshal(all)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestECRImageNames pushes to and pulls from repositories named as in the
// article: its own repositories and tags, and the public images it uses
// (which users mirror into their private registry under the same names).
func TestECRImageNames(t *testing.T) {
	RequireDocker(t)
	s := StartServer(t, ServerOptions{})
	client := ecrClient(s)
	ctx := context.Background()
	s.DockerLogin(t)
	local := UniqueName("berth-e2e-names") + ":latest"
	BuildAppImage(t, local)

	// Every repository and tag the article names.
	images := []struct{ repo, tag string }{
		{"my-app", "latest"}, {"my-app", "v1.2.3"}, {"api-service", "v1.2.3"}, {"api", "v1.0.0"},
		{"xray/aws-xray-daemon", "3.x"}, {"cloudwatch-agent/cloudwatch-agent", "latest"},
	}
	uris := map[string]string{} // by repository
	for _, img := range images {
		if uris[img.repo] != "" {
			continue
		}
		out, err := client.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String(img.repo)})
		if err != nil {
			t.Fatalf("CreateRepository %s: %v", img.repo, err)
		}
		uris[img.repo] = aws.ToString(out.Repository.RepositoryUri)
		if uris[img.repo] != s.RegistryHost+"/"+img.repo {
			t.Errorf("repositoryUri of %s: %s", img.repo, uris[img.repo])
		}
	}
	// docker takes repositoryUri:tag as it is, as with ECR.
	for _, img := range images {
		ref := uris[img.repo] + ":" + img.tag
		Docker(t, "tag", local, ref).OK(t)
		digest := pushedDigest(t, Docker(t, "push", ref).OK(t), img.tag)
		byDigest := uris[img.repo] + "@" + digest
		removeImagesAtEnd(t, ref, byDigest)
		described, err := client.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String(img.repo),
			ImageIds: []types.ImageIdentifier{{ImageTag: aws.String(img.tag)}}})
		if err != nil || len(described.ImageDetails) != 1 || aws.ToString(described.ImageDetails[0].ImageDigest) != digest {
			t.Errorf("DescribeImages %s:%s: %v %+v, want digest %s", img.repo, img.tag, err, described, digest)
		}
		Docker(t, "pull", ref).OK(t)
		Docker(t, "pull", byDigest).OK(t)
	}
}
