package ecr

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/ecr/ecrstate"
	"github.com/berth/berth/internal/ecr/ecrtypes"
	"github.com/berth/berth/internal/registry"
)

// TestSweepLayerUploads: garbage collection deletes the records of layer
// uploads whose blob session expired in the sweep, or ended without the
// record long enough ago; the uploads are then unknown.
func TestSweepLayerUploads(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	createRepo(t, f, "my-app")
	initiate := func() (string, ecrstate.UploadSession) {
		t.Helper()
		out := mustCall[ecrtypes.InitiateLayerUploadResponse](t, f, "InitiateLayerUpload", &ecrtypes.InitiateLayerUploadRequest{RepositoryName: str("my-app")})
		id := awsapi.Deref(out.UploadId)
		var sess ecrstate.UploadSession
		kv, _, err := f.store.Get(ctx, ecrstate.UploadKey(id))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(kv.Value, &sess); err != nil {
			t.Fatal(err)
		}
		return id, sess
	}
	expiredID, expired := initiate()
	staleID, stale := initiate()
	liveID, _ := initiate()

	now := stale.CreatedAt.Add(30 * time.Minute)
	sweep := SweepLayerUploads(f.store, f.blobs, func() time.Time { return now })
	inSweep := func(id string) bool { return id == expired.BlobUpload }
	// The stale one's blob session ends without its record (a restart).
	up, err := f.blobs.Upload(ctx, stale.BlobUpload)
	if err != nil {
		t.Fatal(err)
	}
	if err := up.Cancel(ctx); err != nil {
		t.Fatal(err)
	}

	check := func(dryRun bool, want ...string) {
		t.Helper()
		got, err := sweep(ctx, inSweep, dryRun)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, u := range got {
			if u.Kind != registry.UploadKindECR || u.Repository != "my-app" || u.StartedAt.IsZero() || u.BlobUpload == "" {
				t.Errorf("reported %+v", u)
			}
			ids = append(ids, u.ID)
		}
		slices.Sort(ids)
		slices.Sort(want)
		if !slices.Equal(ids, want) {
			t.Fatalf("dryRun=%v: swept %v, want %v", dryRun, ids, want)
		}
	}
	check(true, expiredID)
	check(false, expiredID)
	check(false) // done already; the stale record is too young to judge
	now = stale.CreatedAt.Add(2 * time.Hour)
	check(true, staleID)
	check(false, staleID)
	check(false)

	part := func(id string) error {
		_, err := call[ecrtypes.UploadLayerPartResponse](t, f, "UploadLayerPart", &ecrtypes.UploadLayerPartRequest{
			RepositoryName: str("my-app"), UploadId: str(id), PartFirstByte: awsapi.Int64(0), PartLastByte: awsapi.Int64(0), LayerPartBlob: []byte("x"),
		})
		return err
	}
	wantErr(t, part(expiredID), "UploadNotFoundException", "")
	wantErr(t, part(staleID), "UploadNotFoundException", "")
	if err := part(liveID); err != nil {
		t.Fatalf("the live upload was swept: %v", err)
	}
}
