package registry

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/berth/berth/internal/ecr/ecrstate"
)

// BenchmarkManifestGet pulls a manifest by tag from 16 concurrent clients
// (8 per GOMAXPROCS on the 2-core target machine), through HTTP, auth and
// the bolt store, and reports requests per second.
func BenchmarkManifestGet(b *testing.B) {
	r := newTestRegistry(b, ecrstate.Repository{Name: "team/app"})
	body := r.pushImage("team/app", nil)
	if p := r.putManifest("team/app", "latest", body); p.status != http.StatusCreated {
		b.Fatalf("push: %d %s", p.status, p.body)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	url := r.srv.URL + "/v2/team/app/manifests/latest"
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			q, _ := http.NewRequest(http.MethodGet, url, nil)
			q.SetBasicAuth("AWS", r.password)
			q.Header.Set("Accept", "application/vnd.oci.image.manifest.v1+json")
			res, err := client.Do(q)
			if err != nil {
				b.Error(err)
				return
			}
			n, _ := io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusOK || n != int64(len(body)) {
				b.Errorf("status %d, %d bytes", res.StatusCode, n)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}

// BenchmarkBlobPushPull streams a 64 MiB blob up (one PATCH of unknown
// length, as docker sends) and down again through the encrypted store.
func BenchmarkBlobPushPull(b *testing.B) {
	r := newTestRegistry(b, ecrstate.Repository{Name: "app"})
	content := randomBytes(64 << 20)
	d := digest.FromBytes(content)
	b.SetBytes(int64(2 * len(content)))
	for b.Loop() {
		loc := r.do(req{method: "POST", path: "/v2/app/blobs/uploads/"}).expect(b, http.StatusAccepted, "").header.Get("Location")
		q, _ := http.NewRequest(http.MethodPatch, r.srv.URL+loc, io.MultiReader(bytes.NewReader(content)))
		q.SetBasicAuth("AWS", r.password)
		res, err := http.DefaultClient.Do(q)
		if err != nil || res.StatusCode != http.StatusAccepted {
			b.Fatalf("PATCH: %v %v", res, err)
		}
		res.Body.Close()
		r.do(req{method: "PUT", path: loc + "?digest=" + d.String()}).expect(b, http.StatusCreated, "")
		q, _ = http.NewRequest(http.MethodGet, r.srv.URL+"/v2/app/blobs/"+d.String(), nil)
		q.SetBasicAuth("AWS", r.password)
		res, err = http.DefaultClient.Do(q)
		if err != nil {
			b.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if n != int64(len(content)) {
			b.Fatalf("pulled %d bytes", n)
		}
		// Start from nothing again, so every round stores the blob.
		r.do(req{method: "DELETE", path: "/v2/app/blobs/" + d.String()}).expect(b, http.StatusAccepted, "")
		r.handler().blobs.Delete(context.Background(), d)
	}
}
