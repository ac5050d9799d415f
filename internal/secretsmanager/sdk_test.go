package secretsmanager

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/berth/berth/internal/gateway/gatewaytest"
	"github.com/berth/berth/internal/secretbox"
	"github.com/berth/berth/internal/secretsmanager/smstate"
	"github.com/berth/berth/internal/store"
	"github.com/berth/berth/internal/store/bolt"
)

const (
	testRegion  = gatewaytest.Region
	testAccount = gatewaytest.AccountID
)

// testEnv is the service behind the real gateway, its SDK client and a
// clock the test moves.
type testEnv struct {
	t      *testing.T
	sm     *SecretsManager
	store  store.Store
	client *sdk.Client
	clock  time.Time
}

func newTestEnv(t *testing.T) *testEnv {
	t.Helper()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "state.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	box, err := secretbox.New(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	e := &testEnv{t: t, store: st, clock: time.Date(2026, 3, 1, 10, 30, 0, 0, time.UTC)}
	e.sm = New(Config{Store: st, Box: box, AccountID: testAccount, Now: func() time.Time { return e.clock },
		Logger: slog.New(slog.DiscardHandler)})
	e.client = sdk.NewFromConfig(gatewaytest.Start(t, e.sm.Service()))
	return e
}

func (e *testEnv) create(name, value string) *sdk.CreateSecretOutput {
	e.t.Helper()
	out, err := e.client.CreateSecret(context.Background(), &sdk.CreateSecretInput{Name: &name, SecretString: &value})
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

func (e *testEnv) get(id string) *sdk.GetSecretValueOutput {
	e.t.Helper()
	out, err := e.client.GetSecretValue(context.Background(), &sdk.GetSecretValueInput{SecretId: &id})
	if err != nil {
		e.t.Fatalf("get %s: %v", id, err)
	}
	return out
}

const (
	msgNotFound     = "Secrets Manager can't find the specified secret."
	msgNoCurrent    = "Secrets Manager can't find the specified secret value for staging label: AWSCURRENT"
	testVersionIDv1 = "11111111-1111-1111-1111-111111111111"
	testVersionIDv2 = "22222222-2222-2222-2222-222222222222"
)

func TestCreateAndGetByNameAndARN(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	created, err := e.client.CreateSecret(ctx, &sdk.CreateSecretInput{
		Name:               aws.String("db-password"),
		SecretString:       aws.String("hunter2"),
		Description:        aws.String("the database's password"),
		KmsKeyId:           aws.String("alias/app"),
		ClientRequestToken: aws.String(testVersionIDv1),
		Tags:               []types.Tag{{Key: aws.String("team"), Value: aws.String("a")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(created.ARN)
	if !regexp.MustCompile(`^arn:aws:secretsmanager:us-east-1:123456789012:secret:db-password-[A-Za-z0-9]{6}$`).MatchString(arn) ||
		aws.ToString(created.Name) != "db-password" || aws.ToString(created.VersionId) != testVersionIDv1 {
		t.Fatalf("created %s %s %s", arn, aws.ToString(created.Name), aws.ToString(created.VersionId))
	}
	// By name, complete ARN, and the partial ARN an ECS task names.
	for _, id := range []string{"db-password", arn, "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-password"} {
		got := e.get(id)
		if aws.ToString(got.SecretString) != "hunter2" || aws.ToString(got.ARN) != arn || aws.ToString(got.VersionId) != testVersionIDv1 ||
			!slices.Equal(got.VersionStages, []string{"AWSCURRENT"}) || !got.CreatedDate.Equal(e.clock) {
			t.Fatalf("get %s: %+v", id, got)
		}
	}
	// A complete ARN another secret of the name had finds nothing, nor does
	// another account's or another region's.
	for _, id := range []string{arn[:len(arn)-6] + "AAAAAA", strings.Replace(arn, testAccount, "210987654321", 1),
		strings.Replace(arn, testRegion, "eu-west-1", 1), "arn:aws:s3:::bucket", "missing"} {
		_, err := e.client.GetSecretValue(ctx, &sdk.GetSecretValueInput{SecretId: aws.String(id)})
		gatewaytest.WantError(t, err, "ResourceNotFoundException", msgNotFound)
	}
	_, err = e.client.GetSecretValue(ctx, &sdk.GetSecretValueInput{SecretId: aws.String("bad name")})
	gatewaytest.WantError(t, err, "ValidationException", "Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!")

	_, err = e.client.CreateSecret(ctx, &sdk.CreateSecretInput{Name: aws.String("db-password"), SecretString: aws.String("other")})
	gatewaytest.WantError(t, err, "ResourceExistsException", "The operation failed because the secret db-password already exists.")
	// The same call repeated with its token is the call retried.
	again, err := e.client.CreateSecret(ctx, &sdk.CreateSecretInput{Name: aws.String("db-password"), SecretString: aws.String("hunter2"), ClientRequestToken: aws.String(testVersionIDv1)})
	if err != nil || aws.ToString(again.ARN) != arn {
		t.Fatalf("repeated create: %v %+v", err, again)
	}
	_, err = e.client.CreateSecret(ctx, &sdk.CreateSecretInput{Name: aws.String("db-password"), SecretString: aws.String("changed"), ClientRequestToken: aws.String(testVersionIDv1)})
	gatewaytest.WantError(t, err, "ResourceExistsException", "")
	_, err = e.client.CreateSecret(ctx, &sdk.CreateSecretInput{Name: aws.String("x"), SecretString: aws.String("a"), SecretBinary: []byte("b")})
	gatewaytest.WantError(t, err, "InvalidParameterException", "You can't specify both a binary secret value and a string secret value in the same secret.")
	_, err = e.client.CreateSecret(ctx, &sdk.CreateSecretInput{Name: aws.String("no:colons"), SecretString: aws.String("a")})
	gatewaytest.WantError(t, err, "ValidationException", "")

	d, err := e.client.DescribeSecret(ctx, &sdk.DescribeSecretInput{SecretId: aws.String("db-password")})
	if err != nil {
		t.Fatal(err)
	}
	// GetSecretValue recorded the access, as a date.
	if aws.ToString(d.Description) != "the database's password" || aws.ToString(d.KmsKeyId) != "alias/app" ||
		!d.LastAccessedDate.Equal(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)) || !d.CreatedDate.Equal(e.clock) ||
		d.DeletedDate != nil || len(d.Tags) != 1 || !slices.Equal(d.VersionIdsToStages[testVersionIDv1], []string{"AWSCURRENT"}) {
		t.Fatalf("describe: %+v", d)
	}

	// A binary secret, and a secret without a value yet.
	bin := []byte{0, 1, 2, 0xff}
	if _, err := e.client.CreateSecret(ctx, &sdk.CreateSecretInput{Name: aws.String("tls/key"), SecretBinary: bin}); err != nil {
		t.Fatal(err)
	}
	if got := e.get("tls/key"); !bytes.Equal(got.SecretBinary, bin) || got.SecretString != nil {
		t.Fatalf("binary: %+v", got)
	}
	empty, err := e.client.CreateSecret(ctx, &sdk.CreateSecretInput{Name: aws.String("later")})
	if err != nil || empty.VersionId != nil {
		t.Fatalf("empty secret: %v %+v", err, empty)
	}
	_, err = e.client.GetSecretValue(ctx, &sdk.GetSecretValueInput{SecretId: aws.String("later")})
	gatewaytest.WantError(t, err, "ResourceNotFoundException", msgNoCurrent)
	d, err = e.client.DescribeSecret(ctx, &sdk.DescribeSecretInput{SecretId: aws.String("later")})
	if err != nil || d.VersionIdsToStages != nil || d.Tags != nil || d.LastAccessedDate != nil {
		t.Fatalf("describe empty: %v %+v", err, d)
	}

	// An ARN names its own region.
	other, err := e.client.CreateSecret(ctx, &sdk.CreateSecretInput{Name: aws.String("db-password"), SecretString: aws.String("eu")},
		func(o *sdk.Options) { o.Region = "eu-west-1" })
	if err != nil {
		t.Fatal(err)
	}
	if got := e.get(aws.ToString(other.ARN)); aws.ToString(got.SecretString) != "eu" {
		t.Fatalf("other region: %+v", got)
	}
	if got := e.get("db-password"); aws.ToString(got.SecretString) != "hunter2" {
		t.Fatalf("own region: %+v", got)
	}
}

// A name ending in a hyphen and six letters or digits makes its partial ARN
// look complete, which Secrets Manager then takes it for.
func TestPartialARNOfSuffixedName(t *testing.T) {
	e := newTestEnv(t)
	created := e.create("app-abc123", "v")
	if got := e.get("app-abc123"); aws.ToString(got.ARN) != aws.ToString(created.ARN) {
		t.Fatalf("by name: %+v", got)
	}
	_, err := e.client.GetSecretValue(context.Background(), &sdk.GetSecretValueInput{SecretId: aws.String("arn:aws:secretsmanager:us-east-1:123456789012:secret:app-abc123")})
	gatewaytest.WantError(t, err, "ResourceNotFoundException", msgNotFound)
}

func TestVersionsAndStagingLabels(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	id := aws.String("api-key")
	if _, err := e.client.CreateSecret(ctx, &sdk.CreateSecretInput{Name: id, SecretString: aws.String("v1"), ClientRequestToken: aws.String(testVersionIDv1)}); err != nil {
		t.Fatal(err)
	}
	e.clock = e.clock.Add(time.Minute)
	put, err := e.client.PutSecretValue(ctx, &sdk.PutSecretValueInput{SecretId: id, SecretString: aws.String("v2"), ClientRequestToken: aws.String(testVersionIDv2)})
	if err != nil || aws.ToString(put.VersionId) != testVersionIDv2 || !slices.Equal(put.VersionStages, []string{"AWSCURRENT"}) {
		t.Fatalf("put: %v %+v", err, put)
	}
	if got := e.get("api-key"); aws.ToString(got.SecretString) != "v2" {
		t.Fatalf("current: %+v", got)
	}
	prev, err := e.client.GetSecretValue(ctx, &sdk.GetSecretValueInput{SecretId: id, VersionStage: aws.String("AWSPREVIOUS")})
	if err != nil || aws.ToString(prev.SecretString) != "v1" || aws.ToString(prev.VersionId) != testVersionIDv1 {
		t.Fatalf("previous: %v %+v", err, prev)
	}
	byID, err := e.client.GetSecretValue(ctx, &sdk.GetSecretValueInput{SecretId: id, VersionId: aws.String(testVersionIDv1), VersionStage: aws.String("AWSPREVIOUS")})
	if err != nil || aws.ToString(byID.SecretString) != "v1" {
		t.Fatalf("by id: %v %+v", err, byID)
	}
	_, err = e.client.GetSecretValue(ctx, &sdk.GetSecretValueInput{SecretId: id, VersionId: aws.String(testVersionIDv1), VersionStage: aws.String("AWSCURRENT")})
	gatewaytest.WantError(t, err, "InvalidRequestException", "You provided a VersionStage that is not associated to the provided VersionId.")
	missing := "33333333-3333-3333-3333-333333333333"
	_, err = e.client.GetSecretValue(ctx, &sdk.GetSecretValueInput{SecretId: id, VersionId: &missing})
	gatewaytest.WantError(t, err, "ResourceNotFoundException", "Secrets Manager can't find the specified secret value for VersionId: "+missing)
	_, err = e.client.GetSecretValue(ctx, &sdk.GetSecretValueInput{SecretId: id, VersionStage: aws.String("AWSPENDING")})
	gatewaytest.WantError(t, err, "ResourceNotFoundException", "Secrets Manager can't find the specified secret value for staging label: AWSPENDING")

	// The same put again changes nothing; another value under its token is refused.
	if _, err := e.client.PutSecretValue(ctx, &sdk.PutSecretValueInput{SecretId: id, SecretString: aws.String("v2"), ClientRequestToken: aws.String(testVersionIDv2)}); err != nil {
		t.Fatal(err)
	}
	_, err = e.client.PutSecretValue(ctx, &sdk.PutSecretValueInput{SecretId: id, SecretString: aws.String("v2!"), ClientRequestToken: aws.String(testVersionIDv2)})
	gatewaytest.WantError(t, err, "ResourceExistsException", "")
	_, err = e.client.PutSecretValue(ctx, &sdk.PutSecretValueInput{SecretId: id})
	gatewaytest.WantError(t, err, "InvalidRequestException", "You must provide either SecretString or SecretBinary.")

	// A pending version leaves AWSCURRENT where it is.
	pending, err := e.client.PutSecretValue(ctx, &sdk.PutSecretValueInput{SecretId: id, SecretString: aws.String("v3"), VersionStages: []string{"AWSPENDING"}})
	if err != nil || !slices.Equal(pending.VersionStages, []string{"AWSPENDING"}) {
		t.Fatalf("pending: %v %+v", err, pending)
	}
	v3 := aws.ToString(pending.VersionId)
	if got := e.get("api-key"); aws.ToString(got.SecretString) != "v2" {
		t.Fatalf("current after pending: %+v", got)
	}
	// Moving AWSCURRENT needs the version it leaves, and moves AWSPREVIOUS there.
	_, err = e.client.UpdateSecretVersionStage(ctx, &sdk.UpdateSecretVersionStageInput{SecretId: id, VersionStage: aws.String("AWSCURRENT"), MoveToVersionId: &v3})
	gatewaytest.WantError(t, err, "InvalidParameterException",
		"The parameter RemoveFromVersionId can't be empty. Staging label AWSCURRENT is currently attached to version "+testVersionIDv2+", so you must explicitly reference that version in RemoveFromVersionId.")
	if _, err := e.client.UpdateSecretVersionStage(ctx, &sdk.UpdateSecretVersionStageInput{SecretId: id, VersionStage: aws.String("AWSCURRENT"),
		MoveToVersionId: &v3, RemoveFromVersionId: aws.String(testVersionIDv2)}); err != nil {
		t.Fatal(err)
	}
	d, err := e.client.DescribeSecret(ctx, &sdk.DescribeSecretInput{SecretId: id})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{testVersionIDv2: {"AWSPREVIOUS"}, v3: {"AWSCURRENT", "AWSPENDING"}}
	if fmt.Sprint(d.VersionIdsToStages) != fmt.Sprint(want) {
		t.Fatalf("stages: %v, want %v", d.VersionIdsToStages, want)
	}
	// v1 lost its last label: it is deprecated, listed only on demand.
	versions, err := e.client.ListSecretVersionIds(ctx, &sdk.ListSecretVersionIdsInput{SecretId: id})
	if err != nil || len(versions.Versions) != 2 {
		t.Fatalf("versions: %v %+v", err, versions)
	}
	var ids []string
	p := sdk.NewListSecretVersionIdsPaginator(e.client, &sdk.ListSecretVersionIdsInput{SecretId: id, IncludeDeprecated: aws.Bool(true), MaxResults: aws.Int32(2)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range page.Versions {
			ids = append(ids, aws.ToString(v.VersionId))
			if !slices.Equal(v.KmsKeyIds, []string{"DefaultEncryptionKey"}) {
				t.Fatalf("kms key ids %v", v.KmsKeyIds)
			}
			if aws.ToString(v.VersionId) == testVersionIDv1 && v.VersionStages != nil {
				t.Fatalf("deprecated version has stages %v", v.VersionStages)
			}
		}
	}
	if !slices.Equal(ids, []string{testVersionIDv1, testVersionIDv2, v3}) {
		t.Fatalf("all versions: %v", ids)
	}
	// A custom label is removed by naming its version.
	if _, err := e.client.UpdateSecretVersionStage(ctx, &sdk.UpdateSecretVersionStageInput{SecretId: id, VersionStage: aws.String("AWSPENDING"),
		RemoveFromVersionId: &v3}); err != nil {
		t.Fatal(err)
	}
	_, err = e.client.UpdateSecretVersionStage(ctx, &sdk.UpdateSecretVersionStageInput{SecretId: id, VersionStage: aws.String("AWSPENDING"),
		RemoveFromVersionId: &v3})
	gatewaytest.WantError(t, err, "InvalidParameterException", "")
	_, err = e.client.UpdateSecretVersionStage(ctx, &sdk.UpdateSecretVersionStageInput{SecretId: id, VersionStage: aws.String("AWSCURRENT"),
		RemoveFromVersionId: &v3})
	gatewaytest.WantError(t, err, "InvalidParameterException", "")

	// UpdateSecret: metadata alone makes no version; a value does.
	up, err := e.client.UpdateSecret(ctx, &sdk.UpdateSecretInput{SecretId: id, Description: aws.String("d")})
	if err != nil || up.VersionId != nil {
		t.Fatalf("update description: %v %+v", err, up)
	}
	up, err = e.client.UpdateSecret(ctx, &sdk.UpdateSecretInput{SecretId: id, SecretString: aws.String("v4")})
	if err != nil || up.VersionId == nil {
		t.Fatalf("update value: %v %+v", err, up)
	}
	if got := e.get("api-key"); aws.ToString(got.SecretString) != "v4" || aws.ToString(got.VersionId) != aws.ToString(up.VersionId) {
		t.Fatalf("after update: %+v", got)
	}
	prev, err = e.client.GetSecretValue(ctx, &sdk.GetSecretValueInput{SecretId: id, VersionStage: aws.String("AWSPREVIOUS")})
	if err != nil || aws.ToString(prev.SecretString) != "v3" {
		t.Fatalf("previous after update: %v %+v", err, prev)
	}
}

func TestDeleteRestoreAndRecreate(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	first := e.create("db-password", "old")
	_, err := e.client.DeleteSecret(ctx, &sdk.DeleteSecretInput{SecretId: aws.String("db-password"), RecoveryWindowInDays: aws.Int64(3)})
	gatewaytest.WantError(t, err, "InvalidParameterException", "")
	_, err = e.client.DeleteSecret(ctx, &sdk.DeleteSecretInput{SecretId: aws.String("db-password"), RecoveryWindowInDays: aws.Int64(7), ForceDeleteWithoutRecovery: aws.Bool(true)})
	gatewaytest.WantError(t, err, "InvalidParameterException", "")

	del, err := e.client.DeleteSecret(ctx, &sdk.DeleteSecretInput{SecretId: aws.String("db-password"), RecoveryWindowInDays: aws.Int64(7)})
	if err != nil || !del.DeletionDate.Equal(e.clock.Add(7*24*time.Hour)) || aws.ToString(del.ARN) != aws.ToString(first.ARN) {
		t.Fatalf("delete: %v %+v", err, del)
	}
	_, err = e.client.GetSecretValue(ctx, &sdk.GetSecretValueInput{SecretId: aws.String("db-password")})
	gatewaytest.WantError(t, err, "InvalidRequestException", "You can't perform this operation on the secret because it was marked for deletion.")
	_, err = e.client.PutSecretValue(ctx, &sdk.PutSecretValueInput{SecretId: aws.String("db-password"), SecretString: aws.String("x")})
	gatewaytest.WantError(t, err, "InvalidRequestException", "You can't perform this operation on the secret because it was marked for deletion.")
	_, err = e.client.TagResource(ctx, &sdk.TagResourceInput{SecretId: aws.String("db-password"), Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}})
	gatewaytest.WantError(t, err, "InvalidRequestException", "You can't perform this operation on the secret because it was marked for deletion.")
	_, err = e.client.CreateSecret(ctx, &sdk.CreateSecretInput{Name: aws.String("db-password"), SecretString: aws.String("new")})
	gatewaytest.WantError(t, err, "InvalidRequestException", "You can't create this secret because a secret with this name is already scheduled for deletion.")
	_, err = e.client.DeleteSecret(ctx, &sdk.DeleteSecretInput{SecretId: aws.String("db-password")})
	gatewaytest.WantError(t, err, "InvalidRequestException", "")
	d, err := e.client.DescribeSecret(ctx, &sdk.DescribeSecretInput{SecretId: aws.String("db-password")})
	if err != nil || !d.DeletedDate.Equal(e.clock) {
		t.Fatalf("describe deleted: %v %+v", err, d)
	}
	list, err := e.client.ListSecrets(ctx, &sdk.ListSecretsInput{})
	if err != nil || len(list.SecretList) != 0 {
		t.Fatalf("list hides the deleted secret: %v %+v", err, list)
	}
	list, err = e.client.ListSecrets(ctx, &sdk.ListSecretsInput{IncludePlannedDeletion: aws.Bool(true)})
	if err != nil || len(list.SecretList) != 1 || list.SecretList[0].DeletedDate == nil {
		t.Fatalf("list with planned deletions: %v %+v", err, list)
	}

	if _, err := e.client.RestoreSecret(ctx, &sdk.RestoreSecretInput{SecretId: aws.String("db-password")}); err != nil {
		t.Fatal(err)
	}
	if got := e.get("db-password"); aws.ToString(got.SecretString) != "old" {
		t.Fatalf("restored: %+v", got)
	}

	// Deleted again (30 days by default), the secret is gone once its window
	// passes: to reads at once, from the store at the next sweep.
	del, err = e.client.DeleteSecret(ctx, &sdk.DeleteSecretInput{SecretId: aws.String("db-password")})
	if err != nil || !del.DeletionDate.Equal(e.clock.Add(30*24*time.Hour)) {
		t.Fatalf("delete: %v %+v", err, del)
	}
	e.clock = e.clock.Add(30 * 24 * time.Hour)
	_, err = e.client.DescribeSecret(ctx, &sdk.DescribeSecretInput{SecretId: aws.String("db-password")})
	gatewaytest.WantError(t, err, "ResourceNotFoundException", msgNotFound)
	if err := e.sm.sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if kvs, _, err := e.store.List(ctx, smstate.Prefix, store.ListOptions{}); err != nil || len(kvs) != 0 {
		t.Fatalf("after the sweep: %v %d keys", err, len(kvs))
	}
	second := e.create("db-password", "new")
	if aws.ToString(second.ARN) == aws.ToString(first.ARN) {
		t.Fatal("a secret created again kept its ARN")
	}
	// The old ARN names nothing now.
	_, err = e.client.GetSecretValue(ctx, &sdk.GetSecretValueInput{SecretId: first.ARN})
	gatewaytest.WantError(t, err, "ResourceNotFoundException", msgNotFound)

	// Forced deletion, of a scheduled secret too, frees the name at once.
	if _, err := e.client.DeleteSecret(ctx, &sdk.DeleteSecretInput{SecretId: aws.String("db-password")}); err != nil {
		t.Fatal(err)
	}
	forced, err := e.client.DeleteSecret(ctx, &sdk.DeleteSecretInput{SecretId: aws.String("db-password"), ForceDeleteWithoutRecovery: aws.Bool(true)})
	if err != nil || aws.ToString(forced.ARN) != aws.ToString(second.ARN) {
		t.Fatalf("force delete: %v %+v", err, forced)
	}
	third := e.create("db-password", "newer")
	if got := e.get("db-password"); aws.ToString(got.SecretString) != "newer" || aws.ToString(got.ARN) != aws.ToString(third.ARN) {
		t.Fatalf("recreated: %+v", got)
	}
	// Forcing the deletion of a secret that does not exist is no error.
	if _, err := e.client.DeleteSecret(ctx, &sdk.DeleteSecretInput{SecretId: aws.String("never"), ForceDeleteWithoutRecovery: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	_, err = e.client.DeleteSecret(ctx, &sdk.DeleteSecretInput{SecretId: aws.String("never")})
	gatewaytest.WantError(t, err, "ResourceNotFoundException", msgNotFound)
}

// A secret whose window passed is replaced by CreateSecret before the
// sweep comes by, values and all.
func TestCreateOverExpiredSecret(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	if _, err := e.client.CreateSecret(ctx, &sdk.CreateSecretInput{Name: aws.String("s"), SecretString: aws.String("a"), ClientRequestToken: aws.String(testVersionIDv1)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.PutSecretValue(ctx, &sdk.PutSecretValueInput{SecretId: aws.String("s"), SecretString: aws.String("b"), ClientRequestToken: aws.String(testVersionIDv2)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.DeleteSecret(ctx, &sdk.DeleteSecretInput{SecretId: aws.String("s"), RecoveryWindowInDays: aws.Int64(7)}); err != nil {
		t.Fatal(err)
	}
	e.clock = e.clock.Add(8 * 24 * time.Hour)
	if _, err := e.client.CreateSecret(ctx, &sdk.CreateSecretInput{Name: aws.String("s"), SecretString: aws.String("c"), ClientRequestToken: aws.String(testVersionIDv1)}); err != nil {
		t.Fatal(err)
	}
	if got := e.get("s"); aws.ToString(got.SecretString) != "c" {
		t.Fatalf("recreated: %+v", got)
	}
	kvs, _, err := e.store.List(ctx, smstate.ValuePrefix, store.ListOptions{})
	if err != nil || len(kvs) != 1 {
		t.Fatalf("values left: %v %d", err, len(kvs))
	}
}

func TestListSecretsFiltersAndPagination(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	for i, s := range []struct{ name, description, tagKey, tagValue string }{
		{"prod/db", "Production database", "env", "prod"},
		{"prod/api", "API key for payments", "env", "prod"},
		{"dev/db", "development database", "env", "dev"},
		{"MyTestSecret", "", "owner", "alice"},
	} {
		e.clock = e.clock.Add(time.Duration(i) * time.Minute)
		in := &sdk.CreateSecretInput{Name: aws.String(s.name), SecretString: aws.String("v"), Tags: []types.Tag{{Key: aws.String(s.tagKey), Value: aws.String(s.tagValue)}}}
		if s.description != "" {
			in.Description = aws.String(s.description)
		}
		if _, err := e.client.CreateSecret(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	names := func(in *sdk.ListSecretsInput) []string {
		t.Helper()
		var out []string
		p := sdk.NewListSecretsPaginator(e.client, in)
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range page.SecretList {
				out = append(out, aws.ToString(s.Name))
			}
		}
		return out
	}
	filter := func(key types.FilterNameStringType, values ...string) []types.Filter {
		return []types.Filter{{Key: key, Values: values}}
	}
	for _, tc := range []struct {
		in   *sdk.ListSecretsInput
		want string
	}{
		{&sdk.ListSecretsInput{}, "prod/db,prod/api,dev/db,MyTestSecret"},
		{&sdk.ListSecretsInput{MaxResults: aws.Int32(1)}, "prod/db,prod/api,dev/db,MyTestSecret"},
		{&sdk.ListSecretsInput{MaxResults: aws.Int32(3), SortBy: types.SortByTypeName}, "MyTestSecret,dev/db,prod/api,prod/db"},
		{&sdk.ListSecretsInput{MaxResults: aws.Int32(2), SortOrder: types.SortOrderTypeDesc}, "MyTestSecret,dev/db,prod/api,prod/db"},
		{&sdk.ListSecretsInput{Filters: filter(types.FilterNameStringTypeName, "prod/")}, "prod/db,prod/api"},
		{&sdk.ListSecretsInput{Filters: filter(types.FilterNameStringTypeName, "Prod")}, ""},
		{&sdk.ListSecretsInput{Filters: filter(types.FilterNameStringTypeName, "Test")}, "MyTestSecret"},
		{&sdk.ListSecretsInput{Filters: filter(types.FilterNameStringTypeName, "!prod")}, "dev/db,MyTestSecret"},
		{&sdk.ListSecretsInput{Filters: filter(types.FilterNameStringTypeDescription, "production")}, "prod/db"},
		{&sdk.ListSecretsInput{Filters: filter(types.FilterNameStringTypeTagKey, "env")}, "prod/db,prod/api,dev/db"},
		{&sdk.ListSecretsInput{Filters: filter(types.FilterNameStringTypeTagValue, "prod", "alice")}, "prod/db,prod/api,MyTestSecret"},
		{&sdk.ListSecretsInput{Filters: filter(types.FilterNameStringTypeAll, "DATABASE")}, "prod/db,dev/db"},
		{&sdk.ListSecretsInput{Filters: filter(types.FilterNameStringTypePrimaryRegion, "us-")}, "prod/db,prod/api,dev/db,MyTestSecret"},
		{&sdk.ListSecretsInput{Filters: filter(types.FilterNameStringTypeOwningService, "rds")}, ""},
		{&sdk.ListSecretsInput{Filters: append(filter(types.FilterNameStringTypeTagValue, "prod"), filter(types.FilterNameStringTypeName, "prod/db")...)}, "prod/db"},
	} {
		if got := strings.Join(names(tc.in), ","); got != tc.want {
			t.Errorf("%+v: got %q, want %q", tc.in, got, tc.want)
		}
	}
	_, err := e.client.ListSecrets(ctx, &sdk.ListSecretsInput{NextToken: aws.String("not a token")})
	gatewaytest.WantError(t, err, "InvalidNextTokenException", "")
}

func TestBatchGetSecretValue(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	a := e.create("app/a", "A")
	e.create("app/b", "B")
	e.create("other", "O")
	out, err := e.client.BatchGetSecretValue(ctx, &sdk.BatchGetSecretValueInput{SecretIdList: []string{"app/b", aws.ToString(a.ARN), "missing"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.SecretValues) != 2 || aws.ToString(out.SecretValues[0].SecretString) != "B" || aws.ToString(out.SecretValues[1].SecretString) != "A" ||
		len(out.Errors) != 1 || aws.ToString(out.Errors[0].SecretId) != "missing" || aws.ToString(out.Errors[0].ErrorCode) != "ResourceNotFoundException" ||
		aws.ToString(out.Errors[0].Message) != msgNotFound {
		t.Fatalf("by ids: %+v", out)
	}
	var got []string
	p := sdk.NewBatchGetSecretValuePaginator(e.client, &sdk.BatchGetSecretValueInput{
		Filters: []types.Filter{{Key: types.FilterNameStringTypeName, Values: []string{"app/"}}}, MaxResults: aws.Int32(1)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range page.SecretValues {
			got = append(got, aws.ToString(v.SecretString))
		}
	}
	if strings.Join(got, ",") != "A,B" {
		t.Fatalf("by filter: %v", got)
	}
	_, err = e.client.BatchGetSecretValue(ctx, &sdk.BatchGetSecretValueInput{SecretIdList: []string{"app/a"},
		Filters: []types.Filter{{Key: types.FilterNameStringTypeName, Values: []string{"app/"}}}})
	gatewaytest.WantError(t, err, "InvalidParameterException", "")
}

func TestTags(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	e.create("s", "v")
	tags := func() []string {
		t.Helper()
		d, err := e.client.DescribeSecret(ctx, &sdk.DescribeSecretInput{SecretId: aws.String("s")})
		if err != nil {
			t.Fatal(err)
		}
		if d.Tags == nil {
			return nil
		}
		out := []string{}
		for _, tag := range d.Tags {
			out = append(out, aws.ToString(tag.Key)+"="+aws.ToString(tag.Value))
		}
		return out
	}
	if got := tags(); got != nil {
		t.Fatalf("untagged: %v", got)
	}
	for _, tt := range [][]types.Tag{
		{{Key: aws.String("b"), Value: aws.String("1")}, {Key: aws.String("a"), Value: aws.String("2")}},
		{{Key: aws.String("b"), Value: aws.String("3")}, {Key: aws.String("c"), Value: aws.String("")}},
	} {
		if _, err := e.client.TagResource(ctx, &sdk.TagResourceInput{SecretId: aws.String("s"), Tags: tt}); err != nil {
			t.Fatal(err)
		}
	}
	if got := strings.Join(tags(), ","); got != "b=3,a=2,c=" {
		t.Fatalf("tags: %s", got)
	}
	if _, err := e.client.UntagResource(ctx, &sdk.UntagResourceInput{SecretId: aws.String("s"), TagKeys: []string{"a", "b", "c", "zz"}}); err != nil {
		t.Fatal(err)
	}
	if got := tags(); got == nil || len(got) != 0 {
		t.Fatalf("tags all removed: %v", got)
	}
	many := make([]types.Tag, maxTags+1)
	for i := range many {
		many[i] = types.Tag{Key: aws.String(fmt.Sprint("k", i)), Value: aws.String("v")}
	}
	_, err := e.client.TagResource(ctx, &sdk.TagResourceInput{SecretId: aws.String("s"), Tags: many})
	gatewaytest.WantError(t, err, "InvalidParameterException", "")
}

func TestResourcePolicies(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	created := e.create("shared", "v")
	got, err := e.client.GetResourcePolicy(ctx, &sdk.GetResourcePolicyInput{SecretId: aws.String("shared")})
	if err != nil || got.ResourcePolicy != nil || aws.ToString(got.ARN) != aws.ToString(created.ARN) {
		t.Fatalf("no policy: %v %+v", err, got)
	}
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:role/app"},"Action":"secretsmanager:GetSecretValue","Resource":"*"}]}`
	if _, err := e.client.PutResourcePolicy(ctx, &sdk.PutResourcePolicyInput{SecretId: aws.String("shared"), ResourcePolicy: &doc, BlockPublicPolicy: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	got, err = e.client.GetResourcePolicy(ctx, &sdk.GetResourcePolicyInput{SecretId: aws.String("shared")})
	if err != nil || aws.ToString(got.ResourcePolicy) != doc {
		t.Fatalf("policy: %v %+v", err, got)
	}
	arn, text, err := e.sm.ResourcePolicy(ctx, testRegion, "arn:aws:secretsmanager:us-east-1:123456789012:secret:shared")
	if err != nil || arn != aws.ToString(created.ARN) || text != doc {
		t.Fatalf("ResourcePolicy: %q %q %v", arn, text, err)
	}
	if _, _, err := e.sm.ResourcePolicy(ctx, testRegion, "nope"); !errors.Is(err, ErrSecretNotFound) {
		t.Fatalf("ResourcePolicy of no secret: %v", err)
	}
	valid, err := e.client.ValidateResourcePolicy(ctx, &sdk.ValidateResourcePolicyInput{ResourcePolicy: &doc})
	if err != nil || !valid.PolicyValidationPassed || len(valid.ValidationErrors) != 0 {
		t.Fatalf("validate: %v %+v", err, valid)
	}
	if _, err := e.client.DeleteResourcePolicy(ctx, &sdk.DeleteResourcePolicyInput{SecretId: aws.String("shared")}); err != nil {
		t.Fatal(err)
	}
	if _, text, _ := e.sm.ResourcePolicy(ctx, testRegion, "shared"); text != "" {
		t.Fatalf("policy left: %s", text)
	}
	_, err = e.client.PutResourcePolicy(ctx, &sdk.PutResourcePolicyInput{SecretId: aws.String("missing"), ResourcePolicy: &doc})
	gatewaytest.WantError(t, err, "ResourceNotFoundException", msgNotFound)

	for _, bad := range []string{"{", `{"Version":"2019-10-19","Statement":[]}`} {
		_, err = e.client.PutResourcePolicy(ctx, &sdk.PutResourcePolicyInput{SecretId: aws.String("shared"), ResourcePolicy: aws.String(bad)})
		gatewaytest.WantError(t, err, "MalformedPolicyDocumentException", "This policy has invalid syntax.")
		_, err = e.client.ValidateResourcePolicy(ctx, &sdk.ValidateResourcePolicyInput{ResourcePolicy: aws.String(bad)})
		gatewaytest.WantError(t, err, "MalformedPolicyDocumentException", "This policy has invalid syntax.")
	}
	public := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"secretsmanager:GetSecretValue","Resource":"*"}]}`
	_, err = e.client.PutResourcePolicy(ctx, &sdk.PutResourcePolicyInput{SecretId: aws.String("shared"), ResourcePolicy: &public, BlockPublicPolicy: aws.Bool(true)})
	gatewaytest.WantError(t, err, "PublicPolicyException", "")
	if _, err := e.client.PutResourcePolicy(ctx, &sdk.PutResourcePolicyInput{SecretId: aws.String("shared"), ResourcePolicy: &public}); err != nil {
		t.Fatal(err)
	}
	valid, err = e.client.ValidateResourcePolicy(ctx, &sdk.ValidateResourcePolicyInput{SecretId: aws.String("shared"), ResourcePolicy: &public})
	if err != nil || valid.PolicyValidationPassed || len(valid.ValidationErrors) != 1 {
		t.Fatalf("validate a public policy: %v %+v", err, valid)
	}
}

// No value reaches the store, nor an error, in the clear.
func TestValuesAreSealed(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	const value = "correct-horse-battery-staple"
	e.create("s", value)
	if _, err := e.client.PutSecretValue(ctx, &sdk.PutSecretValueInput{SecretId: aws.String("s"), SecretBinary: []byte(value + "-bin")}); err != nil {
		t.Fatal(err)
	}
	kvs, _, err := e.store.List(ctx, "", store.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range kvs {
		for _, form := range []string{value, base64.StdEncoding.EncodeToString([]byte(value)), base64.StdEncoding.EncodeToString([]byte(value + "-bin"))} {
			if bytes.Contains(kv.Value, []byte(form)) {
				t.Fatalf("%s holds a value in the clear", kv.Key)
			}
		}
	}
	// A sealed value moved to another version does not open.
	sec, err := store.Get[smstate.Secret](ctx, e.store, smstate.SecretKey(smstate.SecretID{Region: testRegion, Name: "s"}))
	if err != nil {
		t.Fatal(err)
	}
	first, second := sec.Value.Versions[0].ID, sec.Value.Versions[1].ID
	kv, _, err := e.store.Get(ctx, smstate.ValueKey(sec.Value.ID(), second))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.Txn(ctx, store.Txn{Then: []store.Op{store.Put(smstate.ValueKey(sec.Value.ID(), first), kv.Value)}}); err != nil {
		t.Fatal(err)
	}
	_, err = e.client.GetSecretValue(ctx, &sdk.GetSecretValueInput{SecretId: aws.String("s"), VersionId: &first})
	gatewaytest.WantError(t, err, "DecryptionFailure", "")
	// A value too long for the model is refused without being repeated.
	_, err = e.client.PutSecretValue(ctx, &sdk.PutSecretValueInput{SecretId: aws.String("s"), SecretString: aws.String(strings.Repeat(value, 3000))})
	gatewaytest.WantError(t, err, "ValidationException", "")
	if strings.Contains(err.Error(), value) {
		t.Fatalf("the error repeats the value: %v", err)
	}
}

func TestResolveValue(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	created := e.create("db-password", "hunter2")
	value, arn, err := e.sm.ResolveValue(ctx, testRegion, "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-password", "", "")
	if err != nil || string(value) != "hunter2" || arn != aws.ToString(created.ARN) {
		t.Fatalf("resolve: %q %q %v", value, arn, err)
	}
	if _, _, err := e.sm.ResolveValue(ctx, testRegion, "db-password", "AWSPENDING", ""); !errors.Is(err, ErrVersionNotFound) {
		t.Fatalf("no such stage: %v", err)
	}
	if _, _, err := e.sm.ResolveValue(ctx, testRegion, "db-password", "", testVersionIDv2); !errors.Is(err, ErrVersionNotFound) {
		t.Fatalf("no such version: %v", err)
	}
	for _, id := range []string{"nope", "not a name", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-password"} {
		if _, _, err := e.sm.ResolveValue(ctx, testRegion, id, "", ""); !errors.Is(err, ErrSecretNotFound) {
			t.Fatalf("%s: %v", id, err)
		}
	}
	if _, err := e.client.DeleteSecret(ctx, &sdk.DeleteSecretInput{SecretId: aws.String("db-password")}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.sm.ResolveValue(ctx, testRegion, "db-password", "", ""); !errors.Is(err, ErrMarkedForDeletion) {
		t.Fatalf("marked for deletion: %v", err)
	}
}

func TestGetRandomPassword(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	out, err := e.client.GetRandomPassword(ctx, &sdk.GetRandomPasswordInput{})
	if err != nil || len(aws.ToString(out.RandomPassword)) != defaultPasswordLength {
		t.Fatalf("default: %v %+v", err, out)
	}
	out, err = e.client.GetRandomPassword(ctx, &sdk.GetRandomPasswordInput{PasswordLength: aws.Int64(20), ExcludePunctuation: aws.Bool(true), ExcludeCharacters: aws.String("0Oo1lI")})
	if p := aws.ToString(out.RandomPassword); err != nil || len(p) != 20 || strings.ContainsAny(p, punctuation+"0Oo1lI") {
		t.Fatalf("excluding: %v %q", err, p)
	}
	_, err = e.client.GetRandomPassword(ctx, &sdk.GetRandomPasswordInput{PasswordLength: aws.Int64(3)})
	gatewaytest.WantError(t, err, "InvalidParameterException", "Password length is too short based on the required types.")
	_, err = e.client.GetRandomPassword(ctx, &sdk.GetRandomPasswordInput{PasswordLength: aws.Int64(5000)})
	gatewaytest.WantError(t, err, "ValidationException", "")
}

func TestRandomPasswordRules(t *testing.T) {
	for _, tc := range []struct {
		name  string
		rules passwordRules
		allow string
		want  []string // character sets each password holds one of at least
	}{
		{"every type", passwordRules{length: 4, eachType: true}, lowercase + uppercase + digits + punctuation,
			[]string{lowercase, uppercase, digits, punctuation}},
		{"letters only", passwordRules{length: 2, noDigits: true, noPunctuation: true, eachType: true}, lowercase + uppercase,
			[]string{lowercase, uppercase}},
		{"digits emptied by exclusion", passwordRules{length: 3, exclude: digits, eachType: true}, lowercase + uppercase + punctuation,
			[]string{lowercase, uppercase, punctuation}},
		{"space", passwordRules{length: 64, noLower: true, noUpper: true, noPunctuation: true, space: true}, digits + " ", nil},
		{"no requirement", passwordRules{length: 1}, lowercase + uppercase + digits + punctuation, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for range 200 {
				p, err := randomPassword(tc.rules)
				if err != nil {
					t.Fatal(err)
				}
				if len(p) != tc.rules.length || strings.Trim(p, tc.allow) != "" {
					t.Fatalf("%q breaks the rules", p)
				}
				for _, set := range tc.want {
					if !strings.ContainsAny(p, set) {
						t.Fatalf("%q has none of %q", p, set)
					}
				}
			}
		})
	}
	if _, err := randomPassword(passwordRules{length: 8, noLower: true, noUpper: true, noDigits: true, noPunctuation: true}); !errors.Is(err, errInvalidParameter) {
		t.Fatalf("nothing to draw from: %v", err)
	}
}

func TestUnsupportedOperations(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	e.create("s", "v")
	_, err := e.client.RotateSecret(ctx, &sdk.RotateSecretInput{SecretId: aws.String("s")})
	gatewaytest.WantError(t, err, "InvalidRequestException", "berth does not support RotateSecret yet.")
	_, err = e.client.CreateSecret(ctx, &sdk.CreateSecretInput{Name: aws.String("r"), AddReplicaRegions: []types.ReplicaRegionType{{Region: aws.String("eu-west-1")}}})
	gatewaytest.WantError(t, err, "InvalidRequestException", "berth does not support replication yet.")
}
