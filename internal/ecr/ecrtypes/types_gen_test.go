package ecrtypes

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"

	"github.com/berth/berth/internal/awsapi"
)

// The tests below put the generated types on the wire against the real
// aws-sdk-go-v2 ECR client, both ways, so a naming or type-mapping mistake
// in apigen shows up as a field the SDK and berth disagree on.

type captured struct {
	target string
	body   []byte
}

// fakeECR returns an SDK client whose every call is answered with reply
// (the JSON of a generated output struct) and whose requests arrive on the
// returned channel.
func fakeECR(t *testing.T, reply any) (*sdk.Client, <-chan captured) {
	t.Helper()
	replyBody := []byte("{}")
	if reply != nil {
		var err error
		if replyBody, err = json.Marshal(reply); err != nil {
			t.Fatal(err)
		}
	}
	requests := make(chan captured, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		requests <- captured{target: r.Header.Get("X-Amz-Target"), body: body}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		_, _ = w.Write(replyBody)
	}))
	t.Cleanup(srv.Close)
	client := sdk.New(sdk.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(srv.URL),
		Credentials:      aws.AnonymousCredentials{},
		RetryMaxAttempts: 1,
	})
	return client, requests
}

func TestRequestsFromSDK(t *testing.T) {
	const (
		registry = "123456789012"
		digest   = "sha256:0f5a4f2a9b1c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e"
		policy   = `{"rules":[{"rulePriority":1,"selection":{"tagStatus":"untagged","countType":"imageCountMoreThan","countNumber":5},"action":{"type":"expire"}}]}`
	)
	cases := []struct {
		op   string
		call func(context.Context, *sdk.Client) error
		// want is the generated input struct the request must decode to.
		want any
	}{{
		op: "CreateRepository",
		call: func(ctx context.Context, c *sdk.Client) error {
			_, err := c.CreateRepository(ctx, &sdk.CreateRepositoryInput{
				RepositoryName:     aws.String("team/app"),
				RegistryId:         aws.String(registry),
				ImageTagMutability: types.ImageTagMutabilityImmutableWithExclusion,
				ImageTagMutabilityExclusionFilters: []types.ImageTagMutabilityExclusionFilter{{
					FilterType: types.ImageTagMutabilityExclusionFilterTypeWildcard,
					Filter:     aws.String("latest*"),
				}},
				ImageScanningConfiguration: &types.ImageScanningConfiguration{ScanOnPush: true},
				EncryptionConfiguration: &types.EncryptionConfiguration{
					EncryptionType: types.EncryptionTypeKms,
					KmsKey:         aws.String("arn:aws:kms:us-east-1:123456789012:key/k1"),
				},
				Tags: []types.Tag{
					{Key: aws.String("team"), Value: aws.String("infra")},
					{Key: aws.String("env"), Value: aws.String("")},
				},
			})
			return err
		},
		want: &CreateRepositoryRequest{
			RepositoryName:     awsapi.String("team/app"),
			RegistryId:         awsapi.String(registry),
			ImageTagMutability: awsapi.String(ImageTagMutabilityImmutableWithExclusion),
			ImageTagMutabilityExclusionFilters: []ImageTagMutabilityExclusionFilter{{
				FilterType: awsapi.String(ImageTagMutabilityExclusionFilterTypeWildcard),
				Filter:     awsapi.String("latest*"),
			}},
			ImageScanningConfiguration: &ImageScanningConfiguration{ScanOnPush: awsapi.Bool(true)},
			EncryptionConfiguration: &EncryptionConfiguration{
				EncryptionType: awsapi.String(EncryptionTypeKms),
				KmsKey:         awsapi.String("arn:aws:kms:us-east-1:123456789012:key/k1"),
			},
			Tags: []Tag{
				{Key: awsapi.String("team"), Value: awsapi.String("infra")},
				{Key: awsapi.String("env"), Value: awsapi.String("")},
			},
		},
	}, {
		op: "PutImageScanningConfiguration",
		call: func(ctx context.Context, c *sdk.Client) error {
			_, err := c.PutImageScanningConfiguration(ctx, &sdk.PutImageScanningConfigurationInput{
				RepositoryName:             aws.String("app"),
				ImageScanningConfiguration: &types.ImageScanningConfiguration{ScanOnPush: false},
			})
			return err
		},
		// The SDK leaves a false scanOnPush out, so handlers must read a nil
		// *bool as false (awsapi.Deref).
		want: &PutImageScanningConfigurationRequest{
			RepositoryName:             awsapi.String("app"),
			ImageScanningConfiguration: &ImageScanningConfiguration{},
		},
	}, {
		op: "PutLifecyclePolicy",
		call: func(ctx context.Context, c *sdk.Client) error {
			_, err := c.PutLifecyclePolicy(ctx, &sdk.PutLifecyclePolicyInput{
				RegistryId:          aws.String(registry),
				RepositoryName:      aws.String("app"),
				LifecyclePolicyText: aws.String(policy),
			})
			return err
		},
		want: &PutLifecyclePolicyRequest{
			RegistryId:          awsapi.String(registry),
			RepositoryName:      awsapi.String("app"),
			LifecyclePolicyText: awsapi.String(policy),
		},
	}, {
		op: "BatchDeleteImage",
		call: func(ctx context.Context, c *sdk.Client) error {
			_, err := c.BatchDeleteImage(ctx, &sdk.BatchDeleteImageInput{
				RepositoryName: aws.String("app"),
				ImageIds: []types.ImageIdentifier{
					{ImageDigest: aws.String(digest)},
					{ImageTag: aws.String("v1")},
				},
			})
			return err
		},
		want: &BatchDeleteImageRequest{
			RepositoryName: awsapi.String("app"),
			ImageIds: []ImageIdentifier{
				{ImageDigest: awsapi.String(digest)},
				{ImageTag: awsapi.String("v1")},
			},
		},
	}, {
		op: "ListImages",
		call: func(ctx context.Context, c *sdk.Client) error {
			_, err := c.ListImages(ctx, &sdk.ListImagesInput{
				RepositoryName: aws.String("app"),
				MaxResults:     aws.Int32(1000),
				Filter:         &types.ListImagesFilter{TagStatus: types.TagStatusUntagged},
			})
			return err
		},
		want: &ListImagesRequest{
			RepositoryName: awsapi.String("app"),
			MaxResults:     awsapi.Int32(1000),
			Filter:         &ListImagesFilter{TagStatus: awsapi.String(TagStatusUntagged)},
		},
	}, {
		op: "UploadLayerPart",
		call: func(ctx context.Context, c *sdk.Client) error {
			_, err := c.UploadLayerPart(ctx, &sdk.UploadLayerPartInput{
				RepositoryName: aws.String("app"),
				UploadId:       aws.String("u-1"),
				PartFirstByte:  aws.Int64(0),
				PartLastByte:   aws.Int64(4),
				LayerPartBlob:  []byte{0x00, 0x01, 0xfe, 0xff, '\n'},
			})
			return err
		},
		want: &UploadLayerPartRequest{
			RepositoryName: awsapi.String("app"),
			UploadId:       awsapi.String("u-1"),
			PartFirstByte:  awsapi.Int64(0),
			PartLastByte:   awsapi.Int64(4),
			LayerPartBlob:  []byte{0x00, 0x01, 0xfe, 0xff, '\n'},
		},
	}}
	for _, c := range cases {
		t.Run(c.op, func(t *testing.T) {
			client, requests := fakeECR(t, nil)
			if err := c.call(t.Context(), client); err != nil {
				t.Fatal(err)
			}
			req := <-requests
			if want := "AmazonEC2ContainerRegistry_V20150921." + c.op; req.target != want {
				t.Errorf("X-Amz-Target = %q, want %q", req.target, want)
			}
			if got := reflect.TypeOf(c.want).Elem().Name(); got != OperationShapes[c.op][0] {
				t.Errorf("input type %s, OperationShapes says %s", got, OperationShapes[c.op][0])
			}
			got := reflect.New(reflect.TypeOf(c.want).Elem()).Interface()
			// Every member the SDK sends must have a field to land in.
			dec := json.NewDecoder(bytes.NewReader(req.body))
			dec.DisallowUnknownFields()
			if err := dec.Decode(got); err != nil {
				t.Fatalf("decode %s: %v", req.body, err)
			}
			if !reflect.DeepEqual(got, c.want) {
				gotJSON, _ := json.Marshal(got)
				wantJSON, _ := json.Marshal(c.want)
				t.Errorf("SDK sent %s\ndecoded %s\nwant    %s", req.body, gotJSON, wantJSON)
			}
		})
	}
}

func TestResponsesToSDK(t *testing.T) {
	created := time.Date(2024, 3, 1, 12, 30, 45, 123e6, time.UTC)
	whole := time.Date(2023, 11, 5, 8, 0, 0, 0, time.UTC)

	t.Run("DescribeRepositories", func(t *testing.T) {
		client, _ := fakeECR(t, &DescribeRepositoriesResponse{
			Repositories: []Repository{{
				RepositoryArn:              awsapi.String("arn:aws:ecr:us-east-1:123456789012:repository/team/app"),
				RegistryId:                 awsapi.String("123456789012"),
				RepositoryName:             awsapi.String("team/app"),
				RepositoryUri:              awsapi.String("123456789012.dkr.ecr.us-east-1.localhost/team/app"),
				CreatedAt:                  awsapi.Time(created),
				ImageTagMutability:         awsapi.String(ImageTagMutabilityImmutable),
				ImageScanningConfiguration: &ImageScanningConfiguration{ScanOnPush: awsapi.Bool(true)},
				EncryptionConfiguration:    &EncryptionConfiguration{EncryptionType: awsapi.String(EncryptionTypeAes256)},
			}, {
				RepositoryName: awsapi.String("other"),
				CreatedAt:      awsapi.Time(whole),
			}},
			NextToken: awsapi.String("page-2"),
		})
		out, err := client.DescribeRepositories(t.Context(), &sdk.DescribeRepositoriesInput{})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Repositories) != 2 {
			t.Fatalf("got %d repositories, want 2", len(out.Repositories))
		}
		r := out.Repositories[0]
		for _, c := range []struct{ name, got, want string }{
			{"RepositoryArn", aws.ToString(r.RepositoryArn), "arn:aws:ecr:us-east-1:123456789012:repository/team/app"},
			{"RegistryId", aws.ToString(r.RegistryId), "123456789012"},
			{"RepositoryName", aws.ToString(r.RepositoryName), "team/app"},
			{"RepositoryUri", aws.ToString(r.RepositoryUri), "123456789012.dkr.ecr.us-east-1.localhost/team/app"},
			{"ImageTagMutability", string(r.ImageTagMutability), "IMMUTABLE"},
			{"EncryptionType", string(r.EncryptionConfiguration.EncryptionType), "AES256"},
			{"NextToken", aws.ToString(out.NextToken), "page-2"},
			{"other.RepositoryName", aws.ToString(out.Repositories[1].RepositoryName), "other"},
		} {
			if c.got != c.want {
				t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
			}
		}
		if !r.ImageScanningConfiguration.ScanOnPush {
			t.Error("ScanOnPush = false, want true")
		}
		if got := aws.ToTime(r.CreatedAt); !got.Equal(created) {
			t.Errorf("CreatedAt = %v, want %v", got, created)
		}
		if got := aws.ToTime(out.Repositories[1].CreatedAt); !got.Equal(whole) {
			t.Errorf("other.CreatedAt = %v, want %v", got, whole)
		}
	})

	t.Run("DescribeImages", func(t *testing.T) {
		const size = 5_000_000_123 // beyond int32: imageSizeInBytes is a long
		client, _ := fakeECR(t, &DescribeImagesResponse{
			ImageDetails: []ImageDetail{{
				RegistryId:             awsapi.String("123456789012"),
				RepositoryName:         awsapi.String("app"),
				ImageDigest:            awsapi.String("sha256:abc"),
				ImageTags:              []string{"v1", "latest"},
				ImageSizeInBytes:       awsapi.Int64(size),
				ImagePushedAt:          awsapi.Time(created),
				LastRecordedPullTime:   awsapi.Time(whole),
				ImageManifestMediaType: awsapi.String("application/vnd.oci.image.manifest.v1+json"),
				ImageStatus:            awsapi.String(ImageStatusActive),
			}},
		})
		out, err := client.DescribeImages(t.Context(), &sdk.DescribeImagesInput{RepositoryName: aws.String("app")})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.ImageDetails) != 1 {
			t.Fatalf("got %d images, want 1", len(out.ImageDetails))
		}
		d := out.ImageDetails[0]
		if aws.ToString(d.ImageDigest) != "sha256:abc" || !reflect.DeepEqual(d.ImageTags, []string{"v1", "latest"}) ||
			aws.ToString(d.ImageManifestMediaType) != "application/vnd.oci.image.manifest.v1+json" ||
			aws.ToString(d.RepositoryName) != "app" || aws.ToString(d.RegistryId) != "123456789012" ||
			d.ImageStatus != types.ImageStatusActive {
			t.Errorf("image = %+v", d)
		}
		if got := aws.ToInt64(d.ImageSizeInBytes); got != size {
			t.Errorf("ImageSizeInBytes = %d, want %d", got, size)
		}
		if got := aws.ToTime(d.ImagePushedAt); !got.Equal(created) {
			t.Errorf("ImagePushedAt = %v, want %v", got, created)
		}
		if got := aws.ToTime(d.LastRecordedPullTime); !got.Equal(whole) {
			t.Errorf("LastRecordedPullTime = %v, want %v", got, whole)
		}
	})

	t.Run("GetAuthorizationToken", func(t *testing.T) {
		client, _ := fakeECR(t, &GetAuthorizationTokenResponse{
			AuthorizationData: []AuthorizationData{{
				AuthorizationToken: awsapi.String("QVdTOnNlY3JldA=="),
				ExpiresAt:          awsapi.Time(whole),
				ProxyEndpoint:      awsapi.String("https://123456789012.dkr.ecr.us-east-1.localhost"),
			}},
		})
		out, err := client.GetAuthorizationToken(t.Context(), &sdk.GetAuthorizationTokenInput{})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.AuthorizationData) != 1 {
			t.Fatalf("got %d authorization data, want 1", len(out.AuthorizationData))
		}
		a := out.AuthorizationData[0]
		if aws.ToString(a.AuthorizationToken) != "QVdTOnNlY3JldA==" ||
			aws.ToString(a.ProxyEndpoint) != "https://123456789012.dkr.ecr.us-east-1.localhost" ||
			!aws.ToTime(a.ExpiresAt).Equal(whole) {
			t.Errorf("authorization data = %+v", a)
		}
	})

	t.Run("BatchGetImage", func(t *testing.T) {
		const manifest = `{"schemaVersion":2}`
		client, _ := fakeECR(t, &BatchGetImageResponse{
			Images: []Image{{
				RepositoryName:         awsapi.String("app"),
				ImageId:                &ImageIdentifier{ImageDigest: awsapi.String("sha256:abc"), ImageTag: awsapi.String("v1")},
				ImageManifest:          awsapi.String(manifest),
				ImageManifestMediaType: awsapi.String("application/vnd.oci.image.manifest.v1+json"),
			}},
			Failures: []ImageFailure{{
				ImageId:       &ImageIdentifier{ImageTag: awsapi.String("gone")},
				FailureCode:   awsapi.String(ImageFailureCodeImageNotFound),
				FailureReason: awsapi.String("Requested image not found"),
			}},
		})
		out, err := client.BatchGetImage(t.Context(), &sdk.BatchGetImageInput{
			RepositoryName: aws.String("app"),
			ImageIds:       []types.ImageIdentifier{{ImageTag: aws.String("v1")}, {ImageTag: aws.String("gone")}},
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Images) != 1 || len(out.Failures) != 1 {
			t.Fatalf("got %d images and %d failures, want 1 and 1", len(out.Images), len(out.Failures))
		}
		img, fail := out.Images[0], out.Failures[0]
		if aws.ToString(img.ImageManifest) != manifest || aws.ToString(img.ImageId.ImageDigest) != "sha256:abc" ||
			aws.ToString(img.ImageId.ImageTag) != "v1" {
			t.Errorf("image = %+v", img)
		}
		if fail.FailureCode != types.ImageFailureCodeImageNotFound || aws.ToString(fail.ImageId.ImageTag) != "gone" ||
			aws.ToString(fail.FailureReason) != "Requested image not found" {
			t.Errorf("failure = %+v", fail)
		}
	})

	t.Run("InitiateLayerUpload", func(t *testing.T) {
		client, _ := fakeECR(t, &InitiateLayerUploadResponse{
			UploadId: awsapi.String("u-1"),
			PartSize: awsapi.Int64(20 << 20),
		})
		out, err := client.InitiateLayerUpload(t.Context(), &sdk.InitiateLayerUploadInput{RepositoryName: aws.String("app")})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(out.UploadId) != "u-1" || aws.ToInt64(out.PartSize) != 20<<20 {
			t.Errorf("upload = %q, part size %d", aws.ToString(out.UploadId), aws.ToInt64(out.PartSize))
		}
	})
}

// TestOperationShapes ties the operation table to the generated types, so a
// handler author can trust it when wiring awsapi.Op.
func TestOperationShapes(t *testing.T) {
	if len(OperationShapes) != len(Operations) {
		t.Fatalf("%d operation shapes for %d operations", len(OperationShapes), len(Operations))
	}
	shapes := OperationShapes["CreateRepository"]
	if shapes != [2]string{
		reflect.TypeFor[CreateRepositoryRequest]().Name(),
		reflect.TypeFor[CreateRepositoryResponse]().Name(),
	} {
		t.Errorf("OperationShapes[CreateRepository] = %v", shapes)
	}
}
