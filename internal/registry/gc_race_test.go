package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berth/berth/internal/blob/local"
	"github.com/berth/berth/internal/ecr/ecrstate"
	"github.com/berth/berth/internal/store/bolt"
)

// TestGCRacesPushes pushes images sharing layers into several repositories
// by every path a client takes (HEAD and skip, cross-repository mount,
// monolithic and chunked uploads, uploads of content already stored),
// deletes some images again, and sweeps in a loop all the while with a
// grace period short enough that links of pushes in progress are collected.
// A push whose manifest put fails with MANIFEST_BLOB_UNKNOWN starts again,
// as a client would. Afterwards every image whose push succeeded pulls
// completely and every blob matches its digest.
func TestGCRacesPushes(t *testing.T) {
	dir := t.TempDir()
	st, err := bolt.Open(filepath.Join(dir, "state.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	blobs, err := local.Open(filepath.Join(dir, "blobs"), local.Options{Key: make([]byte, 32)})
	if err != nil {
		t.Fatal(err)
	}
	cat := NewCatalog(st, nil)
	repos := []string{"r0", "r1", "r2"}
	for _, name := range repos {
		if _, err := cat.CreateRepository(context.Background(), repoID(name), ecrstate.Repository{Name: name}); err != nil {
			t.Fatal(err)
		}
	}
	tokens := NewTokens([]byte("test key"), testRegion, nil)
	password, _ := tokens.Issue("AKIATEST", testRegion)
	srv := httptest.NewServer(NewHandler(HandlerConfig{Catalog: cat, Blobs: blobs, Tokens: tokens, AccountID: testAccount,
		Logger: slog.New(slog.DiscardHandler)}))
	t.Cleanup(srv.Close)
	gc := NewCollector(GCConfig{Catalog: cat, Blobs: blobs, GracePeriod: 50 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})

	shared := make([][]byte, 5)
	for i := range shared {
		shared[i] = randomBytes(40_000 + i)
	}
	c := &raceClient{t: t, base: srv.URL, password: password, stop: runtime.Goexit}

	sweepCtx, stopSweeps := context.WithCancel(context.Background())
	var sweeps, linksCollected, blobsCollected atomic.Int64
	var sweepWG sync.WaitGroup
	sweepWG.Go(func() {
		for sweepCtx.Err() == nil {
			rep, err := gc.Sweep(sweepCtx, false)
			if err != nil {
				if sweepCtx.Err() == nil {
					t.Errorf("sweep: %v", err)
				}
				return
			}
			sweeps.Add(1)
			time.Sleep(time.Millisecond)
			linksCollected.Add(int64(len(rep.Links)))
			blobsCollected.Add(int64(len(rep.Blobs)))
		}
	})

	type pushed struct {
		repo     string
		manifest digest.Digest
	}
	var mu sync.Mutex
	var kept []pushed
	var retries atomic.Int64
	const pushers, perPusher = 4, 8
	var wg sync.WaitGroup
	for w := range pushers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			for i := range perPusher {
				repo := repos[(w+i)%len(repos)]
				contents := [][]byte{
					[]byte(fmt.Sprintf(`{"pusher":%d,"image":%d}`, w, i)),
					shared[rng.IntN(len(shared))],
					shared[rng.IntN(len(shared))],
					randomBytes(1000 + rng.IntN(20_000)),
				}
				if contents[1][0] == contents[2][0] && bytes.Equal(contents[1], contents[2]) {
					contents = append(contents[:2], contents[3])
				}
				d, attempts := c.push(rng, repo, repos, contents)
				retries.Add(int64(attempts - 1))
				if d == "" {
					return
				}
				if rng.IntN(3) == 0 {
					// Garbage for the sweeps: an image deleted again.
					c.do("DELETE", "/v2/"+repo+"/manifests/"+d.String(), nil, nil, http.StatusAccepted)
					continue
				}
				mu.Lock()
				kept = append(kept, pushed{repo, d})
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	stopSweeps()
	sweepWG.Wait()
	if t.Failed() {
		return
	}
	t.Logf("%d sweeps collected %d links and %d blobs; %d pushes started again; %d images kept",
		sweeps.Load(), linksCollected.Load(), blobsCollected.Load(), retries.Load(), len(kept))
	if sweeps.Load() == 0 || blobsCollected.Load() == 0 {
		t.Fatalf("the sweeps collected nothing (%d sweeps): the race was not exercised", sweeps.Load())
	}
	puller := &raceClient{t: t, base: srv.URL, password: password, stop: t.FailNow}
	verify := func() {
		c := puller
		for _, p := range kept {
			var m ocispec.Manifest
			body := c.do("GET", "/v2/"+p.repo+"/manifests/"+p.manifest.String(), nil, nil, http.StatusOK)
			if digest.FromBytes(body) != p.manifest {
				t.Fatalf("%s@%s: manifest does not match its digest", p.repo, p.manifest)
			}
			if err := json.Unmarshal(body, &m); err != nil {
				t.Fatal(err)
			}
			for _, desc := range append([]ocispec.Descriptor{m.Config}, m.Layers...) {
				b := c.do("GET", "/v2/"+p.repo+"/blobs/"+desc.Digest.String(), nil, nil, http.StatusOK)
				if digest.FromBytes(b) != desc.Digest || int64(len(b)) != desc.Size {
					t.Fatalf("%s@%s: blob %s does not verify", p.repo, p.manifest, desc.Digest)
				}
			}
		}
	}
	verify()
	// Once everything is old, a sweep still keeps what the images use.
	time.Sleep(60 * time.Millisecond)
	if _, err := gc.Sweep(context.Background(), false); err != nil {
		t.Fatal(err)
	}
	verify()
}

// raceClient pushes and pulls over the OCI distribution API.
type raceClient struct {
	t        *testing.T
	base     string
	password string
	// stop ends the goroutine after a failure: runtime.Goexit in pushers,
	// t.FailNow in the test's own goroutine.
	stop func()
}

// do sends a request and returns the body if the status is one of want
// (any status if want is empty).
func (c *raceClient) do(method, path string, body []byte, header map[string]string, want ...int) []byte {
	b, status, _ := c.request(method, path, body, header)
	if len(want) > 0 && !containsInt(want, status) {
		c.t.Errorf("%s %s: status %d, want %v: %s", method, path, status, want, b)
		c.stop()
	}
	return b
}

func (c *raceClient) request(method, path string, body []byte, header map[string]string) ([]byte, int, http.Header) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	u := path
	if u[0] == '/' {
		u = c.base + path
	}
	req, err := http.NewRequest(method, u, r)
	if err != nil {
		c.t.Error(err)
		c.stop()
	}
	req.SetBasicAuth("AWS", c.password)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Error(err)
		c.stop()
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		c.t.Error(err)
		c.stop()
	}
	return b, res.StatusCode, res.Header
}

// push uploads contents (config first) as an image into repo and puts its
// manifest, starting again while the put fails for a blob collected under
// it. It returns the manifest digest and the attempts made.
func (c *raceClient) push(rng *rand.Rand, repo string, repos []string, contents [][]byte) (digest.Digest, int) {
	var descs []ocispec.Descriptor
	for _, b := range contents {
		descs = append(descs, ocispec.Descriptor{MediaType: ocispec.MediaTypeImageLayer, Digest: digest.FromBytes(b), Size: int64(len(b))})
	}
	descs[0].MediaType = ocispec.MediaTypeImageConfig
	manifest := mustJSON(ocispec.Manifest{Versioned: ocispecVersioned(), MediaType: ocispec.MediaTypeImageManifest, Config: descs[0], Layers: descs[1:]})
	for attempt := 1; attempt <= 200; attempt++ {
		for i, b := range contents {
			c.pushBlob(rng, repo, repos, descs[i].Digest, b)
			if attempt < 10 {
				// Slow pushes, whose first links outlive the grace period.
				time.Sleep(time.Duration(rng.IntN(20)) * time.Millisecond)
			}
		}
		body, status, _ := c.request("PUT", "/v2/"+repo+"/manifests/"+strconv.Itoa(attempt)+"x"+digest.FromBytes(manifest).Encoded()[:8], manifest,
			map[string]string{"Content-Type": ocispec.MediaTypeImageManifest})
		switch {
		case status == http.StatusCreated:
			return digest.FromBytes(manifest), attempt
		case status == http.StatusBadRequest && bytes.Contains(body, []byte("MANIFEST_BLOB_UNKNOWN")):
			continue
		default:
			c.t.Errorf("put manifest: %d %s", status, body)
			return "", attempt
		}
	}
	c.t.Errorf("push to %s never succeeded", repo)
	return "", 0
}

// pushBlob makes blob d present in repo by one of the ways clients do.
func (c *raceClient) pushBlob(rng *rand.Rand, repo string, repos []string, d digest.Digest, b []byte) {
	base := "/v2/" + repo + "/blobs/"
	if rng.IntN(2) == 0 {
		if _, status, _ := c.request("HEAD", base+d.String(), nil, nil); status == http.StatusOK {
			return
		}
	}
	var loc string
	switch rng.IntN(3) {
	case 0:
		from := repos[rng.IntN(len(repos))]
		_, status, h := c.request("POST", base+"uploads/?mount="+d.String()+"&from="+from, nil, nil)
		if status == http.StatusCreated {
			return
		}
		if status != http.StatusAccepted {
			c.t.Errorf("mount: status %d", status)
			c.stop()
		}
		loc = h.Get("Location")
	case 1:
		c.do("POST", base+"uploads/?digest="+d.String(), b, nil, http.StatusCreated)
		return
	default:
		_, status, h := c.request("POST", base+"uploads/", nil, nil)
		if status != http.StatusAccepted {
			c.t.Errorf("start upload: status %d", status)
			c.stop()
		}
		loc = h.Get("Location")
	}
	half := len(b) / 2
	c.do("PATCH", loc, b[:half], map[string]string{"Content-Range": fmt.Sprintf("0-%d", half-1)}, http.StatusAccepted)
	c.do("PUT", loc+"?digest="+d.String(), b[half:], map[string]string{"Content-Range": fmt.Sprintf("%d-%d", half, len(b)-1)}, http.StatusCreated)
}

func containsInt(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
