package secretsmanager

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/secretsmanager/smstate"
	"github.com/berth/berth/internal/secretsmanager/smtypes"
	"github.com/berth/berth/internal/store"
)

func TestAttachMovesLabels(t *testing.T) {
	sec := smstate.Secret{Versions: []smstate.Version{
		{ID: "a", Stages: []string{"AWSPREVIOUS"}},
		{ID: "b", Stages: []string{"AWSCURRENT", "X"}},
		{ID: "c", Stages: []string{"AWSPENDING"}},
	}}
	attach(&sec, 2, "AWSCURRENT")
	attach(&sec, 0, "X")
	got := fmt.Sprint(sec.Versions)
	want := fmt.Sprint([]smstate.Version{
		{ID: "a", Stages: []string{"X"}},
		{ID: "b", Stages: []string{"AWSPREVIOUS"}},
		{ID: "c", Stages: []string{"AWSCURRENT", "AWSPENDING"}},
	})
	if got != want {
		t.Fatalf("got %s\nwant %s", got, want)
	}
	detach(&sec, 0, "X")
	if sec.Versions[0].Stages != nil {
		t.Fatalf("detached: %v", sec.Versions[0].Stages)
	}
}

// A secret keeps maxVersions versions: the oldest deprecated ones go, with
// their values, but none created within a day.
func TestOldVersionsArePruned(t *testing.T) {
	e := newTestEnv(t)
	ctx := awsapi.WithRequest(context.Background(), &awsapi.RequestInfo{Region: testRegion})
	token := func(i int) *string { return awsapi.String(fmt.Sprintf("%08d-0000-0000-0000-000000000000", i)) }
	put := func(i int) error {
		_, err := e.sm.putSecretValue(ctx, &smtypes.PutSecretValueRequest{SecretId: awsapi.String("s"), SecretString: awsapi.String("v"), ClientRequestToken: token(i)})
		return err
	}
	if _, err := e.sm.createSecret(ctx, &smtypes.CreateSecretRequest{Name: awsapi.String("s"), SecretString: awsapi.String("v"), ClientRequestToken: token(0)}); err != nil {
		t.Fatal(err)
	}
	e.clock = e.clock.Add(25 * time.Hour)
	for i := 1; i <= maxVersions; i++ {
		if err := put(i); err != nil {
			t.Fatalf("put %d: %v", i, err)
		}
	}
	ids := func() []string {
		sec, err := store.Get[smstate.Secret](ctx, e.store, smstate.SecretKey(smstate.SecretID{Region: testRegion, Name: "s"}))
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, v := range sec.Value.Versions {
			out = append(out, v.ID)
		}
		return out
	}
	if got := ids(); len(got) != maxVersions || got[0] != *token(1) {
		t.Fatalf("%d versions, first %s", len(got), got[0])
	}
	if _, _, err := e.store.Get(ctx, smstate.ValueKey(smstate.SecretID{Region: testRegion, Name: "s"}, *token(0))); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the pruned version's value: %v", err)
	}
	// Every deprecated version is less than a day old now.
	if err := put(maxVersions + 1); !errors.Is(err, errLimitExceeded) {
		t.Fatalf("put beyond the quota: %v", err)
	}
	e.clock = e.clock.Add(24 * time.Hour)
	if err := put(maxVersions + 1); err != nil {
		t.Fatal(err)
	}
	if got := ids(); len(got) != maxVersions || got[0] != *token(2) || !slices.Contains(got, *token(maxVersions + 1)) {
		t.Fatalf("after pruning again: %d versions from %s", len(got), got[0])
	}
}

func TestLabelQuota(t *testing.T) {
	sec := smstate.Secret{Versions: []smstate.Version{{ID: "a"}}}
	for i := range maxLabels {
		attach(&sec, 0, fmt.Sprint("L", i))
	}
	if err := checkLabels(sec); err != nil {
		t.Fatal(err)
	}
	attach(&sec, 0, "one-more")
	if err := checkLabels(sec); !errors.Is(err, errLimitExceeded) {
		t.Fatalf("over the quota: %v", err)
	}
}

func TestParseSecretID(t *testing.T) {
	s := New(Config{AccountID: testAccount})
	for _, tc := range []struct {
		in      string
		want    secretRef
		wantErr error
	}{
		{"db", secretRef{id: smstate.SecretID{Region: "r1", Name: "db"}}, nil},
		{"a/b_c+d=e.f@g-h", secretRef{id: smstate.SecretID{Region: "r1", Name: "a/b_c+d=e.f@g-h"}}, nil},
		{"arn:aws:secretsmanager:r2:123456789012:secret:db-password",
			secretRef{id: smstate.SecretID{Region: "r2", Name: "db-password"}}, nil},
		{"arn:aws:secretsmanager:r2:123456789012:secret:db-AbC123",
			secretRef{id: smstate.SecretID{Region: "r2", Name: "db"}, arn: "arn:aws:secretsmanager:r2:123456789012:secret:db-AbC123"}, nil},
		// Not six letters or digits after the last hyphen: a partial ARN.
		{"arn:aws:secretsmanager:r2:123456789012:secret:db-Ab/123", secretRef{id: smstate.SecretID{Region: "r2", Name: "db-Ab/123"}}, nil},
		{"arn:aws:secretsmanager:r2:123456789012:secret:-AbC123", secretRef{id: smstate.SecretID{Region: "r2", Name: "-AbC123"}}, nil},
		{"arn:aws:secretsmanager:r2:999999999999:secret:db", secretRef{}, ErrSecretNotFound},
		{"arn:aws:secretsmanager::123456789012:secret:db", secretRef{}, ErrSecretNotFound},
		{"arn:aws:ssm:r2:123456789012:parameter/db", secretRef{}, ErrSecretNotFound},
		{"arn:aws:secretsmanager:r2:123456789012:secret:", secretRef{}, ErrSecretNotFound},
		{"has space", secretRef{}, errInvalidName},
		{"", secretRef{}, errInvalidName},
	} {
		got, err := s.parseSecretID("r1", tc.in)
		if got != tc.want || !errors.Is(err, tc.wantErr) {
			t.Errorf("%q: got %+v %v, want %+v %v", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestMatchText(t *testing.T) {
	for _, tc := range []struct {
		pattern, attr string
		fold, want    bool
	}{
		{"prod/", "prod/db", false, true},
		{"Prod", "prod/db", false, false},
		{"Prod", "prod/db", true, true},
		{"db", "prod/db", false, true},
		{"Test", "MyTestSecret", false, true},
		{"MyTestSec", "MyTestSecret", false, true},
		{"test secret", "MyTestSecret", true, true},
		{"data", "Production database", true, true},
		{"base", "Production database", true, false},
		{"", "x", false, true},
	} {
		if got := matchText(tc.pattern, tc.attr, tc.fold); got != tc.want {
			t.Errorf("matchText(%q, %q, %v) = %v", tc.pattern, tc.attr, tc.fold, got)
		}
	}
}
