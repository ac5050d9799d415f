package vulndb

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/berth/berth/internal/admin"
)

func TestAdminEndpoints(t *testing.T) {
	db := newTestDB(t)
	const secret = "s3cret"
	cfg := HandlerConfig{AdminSecret: secret, TempDir: t.TempDir(), MaxImportBytes: 64 << 10}
	mux := http.NewServeMux()
	mux.Handle(ImportPath, db.ImportHandler(cfg))
	mux.Handle(StatusPath, db.StatusHandler(cfg))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	client := admin.Client{BaseURL: srv.URL, AdminSecret: secret}
	ctx := context.Background()

	zipBytes := func(files map[string]string) []byte {
		z := zipOf(t, files)
		raw, _ := io.ReadAll(z)
		return raw
	}
	good := zipBytes(map[string]string{"GO-1.json": goRecord("GO-1", "2024-01-01T00:00:00Z", "1.1.0")})
	withBad := zipBytes(map[string]string{"GO-2.json": goRecord("GO-2", "2024-01-01T00:00:00Z", "1.1.0"), "bad.json": "{"})

	var sum ImportSummary
	if err := client.Post(ctx, ImportPath, ImportPurpose, "application/zip", bytes.NewReader(good), &sum); err != nil || sum.Added != 1 || sum.Info.Records != 1 {
		t.Fatalf("import: %+v, %v", sum, err)
	}
	var info Info
	if err := client.PostJSON(ctx, StatusPath, StatusPurpose, struct{}{}, &info); err != nil || info.Records != 1 || info.Ecosystems["Go"] != 1 {
		t.Fatalf("status: %+v, %v", info, err)
	}

	failures := []struct {
		name        string
		client      admin.Client
		purpose     string
		path        string
		contentType string
		body        []byte
		want        string
	}{
		{"status token does not import", client, StatusPurpose, ImportPath, "application/zip", good, "missing or wrong admin token"},
		{"wrong secret", admin.Client{BaseURL: srv.URL, AdminSecret: "x"}, ImportPurpose, ImportPath, "application/zip", good, "missing or wrong admin token"},
		{"not a zip type", client, ImportPurpose, ImportPath, "application/json", good, "send a zip of OSV records"},
		{"not a zip", client, ImportPurpose, ImportPath, "application/zip", []byte("hello"), "not a zip file"},
		{"too large", client, ImportPurpose, ImportPath, "application/zip", bytes.Repeat([]byte("x"), 65<<10), "larger than 65536 bytes"},
		{"invalid file", client, ImportPurpose, ImportPath, "application/zip", withBad, "bad.json: not an OSV record"},
		{"no records", client, ImportPurpose, ImportPath, "application/zip", zipBytes(map[string]string{"a.txt": "x"}), "no OSV record files"},
		{"bad skipInvalid", client, ImportPurpose, ImportPath + "?skipInvalid=maybe", "application/zip", good, "skipInvalid must be true or false"},
	}
	for _, tc := range failures {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.client.Post(ctx, tc.path, tc.purpose, tc.contentType, bytes.NewReader(tc.body), &sum)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
	if info, _ := db.Info(); info.Records != 1 {
		t.Fatalf("failed imports changed the database: %+v", info)
	}

	sum = ImportSummary{}
	if err := client.Post(ctx, ImportPath+"?skipInvalid=true", ImportPurpose, "application/zip", bytes.NewReader(withBad), &sum); err != nil ||
		sum.Added != 1 || len(sum.Invalid) != 1 || sum.Invalid[0].File != "bad.json" {
		t.Fatalf("skipInvalid import: %+v, %v", sum, err)
	}

	// The 422 status, for clients other than the CLI.
	req, _ := http.NewRequest(http.MethodPost, srv.URL+ImportPath, bytes.NewReader(withBad))
	req.Header.Set("Content-Type", "application/zip")
	req.Header.Set("Authorization", "Bearer "+admin.Token(secret, ImportPurpose))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("invalid import answered %d", resp.StatusCode)
	}
}
