package ecr

import (
	"context"
	"regexp"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"
)

func TestManagedKMSKey(t *testing.T) {
	k := managedKMSKey(testAccount, testRegion)
	if !regexp.MustCompile(`^arn:aws:kms:us-east-1:123456789012:key/[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(k.arn()) {
		t.Fatalf("managed key ARN %q is not shaped like a KMS key ARN", k.arn())
	}
	if again := managedKMSKey(testAccount, testRegion); again != k {
		t.Fatalf("managed key changed between calls: %v, %v", k, again)
	}
	if other := managedKMSKey(testAccount, "eu-west-1"); other.id == k.id {
		t.Fatal("two regions share a managed key id")
	}
	if other := managedKMSKey("210987654321", testRegion); other.id == k.id {
		t.Fatal("two accounts share a managed key id")
	}
	for _, tc := range []struct {
		ref  string
		want bool
	}{
		{k.id, true},
		{k.arn(), true},
		{"alias/aws/ecr", true},
		{"arn:aws:kms:us-east-1:123456789012:alias/aws/ecr", true},
		{"arn:aws:kms:eu-west-1:123456789012:alias/aws/ecr", false}, // another region's
		{"arn:aws:kms:us-east-1:210987654321:alias/aws/ecr", false}, // another account's
		{"arn:aws:kms:eu-west-1:123456789012:key/" + k.id, false},
		{"alias/aws/ecr2", false},
		{"aws/ecr", false},
		{"", false},
	} {
		if got := k.names(tc.ref); got != tc.want {
			t.Errorf("names(%q) = %v, want %v", tc.ref, got, tc.want)
		}
	}
}

// TestSDKEncryptionConfiguration drives CreateRepository's encryption
// settings through the real SDK: what is accepted, what the repository then
// reports, and ECR's errors for keys that do not exist.
func TestSDKEncryptionConfiguration(t *testing.T) {
	client, _ := newSDKClient(t)
	ctx := context.Background()
	managed := managedKMSKey(testAccount, testRegion)

	accepted := []struct {
		name    string
		cfg     *types.EncryptionConfiguration
		wantTyp types.EncryptionType
		wantKey string
	}{
		{"default", nil, types.EncryptionTypeAes256, ""},
		{"AES256", &types.EncryptionConfiguration{EncryptionType: types.EncryptionTypeAes256}, types.EncryptionTypeAes256, ""},
		{"KMS without key", &types.EncryptionConfiguration{EncryptionType: types.EncryptionTypeKms}, types.EncryptionTypeKms, managed.arn()},
		{"KMS_DSSE without key", &types.EncryptionConfiguration{EncryptionType: types.EncryptionTypeKmsDsse}, types.EncryptionTypeKmsDsse, managed.arn()},
		{"KMS alias", &types.EncryptionConfiguration{EncryptionType: types.EncryptionTypeKms, KmsKey: aws.String("alias/aws/ecr")}, types.EncryptionTypeKms, managed.arn()},
		{"KMS alias ARN", &types.EncryptionConfiguration{EncryptionType: types.EncryptionTypeKms, KmsKey: aws.String("arn:aws:kms:us-east-1:123456789012:alias/aws/ecr")}, types.EncryptionTypeKms, managed.arn()},
		{"KMS key ARN", &types.EncryptionConfiguration{EncryptionType: types.EncryptionTypeKms, KmsKey: aws.String(managed.arn())}, types.EncryptionTypeKms, managed.arn()},
		{"KMS_DSSE key id", &types.EncryptionConfiguration{EncryptionType: types.EncryptionTypeKmsDsse, KmsKey: aws.String(managed.id)}, types.EncryptionTypeKmsDsse, managed.arn()},
	}
	for i, tc := range accepted {
		t.Run(tc.name, func(t *testing.T) {
			name := "enc/ok-" + string(rune('a'+i))
			out, err := client.CreateRepository(ctx, &sdk.CreateRepositoryInput{RepositoryName: aws.String(name), EncryptionConfiguration: tc.cfg})
			if err != nil {
				t.Fatal(err)
			}
			check := func(what string, got *types.EncryptionConfiguration) {
				t.Helper()
				if got == nil || got.EncryptionType != tc.wantTyp || aws.ToString(got.KmsKey) != tc.wantKey {
					t.Fatalf("%s: encryption %+v, want type %s key %q", what, got, tc.wantTyp, tc.wantKey)
				}
			}
			check("CreateRepository", out.Repository.EncryptionConfiguration)
			desc, err := client.DescribeRepositories(ctx, &sdk.DescribeRepositoriesInput{RepositoryNames: []string{name}})
			if err != nil {
				t.Fatal(err)
			}
			check("DescribeRepositories", desc.Repositories[0].EncryptionConfiguration)
		})
	}

	rejected := []struct {
		name string
		cfg  *types.EncryptionConfiguration
		msg  string
	}{
		{"customer key ARN", &types.EncryptionConfiguration{EncryptionType: types.EncryptionTypeKms, KmsKey: aws.String("arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab")},
			"Key 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab' does not exist"},
		{"bare key id", &types.EncryptionConfiguration{EncryptionType: types.EncryptionTypeKmsDsse, KmsKey: aws.String("1234abcd-12ab-34cd-56ef-1234567890ab")},
			"Key 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab' does not exist"},
		{"customer alias", &types.EncryptionConfiguration{EncryptionType: types.EncryptionTypeKms, KmsKey: aws.String("alias/my-key")},
			"Alias arn:aws:kms:us-east-1:123456789012:alias/my-key is not found."},
		{"managed alias of another region", &types.EncryptionConfiguration{EncryptionType: types.EncryptionTypeKms, KmsKey: aws.String("arn:aws:kms:eu-west-1:123456789012:alias/aws/ecr")},
			"Alias arn:aws:kms:eu-west-1:123456789012:alias/aws/ecr is not found."},
		{"managed key id of another account", &types.EncryptionConfiguration{EncryptionType: types.EncryptionTypeKms, KmsKey: aws.String("arn:aws:kms:us-east-1:210987654321:key/" + managed.id)},
			"Key 'arn:aws:kms:us-east-1:210987654321:key/" + managed.id + "' does not exist"},
	}
	for i, tc := range rejected {
		t.Run(tc.name, func(t *testing.T) {
			name := "enc/bad-" + string(rune('a'+i))
			_, err := client.CreateRepository(ctx, &sdk.CreateRepositoryInput{RepositoryName: aws.String(name), EncryptionConfiguration: tc.cfg})
			wantSDKErr[*types.KmsException](t, err, tc.msg)
			_, err = client.DescribeRepositories(ctx, &sdk.DescribeRepositoriesInput{RepositoryNames: []string{name}})
			wantSDKErr[*types.RepositoryNotFoundException](t, err, "")
		})
	}

	// A key with AES256 is a parameter error, not a KMS one.
	_, err := client.CreateRepository(ctx, &sdk.CreateRepositoryInput{RepositoryName: aws.String("enc/aes-key"),
		EncryptionConfiguration: &types.EncryptionConfiguration{EncryptionType: types.EncryptionTypeAes256, KmsKey: aws.String("alias/aws/ecr")}})
	wantSDKErr[*types.InvalidParameterException](t, err, "")
}
