package ecr

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/blob"
	"github.com/berth/berth/internal/blob/local"
	"github.com/berth/berth/internal/ecr/ecrstate"
	"github.com/berth/berth/internal/ecr/ecrtypes"
	"github.com/berth/berth/internal/registry"
	"github.com/berth/berth/internal/store"
	"github.com/berth/berth/internal/store/bolt"
)

const (
	testAccount = "123456789012"
	testRegion  = "us-east-1"
	testHost    = "localhost:4566"
)

type fixture struct {
	svc     *awsapi.Service
	catalog *registry.Catalog
	store   store.Store
	blobs   blob.Store
	tokens  *registry.Tokens

	mu    sync.Mutex
	clock time.Time
}

func (f *fixture) now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.clock = f.clock.Add(time.Second)
	return f.clock
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	st, err := bolt.Open(filepath.Join(dir, "state.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	blobs, err := local.Open(filepath.Join(dir, "blobs"), local.Options{Key: bytes.Repeat([]byte{7}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{store: st, blobs: blobs, clock: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)}
	f.catalog = registry.NewCatalog(st, f.now)
	f.tokens = registry.NewTokens([]byte("token key"), testRegion, f.now)
	f.svc = NewService(Config{
		Catalog:      f.catalog,
		Blobs:        blobs,
		Tokens:       f.tokens,
		Store:        st,
		AccountID:    testAccount,
		Region:       testRegion,
		RegistryHost: testHost,
		Now:          f.now,
		Logger:       slog.New(slog.DiscardHandler),
	})
	return f
}

var testCtx = awsapi.WithRequest(context.Background(), &awsapi.RequestInfo{AccountID: testAccount, Region: testRegion, AccessKeyID: "AKIDTEST"})

// call runs an operation the way the gateway does, after decoding.
func call[Out any](t *testing.T, f *fixture, op string, in any) (*Out, error) {
	t.Helper()
	o, ok := f.svc.Operations[op]
	if !ok {
		t.Fatalf("operation %s not implemented", op)
	}
	out, err := o.Call(testCtx, in)
	if err != nil {
		return nil, err
	}
	return out.(*Out), nil
}

func mustCall[Out any](t *testing.T, f *fixture, op string, in any) *Out {
	t.Helper()
	out, err := call[Out](t, f, op, in)
	if err != nil {
		t.Fatalf("%s: %v", op, err)
	}
	return out
}

// wantErr checks an AWS error's code and, unless msg is empty, its message.
func wantErr(t *testing.T, err error, code, msg string) {
	t.Helper()
	var apiErr *awsapi.Error
	if !errors.As(err, &apiErr) {
		t.Fatalf("want %s, got %v", code, err)
	}
	if apiErr.Code != code || (msg != "" && apiErr.Message != msg) {
		t.Fatalf("want %s: %q\n got %s: %q", code, msg, apiErr.Code, apiErr.Message)
	}
}

func str(s string) *string { return &s }

// repoID is repository name in testRegion.
func repoID(name string) ecrstate.RepositoryID {
	return ecrstate.RepositoryID{Region: testRegion, Name: name}
}

func createRepo(t *testing.T, f *fixture, name string) *ecrtypes.Repository {
	t.Helper()
	return mustCall[ecrtypes.CreateRepositoryResponse](t, f, "CreateRepository", &ecrtypes.CreateRepositoryRequest{RepositoryName: str(name)}).Repository
}

func repoExists(t *testing.T, f *fixture, name string) bool {
	t.Helper()
	_, err := f.catalog.GetRepository(context.Background(), repoID(name))
	if err != nil && !errors.Is(err, registry.ErrRepositoryNotFound) {
		t.Fatal(err)
	}
	return err == nil
}

func TestServiceDescription(t *testing.T) {
	f := newFixture(t)
	if f.svc.SigningName != "ecr" || f.svc.TargetPrefix != "AmazonEC2ContainerRegistry_V20150921" || f.svc.Protocol != awsapi.JSON11 || f.svc.Model == nil {
		t.Fatalf("service: %+v", f.svc)
	}
	// Every handler is a model operation, typed with the model's shapes.
	for name, op := range f.svc.Operations {
		if _, ok := f.svc.Model.Operations[name]; !ok {
			t.Errorf("%s is not in the model", name)
		}
		if got, want := reflect.TypeOf(op.NewInput()).Elem().Name(), ecrtypes.OperationShapes[name][0]; got != want {
			t.Errorf("%s input %s, want %s", name, got, want)
		}
	}
	err := f.svc.Unsupported("StartImageScan")
	wantErr(t, err, "UnsupportedOperationException", "berth does not support StartImageScan yet")
	err = f.svc.ValidationError("repositoryName", "Bad", "Member must satisfy regular expression pattern: "+registry.RepositoryNamePattern)
	wantErr(t, err, "InvalidParameterException", "Invalid parameter at 'repositoryName' failed to satisfy constraint: 'must satisfy regular expression '"+registry.RepositoryNamePattern+"''")
	err = f.svc.ValidationError("maxResults", "0", "Member must have value greater than or equal to 1")
	wantErr(t, err, "InvalidParameterException", "Invalid parameter at 'maxResults' failed to satisfy constraint: 'Member must have value greater than or equal to 1'")
}

func TestCreateRepository(t *testing.T) {
	f := newFixture(t)
	// The article's command.
	out := mustCall[ecrtypes.CreateRepositoryResponse](t, f, "CreateRepository", &ecrtypes.CreateRepositoryRequest{
		RepositoryName:             str("my-app"),
		ImageScanningConfiguration: &ecrtypes.ImageScanningConfiguration{ScanOnPush: awsapi.Bool(true)},
		EncryptionConfiguration:    &ecrtypes.EncryptionConfiguration{EncryptionType: str("AES256")},
	}).Repository
	want := &ecrtypes.Repository{
		RepositoryArn:              str("arn:aws:ecr:us-east-1:123456789012:repository/my-app"),
		RegistryId:                 str(testAccount),
		RepositoryName:             str("my-app"),
		RepositoryUri:              str("localhost:4566/my-app"),
		CreatedAt:                  out.CreatedAt,
		ImageTagMutability:         str("MUTABLE"),
		ImageScanningConfiguration: &ecrtypes.ImageScanningConfiguration{ScanOnPush: awsapi.Bool(true)},
		EncryptionConfiguration:    &ecrtypes.EncryptionConfiguration{EncryptionType: str("AES256")},
	}
	if !reflect.DeepEqual(out, want) || out.CreatedAt == nil || out.CreatedAt.IsZero() {
		t.Fatalf("repository:\n got %+v\nwant %+v", out, want)
	}

	_, err := call[ecrtypes.CreateRepositoryResponse](t, f, "CreateRepository", &ecrtypes.CreateRepositoryRequest{RepositoryName: str("my-app")})
	wantErr(t, err, "RepositoryAlreadyExistsException", "The repository with name 'my-app' already exists in the registry with id '123456789012'")

	nameMsg := "Invalid parameter at 'repositoryName' failed to satisfy constraint: 'must satisfy regular expression '" + registry.RepositoryNamePattern + "''"
	bad := []struct {
		name string
		req  ecrtypes.CreateRepositoryRequest
		code string
		msg  string
	}{
		{"upper case", ecrtypes.CreateRepositoryRequest{RepositoryName: str("My-App")}, "InvalidParameterException", nameMsg},
		{"double dot", ecrtypes.CreateRepositoryRequest{RepositoryName: str("my..app")}, "InvalidParameterException", nameMsg},
		{"leading slash", ecrtypes.CreateRepositoryRequest{RepositoryName: str("/app")}, "InvalidParameterException", nameMsg},
		{"too short", ecrtypes.CreateRepositoryRequest{RepositoryName: str("a")}, "InvalidParameterException", "Invalid parameter at 'repositoryName' failed to satisfy constraint: 'Member must have length greater than or equal to 2'"},
		{"too long", ecrtypes.CreateRepositoryRequest{RepositoryName: str(strings.Repeat("a", 257))}, "InvalidParameterException", "Invalid parameter at 'repositoryName' failed to satisfy constraint: 'Member must have length less than or equal to 256'"},
		{"foreign registry", ecrtypes.CreateRepositoryRequest{RepositoryName: str("other"), RegistryId: str("999999999999")}, "InvalidParameterException", ""},
		{"mutability enum", ecrtypes.CreateRepositoryRequest{RepositoryName: str("x1"), ImageTagMutability: str("SOMETIMES")}, "InvalidParameterException", ""},
		{"exclusions missing", ecrtypes.CreateRepositoryRequest{RepositoryName: str("x2"), ImageTagMutability: str("IMMUTABLE_WITH_EXCLUSION")}, "InvalidParameterException", ""},
		{"exclusions not allowed", ecrtypes.CreateRepositoryRequest{RepositoryName: str("x3"), ImageTagMutability: str("IMMUTABLE"),
			ImageTagMutabilityExclusionFilters: []ecrtypes.ImageTagMutabilityExclusionFilter{{Filter: str("dev-*"), FilterType: str("WILDCARD")}}}, "InvalidParameterException", ""},
		{"exclusion pattern", ecrtypes.CreateRepositoryRequest{RepositoryName: str("x4"), ImageTagMutability: str("IMMUTABLE_WITH_EXCLUSION"),
			ImageTagMutabilityExclusionFilters: []ecrtypes.ImageTagMutabilityExclusionFilter{{Filter: str("a b"), FilterType: str("WILDCARD")}}}, "InvalidParameterException",
			"Invalid parameter at 'imageTagMutabilityExclusionFilters.member.1.filter' failed to satisfy constraint: 'must satisfy regular expression '^[0-9a-zA-Z._*-]{1,128}$''"},
		{"kms key with AES256", ecrtypes.CreateRepositoryRequest{RepositoryName: str("x5"), EncryptionConfiguration: &ecrtypes.EncryptionConfiguration{EncryptionType: str("AES256"), KmsKey: str("k")}}, "InvalidParameterException", ""},
		{"encryption enum", ecrtypes.CreateRepositoryRequest{RepositoryName: str("x6"), EncryptionConfiguration: &ecrtypes.EncryptionConfiguration{EncryptionType: str("ROT13")}}, "InvalidParameterException", ""},
		{"tag key too long", ecrtypes.CreateRepositoryRequest{RepositoryName: str("x7"), Tags: []ecrtypes.Tag{{Key: str(strings.Repeat("k", 129)), Value: str("v")}}}, "InvalidTagParameterException", ""},
		{"tag value too long", ecrtypes.CreateRepositoryRequest{RepositoryName: str("x8"), Tags: []ecrtypes.Tag{{Key: str("k"), Value: str(strings.Repeat("v", 257))}}}, "InvalidTagParameterException", ""},
		{"aws: tag", ecrtypes.CreateRepositoryRequest{RepositoryName: str("x9"), Tags: []ecrtypes.Tag{{Key: str("aws:owner"), Value: str("v")}}}, "InvalidTagParameterException", ""},
		{"too many tags", ecrtypes.CreateRepositoryRequest{RepositoryName: str("x10"), Tags: manyTags(51)}, "TooManyTagsException", ""},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := call[ecrtypes.CreateRepositoryResponse](t, f, "CreateRepository", &tc.req)
			wantErr(t, err, tc.code, tc.msg)
			if name := awsapi.Deref(tc.req.RepositoryName); len(name) <= 256 && repoExists(t, f, name) {
				t.Fatalf("a rejected create made %s", name)
			}
		})
	}

	// Exclusion filters, KMS and tags that are fine.
	out = mustCall[ecrtypes.CreateRepositoryResponse](t, f, "CreateRepository", &ecrtypes.CreateRepositoryRequest{
		RepositoryName:                     str("team/svc"),
		ImageTagMutability:                 str("IMMUTABLE_WITH_EXCLUSION"),
		ImageTagMutabilityExclusionFilters: []ecrtypes.ImageTagMutabilityExclusionFilter{{Filter: str("latest"), FilterType: str("WILDCARD")}, {Filter: str("dev-*"), FilterType: str("WILDCARD")}},
		EncryptionConfiguration:            &ecrtypes.EncryptionConfiguration{EncryptionType: str("KMS"), KmsKey: str("alias/aws/ecr")},
		Tags:                               manyTags(50),
	}).Repository
	if *out.ImageTagMutability != "IMMUTABLE_WITH_EXCLUSION" || len(out.ImageTagMutabilityExclusionFilters) != 2 || *out.ImageTagMutabilityExclusionFilters[1].Filter != "dev-*" ||
		*out.EncryptionConfiguration.EncryptionType != "KMS" || *out.EncryptionConfiguration.KmsKey != managedKMSKey(testAccount, testRegion).arn() ||
		*out.ImageScanningConfiguration.ScanOnPush {
		t.Fatalf("repository: %+v", out)
	}
}

func manyTags(n int) []ecrtypes.Tag {
	tags := make([]ecrtypes.Tag, n)
	for i := range tags {
		tags[i] = ecrtypes.Tag{Key: str(fmt.Sprintf("key%02d", i)), Value: str("v")}
	}
	return tags
}

func TestDescribeRepositories(t *testing.T) {
	f := newFixture(t)
	names := []string{"alpha", "bravo", "charlie", "delta", "echo"}
	for _, n := range names {
		createRepo(t, f, n)
	}
	out := mustCall[ecrtypes.DescribeRepositoriesResponse](t, f, "DescribeRepositories", &ecrtypes.DescribeRepositoriesRequest{RepositoryNames: []string{"delta", "alpha"}})
	if len(out.Repositories) != 2 || *out.Repositories[0].RepositoryName != "delta" || *out.Repositories[1].RepositoryUri != "localhost:4566/alpha" || out.NextToken != nil {
		t.Fatalf("by name: %+v", out)
	}
	_, err := call[ecrtypes.DescribeRepositoriesResponse](t, f, "DescribeRepositories", &ecrtypes.DescribeRepositoriesRequest{RepositoryNames: []string{"alpha", "zulu"}})
	wantErr(t, err, "RepositoryNotFoundException", "The repository with name 'zulu' does not exist in the registry with id '123456789012'")
	_, err = call[ecrtypes.DescribeRepositoriesResponse](t, f, "DescribeRepositories", &ecrtypes.DescribeRepositoriesRequest{RepositoryNames: []string{"alpha"}, RegistryId: str("999999999999")})
	wantErr(t, err, "RepositoryNotFoundException", "The repository with name 'alpha' does not exist in the registry with id '999999999999'")
	_, err = call[ecrtypes.DescribeRepositoriesResponse](t, f, "DescribeRepositories", &ecrtypes.DescribeRepositoriesRequest{RepositoryNames: []string{"alpha"}, MaxResults: awsapi.Int32(1)})
	wantErr(t, err, "InvalidParameterException", "")

	// Pages of two: the token is opaque and carries on where the last page ended.
	var got []string
	var token *string
	pages := 0
	for {
		out := mustCall[ecrtypes.DescribeRepositoriesResponse](t, f, "DescribeRepositories", &ecrtypes.DescribeRepositoriesRequest{MaxResults: awsapi.Int32(2), NextToken: token})
		pages++
		for _, r := range out.Repositories {
			got = append(got, *r.RepositoryName)
		}
		if token = out.NextToken; token == nil {
			break
		}
		if strings.Contains(*token, "charlie") || strings.Contains(*token, "alpha") {
			t.Fatalf("token is not opaque: %s", *token)
		}
	}
	if pages != 3 || !reflect.DeepEqual(got, names) {
		t.Fatalf("paged %d times: %v", pages, got)
	}
	all := mustCall[ecrtypes.DescribeRepositoriesResponse](t, f, "DescribeRepositories", &ecrtypes.DescribeRepositoriesRequest{})
	if len(all.Repositories) != 5 || all.NextToken != nil {
		t.Fatalf("all: %d %v", len(all.Repositories), all.NextToken)
	}

	_, err = call[ecrtypes.DescribeRepositoriesResponse](t, f, "DescribeRepositories", &ecrtypes.DescribeRepositoriesRequest{NextToken: str("garbage")})
	wantErr(t, err, "InvalidParameterException", "Invalid parameter at 'nextToken' failed to satisfy constraint: 'Invalid NextToken'")
	// A token from another operation is no token for this one.
	createRepo(t, f, "imgs")
	pushImage(t, f, "imgs", "a", "t1")
	pushImage(t, f, "imgs", "b", "t2")
	list := mustCall[ecrtypes.ListImagesResponse](t, f, "ListImages", &ecrtypes.ListImagesRequest{RepositoryName: str("imgs"), MaxResults: awsapi.Int32(1)})
	_, err = call[ecrtypes.DescribeRepositoriesResponse](t, f, "DescribeRepositories", &ecrtypes.DescribeRepositoriesRequest{NextToken: list.NextToken})
	wantErr(t, err, "InvalidParameterException", "")
	_, err = call[ecrtypes.DescribeRepositoriesResponse](t, f, "DescribeRepositories", &ecrtypes.DescribeRepositoriesRequest{MaxResults: awsapi.Int32(1001)})
	wantErr(t, err, "InvalidParameterException", "")
}

func TestDeleteRepository(t *testing.T) {
	f := newFixture(t)
	createRepo(t, f, "full")
	pushImage(t, f, "full", "content", "latest")
	_, err := call[ecrtypes.DeleteRepositoryResponse](t, f, "DeleteRepository", &ecrtypes.DeleteRepositoryRequest{RepositoryName: str("full")})
	wantErr(t, err, "RepositoryNotEmptyException", "The repository with name 'full' in registry with id '123456789012' cannot be deleted because it still contains images")
	if !repoExists(t, f, "full") {
		t.Fatal("refused delete removed the repository")
	}
	out := mustCall[ecrtypes.DeleteRepositoryResponse](t, f, "DeleteRepository", &ecrtypes.DeleteRepositoryRequest{RepositoryName: str("full"), Force: awsapi.Bool(true)})
	if *out.Repository.RepositoryName != "full" || *out.Repository.RepositoryArn != "arn:aws:ecr:us-east-1:123456789012:repository/full" {
		t.Fatalf("deleted: %+v", out.Repository)
	}
	_, err = call[ecrtypes.DeleteRepositoryResponse](t, f, "DeleteRepository", &ecrtypes.DeleteRepositoryRequest{RepositoryName: str("full")})
	wantErr(t, err, "RepositoryNotFoundException", "The repository with name 'full' does not exist in the registry with id '123456789012'")

	createRepo(t, f, "empty")
	_, err = call[ecrtypes.DeleteRepositoryResponse](t, f, "DeleteRepository", &ecrtypes.DeleteRepositoryRequest{RepositoryName: str("empty"), RegistryId: str("111111111111")})
	wantErr(t, err, "RepositoryNotFoundException", "The repository with name 'empty' does not exist in the registry with id '111111111111'")
	mustCall[ecrtypes.DeleteRepositoryResponse](t, f, "DeleteRepository", &ecrtypes.DeleteRepositoryRequest{RepositoryName: str("empty"), RegistryId: str(testAccount)})
	if repoExists(t, f, "empty") {
		t.Fatal("empty repository not deleted")
	}
}

func TestRepositorySettings(t *testing.T) {
	f := newFixture(t)
	createRepo(t, f, "app")

	mut := mustCall[ecrtypes.PutImageTagMutabilityResponse](t, f, "PutImageTagMutability", &ecrtypes.PutImageTagMutabilityRequest{
		RepositoryName:                     str("app"),
		ImageTagMutability:                 str("MUTABLE_WITH_EXCLUSION"),
		ImageTagMutabilityExclusionFilters: []ecrtypes.ImageTagMutabilityExclusionFilter{{Filter: str("release-*"), FilterType: str("WILDCARD")}},
	})
	if *mut.ImageTagMutability != "MUTABLE_WITH_EXCLUSION" || *mut.ImageTagMutabilityExclusionFilters[0].Filter != "release-*" || *mut.RegistryId != testAccount || *mut.RepositoryName != "app" {
		t.Fatalf("mutability: %+v", mut)
	}
	_, err := call[ecrtypes.PutImageTagMutabilityResponse](t, f, "PutImageTagMutability", &ecrtypes.PutImageTagMutabilityRequest{RepositoryName: str("app"), ImageTagMutability: str("MUTABLE_WITH_EXCLUSION")})
	wantErr(t, err, "InvalidParameterException", "")
	_, err = call[ecrtypes.PutImageTagMutabilityResponse](t, f, "PutImageTagMutability", &ecrtypes.PutImageTagMutabilityRequest{RepositoryName: str("nope"), ImageTagMutability: str("IMMUTABLE")})
	wantErr(t, err, "RepositoryNotFoundException", "")
	repo, _ := f.catalog.GetRepository(context.Background(), repoID("app"))
	if repo.TagMutability != "MUTABLE_WITH_EXCLUSION" || !repo.TagIsImmutable("release-1") || repo.TagIsImmutable("dev") {
		t.Fatalf("catalog repository: %+v", repo)
	}

	scan := mustCall[ecrtypes.PutImageScanningConfigurationResponse](t, f, "PutImageScanningConfiguration", &ecrtypes.PutImageScanningConfigurationRequest{
		RepositoryName: str("app"), ImageScanningConfiguration: &ecrtypes.ImageScanningConfiguration{ScanOnPush: awsapi.Bool(true)},
	})
	if !*scan.ImageScanningConfiguration.ScanOnPush {
		t.Fatalf("scanning: %+v", scan)
	}
	desc := mustCall[ecrtypes.DescribeRepositoriesResponse](t, f, "DescribeRepositories", &ecrtypes.DescribeRepositoriesRequest{RepositoryNames: []string{"app"}})
	if !*desc.Repositories[0].ImageScanningConfiguration.ScanOnPush || *desc.Repositories[0].ImageTagMutability != "MUTABLE_WITH_EXCLUSION" {
		t.Fatalf("described: %+v", desc.Repositories[0])
	}

	// Repository policy.
	_, err = call[ecrtypes.GetRepositoryPolicyResponse](t, f, "GetRepositoryPolicy", &ecrtypes.GetRepositoryPolicyRequest{RepositoryName: str("app")})
	wantErr(t, err, "RepositoryPolicyNotFoundException", "Repository policy does not exist for the repository with name 'app' in the registry with id '123456789012'")
	_, err = call[ecrtypes.DeleteRepositoryPolicyResponse](t, f, "DeleteRepositoryPolicy", &ecrtypes.DeleteRepositoryPolicyRequest{RepositoryName: str("app")})
	wantErr(t, err, "RepositoryPolicyNotFoundException", "")
	for _, bad := range []string{"not json", `{}`, `{"Statement":[]}`, `{"Statement":[{"Effect":"Maybe","Principal":"*","Action":"ecr:*"}]}`, `{"Statement":[{"Effect":"Allow","Action":"ecr:*"}]}`} {
		_, err = call[ecrtypes.SetRepositoryPolicyResponse](t, f, "SetRepositoryPolicy", &ecrtypes.SetRepositoryPolicyRequest{RepositoryName: str("app"), PolicyText: str(bad)})
		wantErr(t, err, "InvalidParameterException", "Invalid parameter at 'PolicyText' failed to satisfy constraint: 'Invalid repository policy provided'")
	}
	policy := `{"Version":"2012-10-17","Statement":[{"Sid":"pull","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":["ecr:BatchGetImage"]}]}`
	set := mustCall[ecrtypes.SetRepositoryPolicyResponse](t, f, "SetRepositoryPolicy", &ecrtypes.SetRepositoryPolicyRequest{RepositoryName: str("app"), PolicyText: str(policy)})
	if *set.PolicyText != policy {
		t.Fatalf("set: %+v", set)
	}
	got := mustCall[ecrtypes.GetRepositoryPolicyResponse](t, f, "GetRepositoryPolicy", &ecrtypes.GetRepositoryPolicyRequest{RepositoryName: str("app")})
	if *got.PolicyText != policy || *got.RepositoryName != "app" || *got.RegistryId != testAccount {
		t.Fatalf("get: %+v", got)
	}
	del := mustCall[ecrtypes.DeleteRepositoryPolicyResponse](t, f, "DeleteRepositoryPolicy", &ecrtypes.DeleteRepositoryPolicyRequest{RepositoryName: str("app")})
	if *del.PolicyText != policy {
		t.Fatalf("delete: %+v", del)
	}
	_, err = call[ecrtypes.GetRepositoryPolicyResponse](t, f, "GetRepositoryPolicy", &ecrtypes.GetRepositoryPolicyRequest{RepositoryName: str("app")})
	wantErr(t, err, "RepositoryPolicyNotFoundException", "")
}

func TestResourceTags(t *testing.T) {
	f := newFixture(t)
	arn := *createRepo(t, f, "tagged").RepositoryArn
	mustCall[ecrtypes.TagResourceResponse](t, f, "TagResource", &ecrtypes.TagResourceRequest{ResourceArn: str(arn), Tags: []ecrtypes.Tag{{Key: str("team"), Value: str("a")}, {Key: str("env"), Value: str("prod")}}})
	mustCall[ecrtypes.TagResourceResponse](t, f, "TagResource", &ecrtypes.TagResourceRequest{ResourceArn: str(arn), Tags: []ecrtypes.Tag{{Key: str("team"), Value: str("b")}}})
	list := mustCall[ecrtypes.ListTagsForResourceResponse](t, f, "ListTagsForResource", &ecrtypes.ListTagsForResourceRequest{ResourceArn: str(arn)})
	want := []ecrtypes.Tag{{Key: str("team"), Value: str("b")}, {Key: str("env"), Value: str("prod")}}
	if !reflect.DeepEqual(list.Tags, want) {
		t.Fatalf("tags: %+v", list.Tags)
	}
	mustCall[ecrtypes.UntagResourceResponse](t, f, "UntagResource", &ecrtypes.UntagResourceRequest{ResourceArn: str(arn), TagKeys: []string{"team", "absent"}})
	list = mustCall[ecrtypes.ListTagsForResourceResponse](t, f, "ListTagsForResource", &ecrtypes.ListTagsForResourceRequest{ResourceArn: str(arn)})
	if len(list.Tags) != 1 || *list.Tags[0].Key != "env" {
		t.Fatalf("after untag: %+v", list.Tags)
	}

	// 49 more fit, 50 more don't, and the refused call changes nothing.
	_, err := call[ecrtypes.TagResourceResponse](t, f, "TagResource", &ecrtypes.TagResourceRequest{ResourceArn: str(arn), Tags: manyTags(50)})
	wantErr(t, err, "TooManyTagsException", "")
	mustCall[ecrtypes.TagResourceResponse](t, f, "TagResource", &ecrtypes.TagResourceRequest{ResourceArn: str(arn), Tags: manyTags(49)})
	list = mustCall[ecrtypes.ListTagsForResourceResponse](t, f, "ListTagsForResource", &ecrtypes.ListTagsForResourceRequest{ResourceArn: str(arn)})
	if len(list.Tags) != 50 {
		t.Fatalf("%d tags", len(list.Tags))
	}
	_, err = call[ecrtypes.TagResourceResponse](t, f, "TagResource", &ecrtypes.TagResourceRequest{ResourceArn: str(arn), Tags: []ecrtypes.Tag{{Key: str(""), Value: str("v")}}})
	wantErr(t, err, "InvalidTagParameterException", "")

	for _, bad := range []string{"nonsense", "arn:aws:s3:::bucket", "arn:aws:ecr:us-east-1:123456789012:cluster/x", "arn:aws:ecr:us-east-1:123456789012:repository/"} {
		_, err = call[ecrtypes.ListTagsForResourceResponse](t, f, "ListTagsForResource", &ecrtypes.ListTagsForResourceRequest{ResourceArn: str(bad)})
		wantErr(t, err, "InvalidParameterException", "Invalid parameter at 'resourceArn' failed to satisfy constraint: 'Invalid ARN'")
	}
	_, err = call[ecrtypes.ListTagsForResourceResponse](t, f, "ListTagsForResource", &ecrtypes.ListTagsForResourceRequest{ResourceArn: str("arn:aws:ecr:us-east-1:123456789012:repository/missing")})
	wantErr(t, err, "RepositoryNotFoundException", "The repository with name 'missing' does not exist in the registry with id '123456789012'")
	_, err = call[ecrtypes.ListTagsForResourceResponse](t, f, "ListTagsForResource", &ecrtypes.ListTagsForResourceRequest{ResourceArn: str("arn:aws:ecr:us-east-1:222222222222:repository/tagged")})
	wantErr(t, err, "RepositoryNotFoundException", "The repository with name 'tagged' does not exist in the registry with id '222222222222'")
}

// Images.

const configMediaType = "application/vnd.docker.container.image.v1+json"

// dockerManifest returns a Docker v2 manifest for a config and layers.
func dockerManifest(config digest.Digest, configSize int, layers map[digest.Digest]int) string {
	var ls []string
	for d, size := range layers {
		ls = append(ls, fmt.Sprintf(`{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","size":%d,"digest":"%s"}`, size, d))
	}
	return fmt.Sprintf(`{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{"mediaType":"%s","size":%d,"digest":"%s"},"layers":[%s]}`,
		configMediaType, configSize, config, strings.Join(ls, ","))
}

// pushImage puts an image with one layer straight into the catalog and
// returns its digest; tags may be empty.
func pushImage(t *testing.T, f *fixture, repo, content string, tags ...string) digest.Digest {
	t.Helper()
	ctx := context.Background()
	config, layer := "config of "+content, "layer of "+content
	cd, ld := digest.FromString(config), digest.FromString(layer)
	for d, size := range map[digest.Digest]int{cd: len(config), ld: len(layer)} {
		if err := f.catalog.LinkBlob(ctx, repoID(repo), d, int64(size)); err != nil {
			t.Fatal(err)
		}
	}
	manifest := []byte(dockerManifest(cd, len(config), map[digest.Digest]int{ld: len(layer)}))
	if len(tags) == 0 {
		tags = []string{""}
	}
	var d digest.Digest
	for _, tag := range tags {
		res, err := f.catalog.PutManifest(ctx, repoID(repo), tag, "", "", manifest)
		if err != nil {
			t.Fatal(err)
		}
		d = res.Image.Digest
	}
	return d
}

// upload pushes content through the layer-upload API in parts of partSize.
func upload(t *testing.T, f *fixture, repo string, content []byte, partSize int) digest.Digest {
	t.Helper()
	init := mustCall[ecrtypes.InitiateLayerUploadResponse](t, f, "InitiateLayerUpload", &ecrtypes.InitiateLayerUploadRequest{RepositoryName: str(repo)})
	for first := 0; first < len(content); first += partSize {
		part := content[first:min(first+partSize, len(content))]
		out := mustCall[ecrtypes.UploadLayerPartResponse](t, f, "UploadLayerPart", &ecrtypes.UploadLayerPartRequest{
			RepositoryName: str(repo), UploadId: init.UploadId, LayerPartBlob: part,
			PartFirstByte: awsapi.Int64(int64(first)), PartLastByte: awsapi.Int64(int64(first + len(part) - 1)),
		})
		if *out.LastByteReceived != int64(first+len(part)-1) {
			t.Fatalf("last byte %d", *out.LastByteReceived)
		}
	}
	d := digest.FromBytes(content)
	done := mustCall[ecrtypes.CompleteLayerUploadResponse](t, f, "CompleteLayerUpload", &ecrtypes.CompleteLayerUploadRequest{RepositoryName: str(repo), UploadId: init.UploadId, LayerDigests: []string{d.String()}})
	if *done.LayerDigest != d.String() || *done.UploadId != *init.UploadId || *done.RepositoryName != repo {
		t.Fatalf("complete: %+v", done)
	}
	return d
}

func TestLayerUploadAndPutImage(t *testing.T) {
	f := newFixture(t)
	createRepo(t, f, "my-app")
	createRepo(t, f, "other")

	// A layer in parts, with every way to get a part wrong.
	layer := bytes.Repeat([]byte("0123456789abcdef"), 1000)
	init := mustCall[ecrtypes.InitiateLayerUploadResponse](t, f, "InitiateLayerUpload", &ecrtypes.InitiateLayerUploadRequest{RepositoryName: str("my-app")})
	if *init.PartSize != 10<<20 || len(*init.UploadId) != 36 {
		t.Fatalf("initiate: %+v", init)
	}
	part := func(repo, id string, first, last int64, data []byte) error {
		_, err := call[ecrtypes.UploadLayerPartResponse](t, f, "UploadLayerPart", &ecrtypes.UploadLayerPartRequest{
			RepositoryName: str(repo), UploadId: str(id), LayerPartBlob: data, PartFirstByte: &first, PartLastByte: &last,
		})
		return err
	}
	if err := part("my-app", *init.UploadId, 0, 9999, layer[:10000]); err != nil {
		t.Fatal(err)
	}
	wantErr(t, part("my-app", *init.UploadId, 5000, 5999, layer[5000:6000]), "InvalidLayerPartException", "")
	wantErr(t, part("my-app", *init.UploadId, 10001, 11000, layer[10001:11001]), "InvalidLayerPartException", "")
	wantErr(t, part("my-app", *init.UploadId, 10000, 10500, layer[10000:11000]), "InvalidLayerPartException", "")
	wantErr(t, part("my-app", *init.UploadId, 10000, 9999, nil), "InvalidLayerPartException", "")
	wantErr(t, part("my-app", "6f1c9f44-1111-4222-8333-944445555666", 0, 0, []byte("x")), "UploadNotFoundException", "")
	wantErr(t, part("other", *init.UploadId, 10000, 15999, layer[10000:]), "UploadNotFoundException", "")
	wantErr(t, part("missing", *init.UploadId, 10000, 15999, layer[10000:]), "RepositoryNotFoundException", "")
	if err := part("my-app", *init.UploadId, 10000, 15999, layer[10000:]); err != nil {
		t.Fatal(err)
	}
	complete := func(digests ...string) error {
		_, err := call[ecrtypes.CompleteLayerUploadResponse](t, f, "CompleteLayerUpload", &ecrtypes.CompleteLayerUploadRequest{RepositoryName: str("my-app"), UploadId: init.UploadId, LayerDigests: digests})
		return err
	}
	wantErr(t, complete(digest.FromString("something else").String()), "InvalidLayerException", "")
	wantErr(t, complete("sha256:xyz"), "InvalidParameterException", "")
	layerDigest := digest.FromBytes(layer)
	if err := complete(layerDigest.String()); err != nil {
		t.Fatal(err)
	}
	wantErr(t, complete(layerDigest.String()), "UploadNotFoundException", "")

	// The same content again is a layer the repository has.
	again := mustCall[ecrtypes.InitiateLayerUploadResponse](t, f, "InitiateLayerUpload", &ecrtypes.InitiateLayerUploadRequest{RepositoryName: str("my-app")})
	mustCall[ecrtypes.UploadLayerPartResponse](t, f, "UploadLayerPart", &ecrtypes.UploadLayerPartRequest{RepositoryName: str("my-app"), UploadId: again.UploadId, LayerPartBlob: layer, PartFirstByte: awsapi.Int64(0), PartLastByte: awsapi.Int64(int64(len(layer) - 1))})
	_, err := call[ecrtypes.CompleteLayerUploadResponse](t, f, "CompleteLayerUpload", &ecrtypes.CompleteLayerUploadRequest{RepositoryName: str("my-app"), UploadId: again.UploadId, LayerDigests: []string{layerDigest.String()}})
	wantErr(t, err, "LayerAlreadyExistsException", "")
	empty := mustCall[ecrtypes.InitiateLayerUploadResponse](t, f, "InitiateLayerUpload", &ecrtypes.InitiateLayerUploadRequest{RepositoryName: str("my-app")})
	_, err = call[ecrtypes.CompleteLayerUploadResponse](t, f, "CompleteLayerUpload", &ecrtypes.CompleteLayerUploadRequest{RepositoryName: str("my-app"), UploadId: empty.UploadId, LayerDigests: []string{layerDigest.String()}})
	wantErr(t, err, "EmptyUploadException", "")

	// The blob is stored, readable and linked.
	r, err := f.blobs.Open(context.Background(), layerDigest)
	if err != nil {
		t.Fatal(err)
	}
	stored, _ := io.ReadAll(r)
	r.Close()
	if !bytes.Equal(stored, layer) {
		t.Fatal("stored layer differs")
	}
	config := []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}`)
	configDigest := upload(t, f, "my-app", config, 7)

	check := mustCall[ecrtypes.BatchCheckLayerAvailabilityResponse](t, f, "BatchCheckLayerAvailability", &ecrtypes.BatchCheckLayerAvailabilityRequest{
		RepositoryName: str("my-app"), LayerDigests: []string{layerDigest.String(), digest.FromString("absent").String(), "not-a-digest"},
	})
	if len(check.Layers) != 1 || *check.Layers[0].LayerAvailability != "AVAILABLE" || *check.Layers[0].LayerSize != int64(len(layer)) || *check.Layers[0].LayerDigest != layerDigest.String() {
		t.Fatalf("layers: %+v", check.Layers)
	}
	if len(check.Failures) != 2 || *check.Failures[0].FailureCode != "MissingLayerDigest" || *check.Failures[1].FailureCode != "InvalidLayerDigest" {
		t.Fatalf("failures: %+v", check.Failures)
	}

	// Not yet part of an image: ECR won't hand it out.
	_, err = call[ecrtypes.GetDownloadUrlForLayerResponse](t, f, "GetDownloadUrlForLayer", &ecrtypes.GetDownloadUrlForLayerRequest{RepositoryName: str("my-app"), LayerDigest: str(layerDigest.String())})
	wantErr(t, err, "LayerInaccessibleException", "")

	manifest := dockerManifest(configDigest, len(config), map[digest.Digest]int{layerDigest: len(layer)})
	put := mustCall[ecrtypes.PutImageResponse](t, f, "PutImage", &ecrtypes.PutImageRequest{RepositoryName: str("my-app"), ImageManifest: str(manifest), ImageTag: str("latest")})
	manifestDigest := digest.FromString(manifest)
	if *put.Image.ImageId.ImageDigest != manifestDigest.String() || *put.Image.ImageId.ImageTag != "latest" || *put.Image.ImageManifest != manifest ||
		*put.Image.ImageManifestMediaType != registry.MediaTypeDockerManifest || *put.Image.RegistryId != testAccount || *put.Image.RepositoryName != "my-app" {
		t.Fatalf("put: %+v", put.Image)
	}
	if check.Layers[0].MediaType != nil {
		t.Fatalf("a layer no manifest references has media type %q", *check.Layers[0].MediaType)
	}
	check = mustCall[ecrtypes.BatchCheckLayerAvailabilityResponse](t, f, "BatchCheckLayerAvailability", &ecrtypes.BatchCheckLayerAvailabilityRequest{
		RepositoryName: str("my-app"), LayerDigests: []string{layerDigest.String(), configDigest.String()},
	})
	if len(check.Layers) != 2 || awsapi.Deref(check.Layers[0].MediaType) != "application/vnd.docker.image.rootfs.diff.tar.gzip" || awsapi.Deref(check.Layers[1].MediaType) != configMediaType {
		t.Fatalf("media types once a manifest references the blobs: %+v", check.Layers)
	}
	_, err = call[ecrtypes.PutImageResponse](t, f, "PutImage", &ecrtypes.PutImageRequest{RepositoryName: str("my-app"), ImageManifest: str(manifest), ImageTag: str("latest")})
	wantErr(t, err, "ImageAlreadyExistsException", fmt.Sprintf("Image with digest '%s' and tag 'latest' already exists in the repository with name 'my-app' in registry with id '123456789012'", manifestDigest))
	mustCall[ecrtypes.PutImageResponse](t, f, "PutImage", &ecrtypes.PutImageRequest{RepositoryName: str("my-app"), ImageManifest: str(manifest), ImageTag: str("v1.2.3"),
		ImageDigest: str(manifestDigest.String()), ImageManifestMediaType: str(registry.MediaTypeDockerManifest)})

	url := mustCall[ecrtypes.GetDownloadUrlForLayerResponse](t, f, "GetDownloadUrlForLayer", &ecrtypes.GetDownloadUrlForLayerRequest{RepositoryName: str("my-app"), LayerDigest: str(layerDigest.String())})
	if *url.DownloadUrl != "http://localhost:4566/v2/my-app/blobs/"+layerDigest.String() || *url.LayerDigest != layerDigest.String() {
		t.Fatalf("download url: %+v", url)
	}
	_, err = call[ecrtypes.GetDownloadUrlForLayerResponse](t, f, "GetDownloadUrlForLayer", &ecrtypes.GetDownloadUrlForLayerRequest{RepositoryName: str("my-app"), LayerDigest: str(digest.FromString("absent").String())})
	wantErr(t, err, "LayersNotFoundException", "")
	_, err = call[ecrtypes.GetDownloadUrlForLayerResponse](t, f, "GetDownloadUrlForLayer", &ecrtypes.GetDownloadUrlForLayerRequest{RepositoryName: str("other"), LayerDigest: str(layerDigest.String())})
	wantErr(t, err, "LayersNotFoundException", "")

	// What PutImage refuses.
	wrong := digest.FromString("wrong").String()
	_, err = call[ecrtypes.PutImageResponse](t, f, "PutImage", &ecrtypes.PutImageRequest{RepositoryName: str("my-app"), ImageManifest: str(manifest), ImageTag: str("x"), ImageDigest: str(wrong)})
	wantErr(t, err, "ImageDigestDoesNotMatchException", "")
	missing := digest.FromString("missing layer")
	_, err = call[ecrtypes.PutImageResponse](t, f, "PutImage", &ecrtypes.PutImageRequest{RepositoryName: str("my-app"), ImageTag: str("x"),
		ImageManifest: str(dockerManifest(configDigest, len(config), map[digest.Digest]int{missing: 5}))})
	wantErr(t, err, "LayersNotFoundException", fmt.Sprintf("Layers with digests '[%s]' required for pushing image into repository with name 'my-app' in the registry with id '123456789012' do not exist", missing))
	_, err = call[ecrtypes.PutImageResponse](t, f, "PutImage", &ecrtypes.PutImageRequest{RepositoryName: str("my-app"), ImageManifest: str("{not json"), ImageTag: str("x")})
	wantErr(t, err, "InvalidParameterException", "")
	_, err = call[ecrtypes.PutImageResponse](t, f, "PutImage", &ecrtypes.PutImageRequest{RepositoryName: str("my-app"), ImageManifest: str(manifest), ImageTag: str(manifestDigest.String())})
	wantErr(t, err, "InvalidParameterException", "")
	_, err = call[ecrtypes.PutImageResponse](t, f, "PutImage", &ecrtypes.PutImageRequest{RepositoryName: str("my-app"), ImageManifest: str(strings.Repeat(" ", 4<<20+1)), ImageTag: str("x")})
	wantErr(t, err, "InvalidParameterException", "")
	_, err = call[ecrtypes.PutImageResponse](t, f, "PutImage", &ecrtypes.PutImageRequest{RepositoryName: str("missing"), ImageManifest: str(manifest)})
	wantErr(t, err, "RepositoryNotFoundException", "")
	// A manifest that leaves out its media type (as OCI allows) needs it in
	// the request: ECR never guesses, and words the refusal as below.
	undeclared := strings.Replace(manifest, `"mediaType":"`+registry.MediaTypeDockerManifest+`",`, "", 1)
	if undeclared == manifest {
		t.Fatalf("the manifest names no media type to leave out: %s", manifest)
	}
	_, err = call[ecrtypes.PutImageResponse](t, f, "PutImage", &ecrtypes.PutImageRequest{RepositoryName: str("my-app"), ImageManifest: str(undeclared), ImageTag: str("x")})
	wantErr(t, err, "InvalidParameterException", "Invalid parameter at 'ImageManifest' failed to satisfy constraint: 'Invalid JSON syntax'")
	mustCall[ecrtypes.PutImageResponse](t, f, "PutImage", &ecrtypes.PutImageRequest{RepositoryName: str("my-app"), ImageManifest: str(undeclared), ImageTag: str("declared"),
		ImageManifestMediaType: str(registry.MediaTypeDockerManifest)})
	index := fmt.Sprintf(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","size":10,"digest":"%s"}]}`, missing)
	_, err = call[ecrtypes.PutImageResponse](t, f, "PutImage", &ecrtypes.PutImageRequest{RepositoryName: str("my-app"), ImageManifest: str(index), ImageTag: str("multi")})
	wantErr(t, err, "ReferencedImagesNotFoundException", "")
	if _, err := f.catalog.Image(context.Background(), repoID("my-app"), "x"); !errors.Is(err, registry.ErrImageNotFound) {
		t.Fatalf("a refused PutImage tagged x: %v", err)
	}

	// Immutable tags can't move.
	mustCall[ecrtypes.PutImageTagMutabilityResponse](t, f, "PutImageTagMutability", &ecrtypes.PutImageTagMutabilityRequest{RepositoryName: str("my-app"), ImageTagMutability: str("IMMUTABLE")})
	other := pushImage(t, f, "my-app", "second image")
	otherImg, _ := f.catalog.Image(context.Background(), repoID("my-app"), other.String())
	_, err = call[ecrtypes.PutImageResponse](t, f, "PutImage", &ecrtypes.PutImageRequest{RepositoryName: str("my-app"), ImageManifest: str(string(otherImg.Manifest)), ImageTag: str("latest")})
	wantErr(t, err, "ImageTagAlreadyExistsException", "The image tag 'latest' already exists in the 'my-app' repository and cannot be overwritten because the repository is immutable.")

	// Reading it back.
	get := mustCall[ecrtypes.BatchGetImageResponse](t, f, "BatchGetImage", &ecrtypes.BatchGetImageRequest{
		RepositoryName:     str("my-app"),
		ImageIds:           []ecrtypes.ImageIdentifier{{ImageTag: str("latest")}, {ImageDigest: str(manifestDigest.String())}, {ImageTag: str("nope")}},
		AcceptedMediaTypes: []string{registry.MediaTypeDockerManifest},
	})
	if len(get.Images) != 2 || *get.Images[0].ImageManifest != manifest || *get.Images[0].ImageId.ImageTag != "latest" || *get.Images[0].ImageId.ImageDigest != manifestDigest.String() ||
		get.Images[1].ImageId.ImageTag != nil || *get.Images[1].ImageManifestMediaType != registry.MediaTypeDockerManifest {
		t.Fatalf("images: %+v", get.Images)
	}
	if len(get.Failures) != 1 || *get.Failures[0].FailureCode != "ImageNotFound" || *get.Failures[0].FailureReason != "Requested image not found" || *get.Failures[0].ImageId.ImageTag != "nope" {
		t.Fatalf("failures: %+v", get.Failures)
	}
	_, err = call[ecrtypes.BatchGetImageResponse](t, f, "BatchGetImage", &ecrtypes.BatchGetImageRequest{RepositoryName: str("missing"), ImageIds: []ecrtypes.ImageIdentifier{{ImageTag: str("latest")}}})
	wantErr(t, err, "RepositoryNotFoundException", "")

	desc := mustCall[ecrtypes.DescribeImagesResponse](t, f, "DescribeImages", &ecrtypes.DescribeImagesRequest{RepositoryName: str("my-app"), ImageIds: []ecrtypes.ImageIdentifier{{ImageTag: str("latest")}}})
	if len(desc.ImageDetails) != 1 {
		t.Fatalf("details: %+v", desc.ImageDetails)
	}
	d := desc.ImageDetails[0]
	if *d.ImageDigest != manifestDigest.String() || !reflect.DeepEqual(d.ImageTags, []string{"latest", "v1.2.3"}) || *d.ImageSizeInBytes != int64(len(layer)) ||
		*d.ImageManifestMediaType != registry.MediaTypeDockerManifest || *d.ArtifactMediaType != configMediaType || d.ImagePushedAt.IsZero() ||
		*d.RegistryId != testAccount || *d.RepositoryName != "my-app" || d.ImageScanStatus != nil {
		t.Fatalf("detail: %+v", d)
	}
}

func TestListAndDescribeImages(t *testing.T) {
	f := newFixture(t)
	createRepo(t, f, "repo")
	a := pushImage(t, f, "repo", "a", "v1", "latest")
	b := pushImage(t, f, "repo", "b", "v2")
	c := pushImage(t, f, "repo", "c")
	d := pushImage(t, f, "repo", "d", "v4")

	list := func(status string, max int32) []string {
		var out []string
		var token *string
		for {
			req := &ecrtypes.ListImagesRequest{RepositoryName: str("repo"), NextToken: token}
			if status != "" {
				req.Filter = &ecrtypes.ListImagesFilter{TagStatus: str(status)}
			}
			if max > 0 {
				req.MaxResults = awsapi.Int32(max)
			}
			page := mustCall[ecrtypes.ListImagesResponse](t, f, "ListImages", req)
			if max > 0 && len(page.ImageIds) > int(max) {
				t.Fatalf("page of %d", len(page.ImageIds))
			}
			for _, id := range page.ImageIds {
				out = append(out, *id.ImageDigest+"|"+awsapi.Deref(id.ImageTag))
			}
			if token = page.NextToken; token == nil {
				return out
			}
		}
	}
	all := list("", 0)
	if len(all) != 5 {
		t.Fatalf("all: %v", all)
	}
	for _, want := range []string{a.String() + "|latest", a.String() + "|v1", b.String() + "|v2", c.String() + "|", d.String() + "|v4"} {
		if !strings.Contains(strings.Join(all, " "), want) {
			t.Fatalf("missing %s in %v", want, all)
		}
	}
	for _, max := range []int32{1, 2, 3} {
		if got := list("ANY", max); !reflect.DeepEqual(got, all) {
			t.Fatalf("pages of %d: %v", max, got)
		}
	}
	if got := list("UNTAGGED", 1); len(got) != 1 || got[0] != c.String()+"|" {
		t.Fatalf("untagged: %v", got)
	}
	if got := list("TAGGED", 2); len(got) != 4 {
		t.Fatalf("tagged: %v", got)
	}
	_, err := call[ecrtypes.ListImagesResponse](t, f, "ListImages", &ecrtypes.ListImagesRequest{RepositoryName: str("missing")})
	wantErr(t, err, "RepositoryNotFoundException", "The repository with name 'missing' does not exist in the registry with id '123456789012'")
	_, err = call[ecrtypes.ListImagesResponse](t, f, "ListImages", &ecrtypes.ListImagesRequest{RepositoryName: str("repo"), Filter: &ecrtypes.ListImagesFilter{TagStatus: str("SOME")}})
	wantErr(t, err, "InvalidParameterException", "")

	describe := func(status string, max int32) []string {
		var out []string
		var token *string
		for {
			req := &ecrtypes.DescribeImagesRequest{RepositoryName: str("repo"), NextToken: token}
			if status != "" {
				req.Filter = &ecrtypes.DescribeImagesFilter{TagStatus: str(status)}
			}
			if max > 0 {
				req.MaxResults = awsapi.Int32(max)
			}
			page := mustCall[ecrtypes.DescribeImagesResponse](t, f, "DescribeImages", req)
			for _, d := range page.ImageDetails {
				out = append(out, *d.ImageDigest)
			}
			if token = page.NextToken; token == nil {
				return out
			}
		}
	}
	everything := describe("", 0)
	if len(everything) != 4 || !reflect.DeepEqual(describe("", 1), everything) || !reflect.DeepEqual(describe("ANY", 3), everything) {
		t.Fatalf("describe: %v", everything)
	}
	if got := describe("UNTAGGED", 1); !reflect.DeepEqual(got, []string{c.String()}) {
		t.Fatalf("untagged: %v", got)
	}
	if got := describe("TAGGED", 1); len(got) != 3 {
		t.Fatalf("tagged: %v", got)
	}
	archived := mustCall[ecrtypes.DescribeImagesResponse](t, f, "DescribeImages", &ecrtypes.DescribeImagesRequest{RepositoryName: str("repo"), Filter: &ecrtypes.DescribeImagesFilter{ImageStatus: str("ARCHIVED")}})
	if len(archived.ImageDetails) != 0 {
		t.Fatalf("archived: %+v", archived.ImageDetails)
	}

	byID := mustCall[ecrtypes.DescribeImagesResponse](t, f, "DescribeImages", &ecrtypes.DescribeImagesRequest{RepositoryName: str("repo"), ImageIds: []ecrtypes.ImageIdentifier{{ImageTag: str("v1")}, {ImageDigest: str(a.String())}, {ImageDigest: str(c.String())}}})
	if len(byID.ImageDetails) != 2 || *byID.ImageDetails[0].ImageDigest != a.String() || byID.ImageDetails[1].ImageTags != nil {
		t.Fatalf("by id: %+v", byID.ImageDetails)
	}
	_, err = call[ecrtypes.DescribeImagesResponse](t, f, "DescribeImages", &ecrtypes.DescribeImagesRequest{RepositoryName: str("repo"), ImageIds: []ecrtypes.ImageIdentifier{{ImageTag: str("v1")}, {ImageTag: str("latest2")}}})
	wantErr(t, err, "ImageNotFoundException", "The image with imageId {imageDigest:'null', imageTag:'latest2'} does not exist within the repository with name 'repo' in the registry with id '123456789012'")
	_, err = call[ecrtypes.DescribeImagesResponse](t, f, "DescribeImages", &ecrtypes.DescribeImagesRequest{RepositoryName: str("repo"), ImageIds: []ecrtypes.ImageIdentifier{{ImageDigest: str(a.String()), ImageTag: str("v2")}}})
	wantErr(t, err, "ImageNotFoundException", fmt.Sprintf("The image with imageId {imageDigest:'%s', imageTag:'v2'} does not exist within the repository with name 'repo' in the registry with id '123456789012'", a))
	_, err = call[ecrtypes.DescribeImagesResponse](t, f, "DescribeImages", &ecrtypes.DescribeImagesRequest{RepositoryName: str("repo"), ImageIds: []ecrtypes.ImageIdentifier{{ImageTag: str("v1")}}, MaxResults: awsapi.Int32(1)})
	wantErr(t, err, "InvalidParameterException", "")
	_, err = call[ecrtypes.DescribeImagesResponse](t, f, "DescribeImages", &ecrtypes.DescribeImagesRequest{RepositoryName: str("repo"), NextToken: str(base64.RawURLEncoding.EncodeToString([]byte(`{"o":"DescribeImages","r":"other","a":["x"]}`)))})
	wantErr(t, err, "InvalidParameterException", "Invalid parameter at 'nextToken' failed to satisfy constraint: 'Invalid NextToken'")
}

func TestBatchDeleteImage(t *testing.T) {
	f := newFixture(t)
	createRepo(t, f, "repo")
	a := pushImage(t, f, "repo", "a", "v1", "latest")
	b := pushImage(t, f, "repo", "b", "v2", "stable")
	c := pushImage(t, f, "repo", "c")

	del := func(ids ...ecrtypes.ImageIdentifier) *ecrtypes.BatchDeleteImageResponse {
		return mustCall[ecrtypes.BatchDeleteImageResponse](t, f, "BatchDeleteImage", &ecrtypes.BatchDeleteImageRequest{RepositoryName: str("repo"), ImageIds: ids})
	}
	out := del(
		ecrtypes.ImageIdentifier{},
		ecrtypes.ImageIdentifier{ImageDigest: str("sha256:not hex")},
		ecrtypes.ImageIdentifier{ImageTag: str("absent")},
		ecrtypes.ImageIdentifier{ImageDigest: str(digest.FromString("absent").String())},
		ecrtypes.ImageIdentifier{ImageDigest: str(a.String()), ImageTag: str("v2")},
	)
	wantFailures := []ecrtypes.ImageFailure{
		{ImageId: &ecrtypes.ImageIdentifier{}, FailureCode: str("MissingDigestAndTag"), FailureReason: str("Invalid request parameters: both tag and digest cannot be null")},
		{ImageId: &ecrtypes.ImageIdentifier{ImageDigest: str("sha256:not hex")}, FailureCode: str("InvalidImageDigest"), FailureReason: str("Invalid request parameters: image digest should satisfy the regex '[a-zA-Z0-9-_+.]+:[a-fA-F0-9]+'")},
		{ImageId: &ecrtypes.ImageIdentifier{ImageTag: str("absent")}, FailureCode: str("ImageNotFound"), FailureReason: str("Requested image not found")},
		{ImageId: &ecrtypes.ImageIdentifier{ImageDigest: str(digest.FromString("absent").String())}, FailureCode: str("ImageNotFound"), FailureReason: str("Requested image not found")},
		{ImageId: &ecrtypes.ImageIdentifier{ImageDigest: str(a.String()), ImageTag: str("v2")}, FailureCode: str("ImageTagDoesNotMatchDigest"), FailureReason: out.Failures[4].FailureReason},
	}
	if len(out.ImageIds) != 0 || !reflect.DeepEqual(out.Failures, wantFailures) {
		t.Fatalf("failures:\n got %+v", out.Failures)
	}
	images, _ := f.catalog.Images(context.Background(), repoID("repo"))
	if len(images) != 3 {
		t.Fatalf("failed deletes changed the repository: %d images", len(images))
	}

	// By tag: the tag goes; the image with its last tag.
	out = del(ecrtypes.ImageIdentifier{ImageTag: str("v1")})
	if len(out.Failures) != 0 || !reflect.DeepEqual(out.ImageIds, []ecrtypes.ImageIdentifier{{ImageDigest: str(a.String()), ImageTag: str("v1")}}) {
		t.Fatalf("by tag: %+v", out)
	}
	if img, err := f.catalog.Image(context.Background(), repoID("repo"), a.String()); err != nil || !reflect.DeepEqual(img.Tags, []string{"latest"}) {
		t.Fatalf("after untag: %+v %v", img.Tags, err)
	}
	del(ecrtypes.ImageIdentifier{ImageTag: str("latest"), ImageDigest: str(a.String())})
	if _, err := f.catalog.Image(context.Background(), repoID("repo"), a.String()); !errors.Is(err, registry.ErrImageNotFound) {
		t.Fatalf("image kept after its last tag: %v", err)
	}

	// By digest: the image and all its tags.
	out = del(ecrtypes.ImageIdentifier{ImageDigest: str(b.String())}, ecrtypes.ImageIdentifier{ImageDigest: str(c.String())})
	want := []ecrtypes.ImageIdentifier{{ImageDigest: str(b.String()), ImageTag: str("stable")}, {ImageDigest: str(b.String()), ImageTag: str("v2")}, {ImageDigest: str(c.String())}}
	if len(out.Failures) != 0 || !reflect.DeepEqual(out.ImageIds, want) {
		t.Fatalf("by digest: %+v", out)
	}
	if images, _ := f.catalog.Images(context.Background(), repoID("repo")); len(images) != 0 {
		t.Fatalf("%d images left", len(images))
	}

	// An image an index lists stays until the index goes.
	child := pushImage(t, f, "repo", "child", "child-tag")
	childImg, _ := f.catalog.Image(context.Background(), repoID("repo"), child.String())
	index := fmt.Sprintf(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"%s","size":%d,"digest":"%s"}]}`, childImg.MediaType, len(childImg.Manifest), child)
	put := mustCall[ecrtypes.PutImageResponse](t, f, "PutImage", &ecrtypes.PutImageRequest{RepositoryName: str("repo"), ImageManifest: str(index), ImageTag: str("multi")})
	out = del(ecrtypes.ImageIdentifier{ImageDigest: str(child.String())}, ecrtypes.ImageIdentifier{ImageTag: str("child-tag")})
	if len(out.Failures) != 2 || *out.Failures[0].FailureCode != "ImageReferencedByManifestList" || *out.Failures[1].FailureCode != "ImageReferencedByManifestList" ||
		!strings.Contains(*out.Failures[0].FailureReason, *put.Image.ImageId.ImageDigest) {
		t.Fatalf("referenced: %+v", out.Failures)
	}
	out = del(ecrtypes.ImageIdentifier{ImageTag: str("multi")}, ecrtypes.ImageIdentifier{ImageDigest: str(child.String())})
	if len(out.Failures) != 0 || len(out.ImageIds) != 2 {
		t.Fatalf("index then child: %+v", out)
	}

	_, err := call[ecrtypes.BatchDeleteImageResponse](t, f, "BatchDeleteImage", &ecrtypes.BatchDeleteImageRequest{RepositoryName: str("missing"), ImageIds: []ecrtypes.ImageIdentifier{{ImageTag: str("x")}}})
	wantErr(t, err, "RepositoryNotFoundException", "")
}

func TestDescribeImageScanFindings(t *testing.T) {
	f := newFixture(t)
	createRepo(t, f, "my-app")
	d := pushImage(t, f, "my-app", "app", "latest")
	// The article's call: there is no scanner, so there is no scan.
	_, err := call[ecrtypes.DescribeImageScanFindingsResponse](t, f, "DescribeImageScanFindings", &ecrtypes.DescribeImageScanFindingsRequest{RepositoryName: str("my-app"), ImageId: &ecrtypes.ImageIdentifier{ImageTag: str("latest")}})
	wantErr(t, err, "ScanNotFoundException", "Image scan does not exist for the image with '{imageDigest:'null', imageTag:'latest'}' in the repository with name 'my-app' in the registry with id '123456789012'")
	_, err = call[ecrtypes.DescribeImageScanFindingsResponse](t, f, "DescribeImageScanFindings", &ecrtypes.DescribeImageScanFindingsRequest{RepositoryName: str("my-app"), ImageId: &ecrtypes.ImageIdentifier{ImageDigest: str(d.String())}})
	wantErr(t, err, "ScanNotFoundException", fmt.Sprintf("Image scan does not exist for the image with '{imageDigest:'%s', imageTag:'null'}' in the repository with name 'my-app' in the registry with id '123456789012'", d))
	_, err = call[ecrtypes.DescribeImageScanFindingsResponse](t, f, "DescribeImageScanFindings", &ecrtypes.DescribeImageScanFindingsRequest{RepositoryName: str("my-app"), ImageId: &ecrtypes.ImageIdentifier{ImageTag: str("v9")}})
	wantErr(t, err, "ImageNotFoundException", "The image with imageId {imageDigest:'null', imageTag:'v9'} does not exist within the repository with name 'my-app' in the registry with id '123456789012'")
	_, err = call[ecrtypes.DescribeImageScanFindingsResponse](t, f, "DescribeImageScanFindings", &ecrtypes.DescribeImageScanFindingsRequest{RepositoryName: str("nope"), ImageId: &ecrtypes.ImageIdentifier{ImageTag: str("latest")}})
	wantErr(t, err, "RepositoryNotFoundException", "")
}

func TestGetAuthorizationToken(t *testing.T) {
	f := newFixture(t)
	out := mustCall[ecrtypes.GetAuthorizationTokenResponse](t, f, "GetAuthorizationToken", &ecrtypes.GetAuthorizationTokenRequest{})
	if len(out.AuthorizationData) != 1 {
		t.Fatalf("data: %+v", out.AuthorizationData)
	}
	data := out.AuthorizationData[0]
	raw, err := base64.StdEncoding.DecodeString(*data.AuthorizationToken)
	if err != nil {
		t.Fatal(err)
	}
	password, ok := strings.CutPrefix(string(raw), "AWS:")
	if !ok {
		t.Fatalf("token %q", raw)
	}
	if key, region, err := f.tokens.Verify(password); err != nil || key != "AKIDTEST" || region != testRegion {
		t.Fatalf("verify: %q %v", key, err)
	}
	if *data.ProxyEndpoint != "http://localhost:4566" || data.ExpiresAt.Sub(f.clock) < 11*time.Hour || data.ExpiresAt.Sub(f.clock) > 12*time.Hour {
		t.Fatalf("data: %s expires %v (now %v)", *data.ProxyEndpoint, data.ExpiresAt, f.clock)
	}
	two := mustCall[ecrtypes.GetAuthorizationTokenResponse](t, f, "GetAuthorizationToken", &ecrtypes.GetAuthorizationTokenRequest{RegistryIds: []string{testAccount, testAccount}})
	if len(two.AuthorizationData) != 2 {
		t.Fatalf("two: %+v", two)
	}
	_, err = call[ecrtypes.GetAuthorizationTokenResponse](t, f, "GetAuthorizationToken", &ecrtypes.GetAuthorizationTokenRequest{RegistryIds: []string{"999999999999"}})
	wantErr(t, err, "InvalidParameterException", "")
}

func TestRegistryScanningAndDescribeRegistry(t *testing.T) {
	f := newFixture(t)
	reg := mustCall[ecrtypes.DescribeRegistryResponse](t, f, "DescribeRegistry", &ecrtypes.DescribeRegistryRequest{})
	if *reg.RegistryId != testAccount || reg.ReplicationConfiguration == nil || reg.ReplicationConfiguration.Rules == nil || len(reg.ReplicationConfiguration.Rules) != 0 {
		t.Fatalf("registry: %+v", reg)
	}
	get := mustCall[ecrtypes.GetRegistryScanningConfigurationResponse](t, f, "GetRegistryScanningConfiguration", &ecrtypes.GetRegistryScanningConfigurationRequest{})
	if *get.RegistryId != testAccount || *get.ScanningConfiguration.ScanType != "BASIC" || len(get.ScanningConfiguration.Rules) != 0 {
		t.Fatalf("default: %+v", get.ScanningConfiguration)
	}

	// The article's configuration.
	rules := []ecrtypes.RegistryScanningRule{{RepositoryFilters: []ecrtypes.ScanningRepositoryFilter{{Filter: str("*"), FilterType: str("WILDCARD")}}, ScanFrequency: str("CONTINUOUS_SCAN")}}
	put := mustCall[ecrtypes.PutRegistryScanningConfigurationResponse](t, f, "PutRegistryScanningConfiguration", &ecrtypes.PutRegistryScanningConfigurationRequest{ScanType: str("ENHANCED"), Rules: rules})
	want := &ecrtypes.RegistryScanningConfiguration{ScanType: str("ENHANCED"), Rules: rules}
	if !reflect.DeepEqual(put.RegistryScanningConfiguration, want) {
		t.Fatalf("put: %+v", put.RegistryScanningConfiguration)
	}
	for _, bad := range []ecrtypes.PutRegistryScanningConfigurationRequest{
		{ScanType: str("BASIC"), Rules: rules},
		{ScanType: str("ENHANCED"), Rules: []ecrtypes.RegistryScanningRule{{RepositoryFilters: rules[0].RepositoryFilters, ScanFrequency: str("MANUAL")}}},
		{ScanType: str("SUPER"), Rules: rules},
		{ScanType: str("ENHANCED"), Rules: []ecrtypes.RegistryScanningRule{{RepositoryFilters: []ecrtypes.ScanningRepositoryFilter{{Filter: str("UPPER"), FilterType: str("WILDCARD")}}, ScanFrequency: str("SCAN_ON_PUSH")}}},
		{ScanType: str("ENHANCED"), Rules: []ecrtypes.RegistryScanningRule{{RepositoryFilters: []ecrtypes.ScanningRepositoryFilter{{Filter: str("app"), FilterType: str("PREFIX")}}, ScanFrequency: str("SCAN_ON_PUSH")}}},
		{ScanType: str("ENHANCED"), Rules: []ecrtypes.RegistryScanningRule{rules[0], rules[0], rules[0]}},
	} {
		_, err := call[ecrtypes.PutRegistryScanningConfigurationResponse](t, f, "PutRegistryScanningConfiguration", &bad)
		wantErr(t, err, "InvalidParameterException", "")
	}
	get = mustCall[ecrtypes.GetRegistryScanningConfigurationResponse](t, f, "GetRegistryScanningConfiguration", &ecrtypes.GetRegistryScanningConfigurationRequest{})
	if !reflect.DeepEqual(get.ScanningConfiguration, want) {
		t.Fatalf("stored: %+v", get.ScanningConfiguration)
	}
	basic := mustCall[ecrtypes.PutRegistryScanningConfigurationResponse](t, f, "PutRegistryScanningConfiguration", &ecrtypes.PutRegistryScanningConfigurationRequest{
		Rules: []ecrtypes.RegistryScanningRule{{RepositoryFilters: []ecrtypes.ScanningRepositoryFilter{{Filter: str("prod/*"), FilterType: str("WILDCARD")}}, ScanFrequency: str("SCAN_ON_PUSH")}},
	})
	if *basic.RegistryScanningConfiguration.ScanType != "BASIC" {
		t.Fatalf("basic: %+v", basic.RegistryScanningConfiguration)
	}
}

func TestForeignRegistry(t *testing.T) {
	f := newFixture(t)
	createRepo(t, f, "mine")
	foreign := str("210987654321")
	msg := "The repository with name 'mine' does not exist in the registry with id '210987654321'"
	calls := map[string]any{
		"DescribeImages":                &ecrtypes.DescribeImagesRequest{RepositoryName: str("mine"), RegistryId: foreign},
		"ListImages":                    &ecrtypes.ListImagesRequest{RepositoryName: str("mine"), RegistryId: foreign},
		"PutLifecyclePolicy":            &ecrtypes.PutLifecyclePolicyRequest{RepositoryName: str("mine"), RegistryId: foreign, LifecyclePolicyText: str(articlePolicy)},
		"InitiateLayerUpload":           &ecrtypes.InitiateLayerUploadRequest{RepositoryName: str("mine"), RegistryId: foreign},
		"SetRepositoryPolicy":           &ecrtypes.SetRepositoryPolicyRequest{RepositoryName: str("mine"), RegistryId: foreign, PolicyText: str(`{"Statement":[{"Effect":"Allow","Principal":"*","Action":"ecr:*"}]}`)},
		"PutImageScanningConfiguration": &ecrtypes.PutImageScanningConfigurationRequest{RepositoryName: str("mine"), RegistryId: foreign, ImageScanningConfiguration: &ecrtypes.ImageScanningConfiguration{ScanOnPush: awsapi.Bool(true)}},
	}
	for op, in := range calls {
		_, err := f.svc.Operations[op].Call(testCtx, in)
		wantErr(t, err, "RepositoryNotFoundException", msg)
	}
	repo, _ := f.catalog.GetRepository(context.Background(), repoID("mine"))
	if repo.LifecyclePolicy != "" || repo.Policy != "" || repo.ScanOnPush {
		t.Fatalf("a call on a foreign registry changed ours: %+v", repo)
	}
}

// Layers may be named by sha512 digests as well as sha256.
func TestUploadSHA512(t *testing.T) {
	f := newFixture(t)
	createRepo(t, f, "repo")
	content := []byte("sha512 content")
	init := mustCall[ecrtypes.InitiateLayerUploadResponse](t, f, "InitiateLayerUpload", &ecrtypes.InitiateLayerUploadRequest{RepositoryName: str("repo")})
	mustCall[ecrtypes.UploadLayerPartResponse](t, f, "UploadLayerPart", &ecrtypes.UploadLayerPartRequest{RepositoryName: str("repo"), UploadId: init.UploadId, LayerPartBlob: content, PartFirstByte: awsapi.Int64(0), PartLastByte: awsapi.Int64(int64(len(content) - 1))})
	d := digest.SHA512.FromBytes(content)
	mustCall[ecrtypes.CompleteLayerUploadResponse](t, f, "CompleteLayerUpload", &ecrtypes.CompleteLayerUploadRequest{RepositoryName: str("repo"), UploadId: init.UploadId, LayerDigests: []string{d.String()}})
	if link, err := f.catalog.Blob(context.Background(), repoID("repo"), d); err != nil || link.Size != int64(len(content)) {
		t.Fatalf("link: %+v %v", link, err)
	}
}

func TestInternalErrorsAreServerExceptions(t *testing.T) {
	f := newFixture(t)
	createRepo(t, f, "repo")
	f.store.Close()
	_, err := call[ecrtypes.DescribeRepositoriesResponse](t, f, "DescribeRepositories", &ecrtypes.DescribeRepositoriesRequest{})
	wantErr(t, err, "ServerException", "An internal error occurred. Try again.")
	if err.(*awsapi.Error).HTTPStatus() != 500 {
		t.Fatalf("status %d", err.(*awsapi.Error).HTTPStatus())
	}
}
