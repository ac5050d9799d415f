package ecrstate_test

import (
	"context"
	"encoding/json"
	"maps"
	"path/filepath"
	"testing"

	"github.com/berth/berth/internal/ecr/ecrstate"
	"github.com/berth/berth/internal/store"
	"github.com/berth/berth/internal/store/bolt"
)

func TestRelayout(t *testing.T) {
	ctx := context.Background()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "state.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	const d = "sha256:aaaa"
	before := map[string]string{
		"ecr/repo/team/app":                           `{"name":"team/app"}`,
		"ecr/image/team/app|" + d:                     `{"repository":"team/app","digest":"sha256:aaaa"}`,
		"ecr/tag/team/app|latest":                     `"sha256:aaaa"`,
		"ecr/blob/team/app|sha256:bbbb":               `{"digest":"sha256:bbbb","size":3}`,
		"ecr/referrer/team/app|" + d + "|sha256:cccc": `{"digest":"sha256:cccc"}`,
		"ecr/scan/team/app|" + d:                      `{"repository":"team/app","digest":"sha256:aaaa"}`,
		"ecr/lifecycle-preview/team/app":              `{"status":"COMPLETE"}`,
		"ecr/registry/scanning":                       `{"scanType":"ENHANCED"}`,
		"ecr/upload/u-1":                              `{"repository":"team/app","blobUpload":"b-1","createdAt":"2024-01-01T00:00:00Z"}`,
		"ecs/cluster/default":                         `{"name":"default"}`,
	}
	for k, v := range before {
		put(t, st, k, v)
	}
	moved, err := ecrstate.Relayout(ctx, st, "eu-central-1")
	if err != nil || moved != 8 {
		t.Fatalf("relayout: moved %d, %v; want 8", moved, err)
	}
	want := map[string]string{
		"ecr/repo/eu-central-1|team/app":                           `{"name":"team/app"}`,
		"ecr/image/eu-central-1|team/app|" + d:                     `{"repository":"team/app","digest":"sha256:aaaa"}`,
		"ecr/tag/eu-central-1|team/app|latest":                     `"sha256:aaaa"`,
		"ecr/blob/eu-central-1|team/app|sha256:bbbb":               `{"digest":"sha256:bbbb","size":3}`,
		"ecr/referrer/eu-central-1|team/app|" + d + "|sha256:cccc": `{"digest":"sha256:cccc"}`,
		"ecr/scan/eu-central-1|team/app|" + d:                      `{"repository":"team/app","digest":"sha256:aaaa"}`,
		"ecr/lifecycle-preview/eu-central-1|team/app":              `{"status":"COMPLETE"}`,
		"ecr/registry/eu-central-1/scanning":                       `{"scanType":"ENHANCED"}`,
		"ecs/cluster/default":                                      `{"name":"default"}`,
		"layout/ecr":                                               `2`,
	}
	got := dump(t, st)
	upload := got["ecr/upload/u-1"]
	delete(got, "ecr/upload/u-1")
	if !maps.Equal(got, want) {
		t.Fatalf("after relayout:\n%v\nwant\n%v", got, want)
	}
	var sess ecrstate.UploadSession
	if err := json.Unmarshal([]byte(upload), &sess); err != nil || sess.Region != "eu-central-1" || sess.Repository != "team/app" || sess.BlobUpload != "b-1" || sess.CreatedAt.IsZero() {
		t.Fatalf("upload session %s (%v): want its fields and region eu-central-1", upload, err)
	}

	// The records read through the new keys.
	repo := ecrstate.RepositoryID{Region: "eu-central-1", Name: "team/app"}
	if _, found, err := loadScan(ctx, st, repo); err != nil || !found {
		t.Fatalf("scan record under the new key: found %v, %v", found, err)
	}
	if cfg, err := ecrstate.LoadScanningConfig(ctx, st, "eu-central-1"); err != nil || cfg.ScanType != "ENHANCED" {
		t.Fatalf("scanning configuration %+v, %v", cfg, err)
	}

	// A second run, even for another region, moves nothing.
	again := dump(t, st)
	if moved, err := ecrstate.Relayout(ctx, st, "us-east-1"); err != nil || moved != 0 {
		t.Fatalf("second relayout: moved %d, %v", moved, err)
	}
	if after := dump(t, st); !maps.Equal(after, again) {
		t.Fatalf("second relayout changed the store:\n%v\nwas\n%v", after, again)
	}
}

func loadScan(ctx context.Context, st store.Store, repo ecrstate.RepositoryID) (ecrstate.ScanRecord, bool, error) {
	rec, _, found, err := ecrstate.LoadScanRecord(ctx, st, repo, "sha256:aaaa")
	return rec, found, err
}

func put(t *testing.T, st store.Store, key, value string) {
	t.Helper()
	if _, err := st.Txn(context.Background(), store.Txn{Then: []store.Op{store.Put(key, []byte(value))}}); err != nil {
		t.Fatal(err)
	}
}

func dump(t *testing.T, st store.Store) map[string]string {
	t.Helper()
	kvs, _, err := st.List(context.Background(), "", store.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, kv := range kvs {
		out[kv.Key] = string(kv.Value)
	}
	return out
}
