package registry

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/berth/berth/internal/blob/local"
	"github.com/berth/berth/internal/ecr/ecrstate"
	"github.com/berth/berth/internal/store/bolt"
)

const testAccount = "123456789012"

// testRegion is the region the tests' repositories and passwords are in.
const testRegion = "us-east-1"

// repoID is repository name in testRegion.
func repoID(name string) ecrstate.RepositoryID {
	return ecrstate.RepositoryID{Region: testRegion, Name: name}
}

// testRegistry is a handler over a bolt store and an encrypted local blob
// store, served by httptest, with a valid password.
type testRegistry struct {
	t        testing.TB
	cat      *Catalog
	tokens   *Tokens
	password string
	srv      *httptest.Server
	reg      *prometheus.Registry
	clock    *testClock
}

type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func newTestRegistry(t testing.TB, repos ...ecrstate.Repository) *testRegistry {
	t.Helper()
	return newConfiguredRegistry(t, nil, repos...)
}

// newConfiguredRegistry is newTestRegistry with configure applied to the
// handler's config.
func newConfiguredRegistry(t testing.TB, configure func(*HandlerConfig), repos ...ecrstate.Repository) *testRegistry {
	t.Helper()
	dir := t.TempDir()
	st, err := bolt.Open(filepath.Join(dir, "state.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	key, err := local.LoadOrCreateKey(filepath.Join(dir, "blob.key"))
	if err != nil {
		t.Fatal(err)
	}
	blobs, err := local.Open(filepath.Join(dir, "blobs"), local.Options{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	clock := &testClock{now: time.Now()}
	cat := NewCatalog(st, nil)
	for _, repo := range repos {
		if _, err := cat.CreateRepository(context.Background(), repoID(repo.Name), repo); err != nil {
			t.Fatal(err)
		}
	}
	tokens := NewTokens([]byte("test key"), testRegion, clock.Now)
	password, _ := tokens.Issue("AKIATEST", testRegion)
	reg := prometheus.NewRegistry()
	cfg := HandlerConfig{
		Catalog: cat, Blobs: blobs, Tokens: tokens,
		AccountID: testAccount, Region: "us-east-1", Registerer: reg,
	}
	if configure != nil {
		configure(&cfg)
	}
	h := NewHandler(cfg)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &testRegistry{t: t, cat: cat, tokens: tokens, password: password, srv: srv, reg: reg, clock: clock}
}

type req struct {
	method, path string
	body         []byte
	header       map[string]string
	noAuth       bool
}

type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r *testRegistry) do(q req) resp {
	r.t.Helper()
	var body io.Reader
	if q.body != nil {
		body = bytes.NewReader(q.body)
	}
	hr, err := http.NewRequest(q.method, r.srv.URL+q.path, body)
	if err != nil {
		r.t.Fatal(err)
	}
	if !q.noAuth {
		hr.SetBasicAuth("AWS", r.password)
	}
	for k, v := range q.header {
		hr.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(hr)
	if err != nil {
		r.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		r.t.Fatal(err)
	}
	if v := res.Header.Get("Docker-Distribution-Api-Version"); v != "registry/2.0" {
		r.t.Errorf("%s %s: Docker-Distribution-Api-Version %q", q.method, q.path, v)
	}
	return resp{status: res.StatusCode, header: res.Header, body: b}
}

// expect checks the status and, for errors, the OCI error code.
func (p resp) expect(t testing.TB, status int, code string) resp {
	t.Helper()
	if p.status != status {
		t.Fatalf("status %d, want %d: %s", p.status, status, p.body)
	}
	if code != "" {
		var eb errorBody
		if err := json.Unmarshal(p.body, &eb); err != nil || len(eb.Errors) != 1 || eb.Errors[0].Code != code {
			t.Fatalf("error body %s, want code %s", p.body, code)
		}
	}
	return p
}

func (p resp) message(t testing.TB) string {
	t.Helper()
	var eb errorBody
	if err := json.Unmarshal(p.body, &eb); err != nil || len(eb.Errors) == 0 {
		t.Fatalf("not an error body: %s", p.body)
	}
	return eb.Errors[0].Message
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// pushBlob uploads content monolithically into repo.
func (r *testRegistry) pushBlob(repo string, content []byte) ocispec.Descriptor {
	r.t.Helper()
	d := digest.FromBytes(content)
	r.do(req{method: "POST", path: "/v2/" + repo + "/blobs/uploads/?digest=" + d.String(), body: content}).
		expect(r.t, http.StatusCreated, "")
	return ocispec.Descriptor{MediaType: "application/octet-stream", Digest: d, Size: int64(len(content))}
}

// pushImage pushes a config and a layer and returns the manifest.
func (r *testRegistry) pushImage(repo string, mutate func(*ocispec.Manifest)) []byte {
	r.t.Helper()
	config := r.pushBlob(repo, []byte(`{"architecture":"amd64","os":"linux"}`))
	config.MediaType = ocispec.MediaTypeImageConfig
	layer := r.pushBlob(repo, randomBytes(3000))
	layer.MediaType = ocispec.MediaTypeImageLayerGzip
	m := ocispec.Manifest{Versioned: ocispecVersioned(), MediaType: ocispec.MediaTypeImageManifest, Config: config, Layers: []ocispec.Descriptor{layer}}
	if mutate != nil {
		mutate(&m)
	}
	return mustJSON(m)
}

func (r *testRegistry) putManifest(repo, ref string, body []byte) resp {
	r.t.Helper()
	return r.do(req{method: "PUT", path: "/v2/" + repo + "/manifests/" + ref, body: body,
		header: map[string]string{"Content-Type": ocispec.MediaTypeImageManifest}})
}

func TestAuthFailures(t *testing.T) {
	r := newTestRegistry(t, ecrstate.Repository{Name: "app"})
	checkChallenge := func(name string, p resp, wantBody string) {
		t.Helper()
		if p.status != http.StatusUnauthorized {
			t.Fatalf("%s: status %d", name, p.status)
		}
		host := strings.TrimPrefix(r.srv.URL, "http://")
		want := `Basic realm="https://` + host + `/",service="ecr.amazonaws.com"`
		if got := p.header.Get("Www-Authenticate"); got != want {
			t.Errorf("%s: Www-Authenticate %q, want %q", name, got, want)
		}
		if string(p.body) != wantBody {
			t.Errorf("%s: body %q", name, p.body)
		}
	}
	checkChallenge("no credentials", r.do(req{method: "GET", path: "/v2/", noAuth: true}), "Not Authorized\n")
	checkChallenge("HEAD", r.do(req{method: "HEAD", path: "/v2/app/manifests/latest", noAuth: true}), "")
	checkChallenge("wrong user", r.do(req{method: "GET", path: "/v2/", noAuth: true,
		header: map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte("admin:"+r.password))}}), "Not Authorized\n")
	checkChallenge("forged password", r.do(req{method: "GET", path: "/v2/app/tags/list", noAuth: true,
		header: map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte("AWS:"+r.password+"x"))}}), "Not Authorized\n")
	checkChallenge("bearer", r.do(req{method: "GET", path: "/v2/", noAuth: true,
		header: map[string]string{"Authorization": "Bearer " + r.password}}), "Not Authorized\n")
	// Even unknown paths need credentials first.
	checkChallenge("unknown path", r.do(req{method: "GET", path: "/v2/app/nothing", noAuth: true}), "Not Authorized\n")

	// GetAuthorizationToken's raw authorizationToken is the Basic credential.
	token := base64.StdEncoding.EncodeToString([]byte("AWS:" + r.password))
	ok := r.do(req{method: "GET", path: "/v2/", noAuth: true, header: map[string]string{"Authorization": "Basic " + token}})
	if ok.status != http.StatusOK || string(ok.body) != "{}" {
		t.Fatalf("raw token: %d %s", ok.status, ok.body)
	}

	r.clock.Add(TokenLifetime + time.Second)
	expired := r.do(req{method: "GET", path: "/v2/app/manifests/latest"}).expect(t, http.StatusForbidden, "DENIED")
	if msg := expired.message(t); msg != "Your authorization token has expired. Reauthenticate and try again." {
		t.Errorf("expired message %q", msg)
	}
	if expired.header.Get("Www-Authenticate") != "" {
		t.Error("expired token got a challenge")
	}
}

func TestMissingRepository(t *testing.T) {
	r := newTestRegistry(t)
	want := "The repository with name 'team/nope' does not exist in the registry with id '123456789012'"
	for _, q := range []req{
		{method: "POST", path: "/v2/team/nope/blobs/uploads/"},
		{method: "GET", path: "/v2/team/nope/tags/list"},
		{method: "GET", path: "/v2/team/nope/manifests/latest"},
		{method: "GET", path: "/v2/team/nope/blobs/" + digest.FromString("x").String()},
		{method: "GET", path: "/v2/team/nope/referrers/" + digest.FromString("x").String()},
		{method: "PUT", path: "/v2/team/nope/manifests/latest", body: []byte(`{}`)},
	} {
		p := r.do(q).expect(t, http.StatusNotFound, "NAME_UNKNOWN")
		if msg := p.message(t); msg != want {
			t.Errorf("%s %s: message %q", q.method, q.path, msg)
		}
	}
	r.do(req{method: "GET", path: "/v2/Bad_Name/tags/list"}).expect(t, http.StatusBadRequest, "NAME_INVALID")
	r.do(req{method: "GET", path: "/v2/a/tags/list"}).expect(t, http.StatusBadRequest, "NAME_INVALID")
}

func TestMonolithicPushAndPull(t *testing.T) {
	r := newTestRegistry(t, ecrstate.Repository{Name: "team/app"})
	content := randomBytes(300_000)
	desc := r.pushBlob("team/app", content)
	path := "/v2/team/app/blobs/" + desc.Digest.String()

	get := r.do(req{method: "GET", path: path}).expect(t, http.StatusOK, "")
	if !bytes.Equal(get.body, content) || get.header.Get("Docker-Content-Digest") != desc.Digest.String() ||
		get.header.Get("Content-Type") != "application/octet-stream" || get.header.Get("Content-Length") != "300000" {
		t.Fatalf("GET: %v, %d bytes", get.header, len(get.body))
	}
	head := r.do(req{method: "HEAD", path: path}).expect(t, http.StatusOK, "")
	if head.header.Get("Content-Length") != "300000" || len(head.body) != 0 {
		t.Fatalf("HEAD: %v", head.header)
	}
	part := r.do(req{method: "GET", path: path, header: map[string]string{"Range": "bytes=70000-200000"}}).
		expect(t, http.StatusPartialContent, "")
	if !bytes.Equal(part.body, content[70000:200001]) || part.header.Get("Content-Range") != "bytes 70000-200000/300000" {
		t.Fatalf("range: %v", part.header)
	}
	r.do(req{method: "GET", path: path, header: map[string]string{"Range": "bytes=400000-"}}).
		expect(t, http.StatusRequestedRangeNotSatisfiable, "")

	// A wrong digest stores nothing.
	other := digest.FromString("other")
	r.do(req{method: "POST", path: "/v2/team/app/blobs/uploads/?digest=" + other.String(), body: content}).
		expect(t, http.StatusBadRequest, "DIGEST_INVALID")
	r.do(req{method: "HEAD", path: "/v2/team/app/blobs/" + other.String()}).expect(t, http.StatusNotFound, "")
	r.do(req{method: "GET", path: "/v2/team/app/blobs/" + other.String()}).expect(t, http.StatusNotFound, "BLOB_UNKNOWN")
	r.do(req{method: "GET", path: "/v2/team/app/blobs/sha256:nothex"}).expect(t, http.StatusBadRequest, "DIGEST_INVALID")

	// sha512 content.
	d512 := digest.SHA512.FromBytes(content)
	r.do(req{method: "POST", path: "/v2/team/app/blobs/uploads/?digest=" + d512.String(), body: content}).
		expect(t, http.StatusCreated, "")
	if got := r.do(req{method: "GET", path: "/v2/team/app/blobs/" + d512.String()}).expect(t, http.StatusOK, ""); !bytes.Equal(got.body, content) {
		t.Fatal("sha512 blob differs")
	}

	if got := counterValue(t, r.handler().m.pushed); got < 600_000 {
		t.Errorf("bytes pushed %v", got)
	}
}

// counterValue reads a counter of the handler's metrics.
func counterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

func (r *testRegistry) handler() *handler { return r.srv.Config.Handler.(*handler) }

func TestChunkedPush(t *testing.T) {
	r := newTestRegistry(t, ecrstate.Repository{Name: "app"}, ecrstate.Repository{Name: "other"})
	content := randomBytes(250_000)
	d := digest.FromBytes(content)

	start := r.do(req{method: "POST", path: "/v2/app/blobs/uploads/"}).expect(t, http.StatusAccepted, "")
	loc := start.header.Get("Location")
	if !strings.HasPrefix(loc, "/v2/app/blobs/uploads/") || start.header.Get("Docker-Upload-UUID") == "" || start.header.Get("Range") != "0-0" {
		t.Fatalf("POST: %v", start.header)
	}
	chunk := func(from, to int, method, query string) resp {
		return r.do(req{method: method, path: loc + query, body: content[from : to+1],
			header: map[string]string{"Content-Range": fmt.Sprintf("%d-%d", from, to), "Content-Type": "application/octet-stream"}})
	}
	p := chunk(0, 99_999, "PATCH", "").expect(t, http.StatusAccepted, "")
	if p.header.Get("Range") != "0-99999" || p.header.Get("Location") != loc {
		t.Fatalf("PATCH: %v", p.header)
	}
	// Out of order: ahead, and back to the start.
	bad := chunk(150_000, 199_999, "PATCH", "").expect(t, http.StatusRequestedRangeNotSatisfiable, "BLOB_UPLOAD_INVALID")
	if bad.header.Get("Range") != "0-99999" {
		t.Fatalf("416 Range %q", bad.header.Get("Range"))
	}
	chunk(0, 99_999, "PATCH", "").expect(t, http.StatusRequestedRangeNotSatisfiable, "BLOB_UPLOAD_INVALID")
	chunk(200_000, 249_999, "PUT", "?digest="+d.String()).expect(t, http.StatusRequestedRangeNotSatisfiable, "BLOB_UPLOAD_INVALID")
	status := r.do(req{method: "GET", path: loc}).expect(t, http.StatusNoContent, "")
	if status.header.Get("Range") != "0-99999" {
		t.Fatalf("status Range %q", status.header.Get("Range"))
	}
	// The session belongs to app.
	other := strings.Replace(loc, "/v2/app/", "/v2/other/", 1)
	r.do(req{method: "GET", path: other}).expect(t, http.StatusNotFound, "BLOB_UPLOAD_UNKNOWN")
	r.do(req{method: "PATCH", path: other, body: content[100_000:]}).expect(t, http.StatusNotFound, "BLOB_UPLOAD_UNKNOWN")

	chunk(100_000, 199_999, "PATCH", "").expect(t, http.StatusAccepted, "")
	// Nothing is visible before the final PUT.
	r.do(req{method: "HEAD", path: "/v2/app/blobs/" + d.String()}).expect(t, http.StatusNotFound, "")
	// A wrong digest keeps the session; the right one then commits it.
	wrong := digest.FromString("wrong")
	chunk(200_000, 249_999, "PUT", "?digest="+wrong.String()).expect(t, http.StatusBadRequest, "DIGEST_INVALID")
	r.do(req{method: "HEAD", path: "/v2/app/blobs/" + wrong.String()}).expect(t, http.StatusNotFound, "")
	done := r.do(req{method: "PUT", path: loc + "?digest=" + d.String()}).expect(t, http.StatusCreated, "")
	if done.header.Get("Location") != "/v2/app/blobs/"+d.String() || done.header.Get("Docker-Content-Digest") != d.String() {
		t.Fatalf("PUT: %v", done.header)
	}
	if got := r.do(req{method: "GET", path: done.header.Get("Location")}).expect(t, http.StatusOK, ""); !bytes.Equal(got.body, content) {
		t.Fatal("content differs")
	}
	r.do(req{method: "GET", path: loc}).expect(t, http.StatusNotFound, "BLOB_UPLOAD_UNKNOWN")
	r.do(req{method: "GET", path: "/v2/app/blobs/uploads/nosuchsession"}).expect(t, http.StatusNotFound, "BLOB_UPLOAD_UNKNOWN")
	r.do(req{method: "PATCH", path: "/v2/app/blobs/uploads/nosuchsession", body: []byte("x")}).expect(t, http.StatusNotFound, "BLOB_UPLOAD_UNKNOWN")

	// Cancel.
	loc = r.do(req{method: "POST", path: "/v2/app/blobs/uploads/"}).expect(t, http.StatusAccepted, "").header.Get("Location")
	r.do(req{method: "DELETE", path: loc}).expect(t, http.StatusNoContent, "")
	r.do(req{method: "GET", path: loc}).expect(t, http.StatusNotFound, "BLOB_UPLOAD_UNKNOWN")
}

func TestStreamedPush(t *testing.T) {
	r := newTestRegistry(t, ecrstate.Repository{Name: "app"})
	content := randomBytes(3 << 20)
	d := digest.FromBytes(content)
	loc := r.do(req{method: "POST", path: "/v2/app/blobs/uploads/"}).expect(t, http.StatusAccepted, "").header.Get("Location")

	// A body of unknown length (chunked transfer encoding), as docker sends.
	hr, _ := http.NewRequest("PATCH", r.srv.URL+loc, io.MultiReader(bytes.NewReader(content)))
	hr.SetBasicAuth("AWS", r.password)
	res, err := http.DefaultClient.Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusAccepted || res.Header.Get("Range") != fmt.Sprintf("0-%d", len(content)-1) {
		t.Fatalf("PATCH: %d %v", res.StatusCode, res.Header)
	}
	loc = res.Header.Get("Location")
	r.do(req{method: "PUT", path: loc + "?digest=" + d.String()}).expect(t, http.StatusCreated, "")
	got := r.do(req{method: "GET", path: "/v2/app/blobs/" + d.String()}).expect(t, http.StatusOK, "")
	if !bytes.Equal(got.body, content) {
		t.Fatal("content differs")
	}
}

func TestMount(t *testing.T) {
	r := newTestRegistry(t, ecrstate.Repository{Name: "src"}, ecrstate.Repository{Name: "dst"}, ecrstate.Repository{Name: "third"})
	desc := r.pushBlob("src", randomBytes(1000))
	d := desc.Digest.String()

	m := r.do(req{method: "POST", path: "/v2/dst/blobs/uploads/?mount=" + d + "&from=src"}).expect(t, http.StatusCreated, "")
	if m.header.Get("Location") != "/v2/dst/blobs/"+d || m.header.Get("Docker-Content-Digest") != d {
		t.Fatalf("mount: %v", m.header)
	}
	r.do(req{method: "HEAD", path: "/v2/dst/blobs/" + d}).expect(t, http.StatusOK, "")
	// Without from, any repository holding the blob will do.
	r.do(req{method: "POST", path: "/v2/third/blobs/uploads/?mount=" + d}).expect(t, http.StatusCreated, "")
	r.do(req{method: "HEAD", path: "/v2/third/blobs/" + d}).expect(t, http.StatusOK, "")
	// A blob that is not there gets an upload session instead.
	missing := digest.FromString("missing").String()
	for _, q := range []string{"?mount=" + missing + "&from=src", "?mount=" + missing, "?mount=" + d + "&from=nope", "?mount=" + d + "&from=Bad"} {
		p := r.do(req{method: "POST", path: "/v2/dst/blobs/uploads/" + q}).expect(t, http.StatusAccepted, "")
		if !strings.HasPrefix(p.header.Get("Location"), "/v2/dst/blobs/uploads/") {
			t.Fatalf("%s: %v", q, p.header)
		}
	}
	r.do(req{method: "HEAD", path: "/v2/dst/blobs/" + missing}).expect(t, http.StatusNotFound, "")
}

func TestManifests(t *testing.T) {
	r := newTestRegistry(t, ecrstate.Repository{Name: "app"})
	body := r.pushImage("app", nil)
	d := digest.FromBytes(body)

	put := r.putManifest("app", "v1", body).expect(t, http.StatusCreated, "")
	if put.header.Get("Location") != "/v2/app/manifests/"+d.String() || put.header.Get("Docker-Content-Digest") != d.String() ||
		put.header.Get("OCI-Subject") != "" {
		t.Fatalf("PUT: %v", put.header)
	}
	for _, ref := range []string{"v1", d.String()} {
		get := r.do(req{method: "GET", path: "/v2/app/manifests/" + ref}).expect(t, http.StatusOK, "")
		if !bytes.Equal(get.body, body) || get.header.Get("Content-Type") != ocispec.MediaTypeImageManifest ||
			get.header.Get("Docker-Content-Digest") != d.String() || get.header.Get("Content-Length") != fmt.Sprint(len(body)) {
			t.Fatalf("GET %s: %v", ref, get.header)
		}
		head := r.do(req{method: "HEAD", path: "/v2/app/manifests/" + ref}).expect(t, http.StatusOK, "")
		if head.header.Get("Content-Length") != fmt.Sprint(len(body)) || len(head.body) != 0 {
			t.Fatalf("HEAD %s: %v", ref, head.header)
		}
	}
	missing := r.do(req{method: "GET", path: "/v2/app/manifests/nope"}).expect(t, http.StatusNotFound, "MANIFEST_UNKNOWN")
	if msg := missing.message(t); msg != "Requested image not found" {
		t.Errorf("missing manifest message %q", msg)
	}
	r.do(req{method: "GET", path: "/v2/app/manifests/" + digest.FromString("x").String()}).expect(t, http.StatusNotFound, "MANIFEST_UNKNOWN")
	r.do(req{method: "HEAD", path: "/v2/app/manifests/nope"}).expect(t, http.StatusNotFound, "")

	// Pushing by digest verifies it.
	r.putManifest("app", digest.FromString("x").String(), body).expect(t, http.StatusBadRequest, "DIGEST_INVALID")
	r.putManifest("app", "sha256:baddigeststring", body).expect(t, http.StatusBadRequest, "MANIFEST_INVALID")
	r.putManifest("app", d.String(), body).expect(t, http.StatusCreated, "")
	// Unknown layers, broken JSON, oversize.
	unknownLayer := r.pushImage("app", func(m *ocispec.Manifest) {
		m.Layers[0].Digest = digest.FromString("not pushed")
	})
	r.putManifest("app", "v2", unknownLayer).expect(t, http.StatusBadRequest, "MANIFEST_BLOB_UNKNOWN")
	r.putManifest("app", "v2", []byte(`{"schemaVersion":2`)).expect(t, http.StatusBadRequest, "MANIFEST_INVALID")
	huge := r.pushImage("app", func(m *ocispec.Manifest) {
		m.Annotations = map[string]string{"big": strings.Repeat("a", maxManifestSize)}
	})
	r.putManifest("app", "v2", huge).expect(t, http.StatusRequestEntityTooLarge, "SIZE_INVALID")
	r.do(req{method: "POST", path: "/v2/app/manifests/v1"}).expect(t, http.StatusMethodNotAllowed, "UNSUPPORTED")

	// Tags as parameters of a push by digest.
	other := r.pushImage("app", nil)
	od := digest.FromBytes(other)
	p := r.putManifest("app", od.String()+"?tag=a&tag=b", other).expect(t, http.StatusCreated, "")
	if got := p.header.Values("OCI-Tag"); len(got) != 2 || got[0] != "a" || got[1] != "b" {
		t.Fatalf("OCI-Tag %q", got)
	}
	if got := r.do(req{method: "GET", path: "/v2/app/manifests/b"}).expect(t, http.StatusOK, ""); !bytes.Equal(got.body, other) {
		t.Fatal("tag b")
	}
}

func TestTagImmutability(t *testing.T) {
	r := newTestRegistry(t, ecrstate.Repository{Name: "locked", TagMutability: ecrstate.TagImmutable})
	first := r.pushImage("locked", nil)
	r.putManifest("locked", "1.0.2", first).expect(t, http.StatusCreated, "")
	r.putManifest("locked", "1.0.2", first).expect(t, http.StatusCreated, "") // the same image again is fine
	second := r.pushImage("locked", nil)
	p := r.putManifest("locked", "1.0.2", second)
	want := `{"errors":[{"code":"TAG_INVALID","message":"The image tag '1.0.2' already exists in the 'locked' repository and cannot be overwritten because the repository is immutable."}]}`
	if p.status != http.StatusBadRequest || string(p.body) != want {
		t.Fatalf("%d %s", p.status, p.body)
	}
}

func TestTagsPagination(t *testing.T) {
	r := newTestRegistry(t, ecrstate.Repository{Name: "app"})
	body := r.pushImage("app", nil)
	tags := []string{"a", "b", "c", "d", "e"}
	for _, tag := range tags {
		r.putManifest("app", tag, body).expect(t, http.StatusCreated, "")
	}
	var got []string
	path := "/v2/app/tags/list?n=2"
	for pages := 0; path != ""; pages++ {
		if pages > 3 {
			t.Fatal("too many pages")
		}
		p := r.do(req{method: "GET", path: path}).expect(t, http.StatusOK, "")
		var list tagList
		if err := json.Unmarshal(p.body, &list); err != nil || list.Name != "app" {
			t.Fatalf("%s: %s", path, p.body)
		}
		got = append(got, list.Tags...)
		path = ""
		if link := p.header.Get("Link"); link != "" {
			path = strings.TrimPrefix(strings.TrimSuffix(link, `>; rel="next"`), "<")
		}
	}
	if strings.Join(got, ",") != strings.Join(tags, ",") {
		t.Fatalf("paged tags %v", got)
	}
	all := r.do(req{method: "GET", path: "/v2/app/tags/list?last=c"}).expect(t, http.StatusOK, "")
	if string(all.body) != `{"name":"app","tags":["d","e"]}` || all.header.Get("Link") != "" {
		t.Fatalf("after c: %s %v", all.body, all.header)
	}
	empty := r.do(req{method: "GET", path: "/v2/app/tags/list?n=0"}).expect(t, http.StatusOK, "")
	if string(empty.body) != `{"name":"app","tags":[]}` {
		t.Fatalf("n=0: %s", empty.body)
	}
	r.do(req{method: "GET", path: "/v2/app/tags/list?n=-1"}).expect(t, http.StatusBadRequest, "UNSUPPORTED")
}

func TestReferrers(t *testing.T) {
	r := newTestRegistry(t, ecrstate.Repository{Name: "app"})
	subject := r.pushImage("app", nil)
	sd := digest.FromBytes(subject)
	r.putManifest("app", "v1", subject).expect(t, http.StatusCreated, "")

	empty := r.pushBlob("app", []byte("{}"))
	sig := r.pushImage("app", func(m *ocispec.Manifest) {
		m.ArtifactType = "application/vnd.example.sig"
		m.Config = ocispec.DescriptorEmptyJSON
		m.Config.Digest = empty.Digest
		m.Subject = &ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: sd, Size: int64(len(subject))}
		m.Annotations = map[string]string{"org.example": "yes"}
	})
	sbom := r.pushImage("app", func(m *ocispec.Manifest) {
		m.Config.MediaType = "application/vnd.example.sbom"
		m.Subject = &ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: sd, Size: int64(len(subject))}
	})
	for _, b := range [][]byte{sig, sbom} {
		p := r.putManifest("app", digest.FromBytes(b).String(), b).expect(t, http.StatusCreated, "")
		if p.header.Get("OCI-Subject") != sd.String() {
			t.Fatalf("OCI-Subject %q", p.header.Get("OCI-Subject"))
		}
	}
	list := func(query string) (ocispec.Index, resp) {
		p := r.do(req{method: "GET", path: "/v2/app/referrers/" + sd.String() + query}).expect(t, http.StatusOK, "")
		if p.header.Get("Content-Type") != ocispec.MediaTypeImageIndex {
			t.Fatalf("Content-Type %q", p.header.Get("Content-Type"))
		}
		var idx ocispec.Index
		if err := json.Unmarshal(p.body, &idx); err != nil || idx.SchemaVersion != 2 || idx.MediaType != ocispec.MediaTypeImageIndex {
			t.Fatalf("index %s", p.body)
		}
		return idx, p
	}
	all, p := list("")
	if len(all.Manifests) != 2 || p.header.Get("OCI-Filters-Applied") != "" {
		t.Fatalf("all: %+v", all)
	}
	sigs, p := list("?artifactType=application/vnd.example.sig")
	want := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromBytes(sig), Size: int64(len(sig)),
		ArtifactType: "application/vnd.example.sig", Annotations: map[string]string{"org.example": "yes"}}
	if len(sigs.Manifests) != 1 || fmt.Sprint(sigs.Manifests[0]) != fmt.Sprint(want) || p.header.Get("OCI-Filters-Applied") != "artifactType" {
		t.Fatalf("sigs: %+v %v", sigs, p.header)
	}
	sboms, _ := list("?artifactType=application/vnd.example.sbom")
	if len(sboms.Manifests) != 1 || sboms.Manifests[0].Digest != digest.FromBytes(sbom) {
		t.Fatalf("sboms: %+v", sboms)
	}
	none := r.do(req{method: "GET", path: "/v2/app/referrers/" + digest.FromString("nothing").String()}).expect(t, http.StatusOK, "")
	if string(none.body) != `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}` {
		t.Fatalf("none: %s", none.body)
	}
	r.do(req{method: "GET", path: "/v2/app/referrers/nothex"}).expect(t, http.StatusBadRequest, "DIGEST_INVALID")
}

func TestDeletes(t *testing.T) {
	r := newTestRegistry(t, ecrstate.Repository{Name: "app"})
	body := r.pushImage("app", nil)
	d := digest.FromBytes(body)
	r.putManifest("app", "v1", body).expect(t, http.StatusCreated, "")
	r.putManifest("app", "v2", body).expect(t, http.StatusCreated, "")

	// A tag delete removes only the tag.
	r.do(req{method: "DELETE", path: "/v2/app/manifests/v1"}).expect(t, http.StatusAccepted, "")
	r.do(req{method: "HEAD", path: "/v2/app/manifests/v1"}).expect(t, http.StatusNotFound, "")
	r.do(req{method: "HEAD", path: "/v2/app/manifests/v2"}).expect(t, http.StatusOK, "")
	r.do(req{method: "DELETE", path: "/v2/app/manifests/v1"}).expect(t, http.StatusNotFound, "MANIFEST_UNKNOWN")

	// A blob an image uses can't be deleted while the image is there.
	var m ocispec.Manifest
	json.Unmarshal(body, &m)
	layer := "/v2/app/blobs/" + m.Layers[0].Digest.String()
	r.do(req{method: "DELETE", path: layer}).expect(t, http.StatusConflict, "DENIED")

	r.do(req{method: "DELETE", path: "/v2/app/manifests/" + d.String()}).expect(t, http.StatusAccepted, "")
	r.do(req{method: "GET", path: "/v2/app/manifests/" + d.String()}).expect(t, http.StatusNotFound, "MANIFEST_UNKNOWN")
	r.do(req{method: "HEAD", path: "/v2/app/manifests/v2"}).expect(t, http.StatusNotFound, "")
	r.do(req{method: "DELETE", path: "/v2/app/manifests/" + d.String()}).expect(t, http.StatusNotFound, "MANIFEST_UNKNOWN")

	r.do(req{method: "DELETE", path: layer}).expect(t, http.StatusAccepted, "")
	r.do(req{method: "HEAD", path: layer}).expect(t, http.StatusNotFound, "")
	r.do(req{method: "DELETE", path: layer}).expect(t, http.StatusNotFound, "BLOB_UNKNOWN")
}

func TestIdleUploadsExpire(t *testing.T) {
	r := newTestRegistry(t, ecrstate.Repository{Name: "app"})
	h := r.handler()
	var mu sync.Mutex
	now := time.Now()
	h.uploads.now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	loc := r.do(req{method: "POST", path: "/v2/app/blobs/uploads/"}).expect(t, http.StatusAccepted, "").header.Get("Location")
	mu.Lock()
	now = now.Add(uploadIdleTimeout + sweepInterval + time.Second)
	mu.Unlock()
	r.do(req{method: "POST", path: "/v2/app/blobs/uploads/"}).expect(t, http.StatusAccepted, "")
	r.do(req{method: "GET", path: loc}).expect(t, http.StatusNotFound, "BLOB_UPLOAD_UNKNOWN")
}

func TestParseRoute(t *testing.T) {
	for path, want := range map[string]route{
		"/v2/":                                  {ep: epBase},
		"/v2":                                   {ep: epBase},
		"/v2/a/b/manifests/latest":              {ep: epManifest, name: "a/b", ref: "latest"},
		"/v2/x/manifests/blobs/sha256:1":        {ep: epBlob, name: "x/manifests", ref: "sha256:1"},
		"/v2/x/blobs/uploads/":                  {ep: epUploadStart, name: "x"},
		"/v2/x/blobs/uploads":                   {ep: epUploadStart, name: "x"},
		"/v2/x/blobs/uploads/abc":               {ep: epUpload, name: "x", ref: "abc"},
		"/v2/blobs/blobs/uploads/abc":           {ep: epUpload, name: "blobs", ref: "abc"},
		"/v2/a/tags/list":                       {ep: epTags, name: "a"},
		"/v2/tags/list/tags/list":               {ep: epTags, name: "tags/list"},
		"/v2/r/referrers/sha256:1":              {ep: epReferrers, name: "r", ref: "sha256:1"},
		"/v2/manifests/latest":                  {},
		"/v2/a/manifests/":                      {},
		"/v2/a/unknown/x":                       {},
		"/v1/a/manifests/x":                     {},
		"/v2/blobs/uploads/":                    {},
		"/v2/team/app/manifests/sha256:abc/ext": {},
	} {
		if got := parseRoute(path); got != want {
			t.Errorf("%s: %+v, want %+v", path, got, want)
		}
	}
}

func TestParseContentRange(t *testing.T) {
	for in, want := range map[string][3]int64{
		"0-99":          {0, 99, 1},
		"bytes 5-10":    {5, 10, 1},
		"bytes=5-10":    {5, 10, 1},
		"100-199/*":     {100, 199, 1},
		"-5":            {0, 0, 0},
		"a-b":           {0, 0, 0},
		"5":             {0, 0, 0},
		"9-3":           {9, 3, 1},
		"bytes -1-3":    {0, 0, 0},
		" bytes 0-0/1 ": {0, 0, 1},
	} {
		from, to, ok := parseContentRange(in)
		if ok != (want[2] == 1) || (ok && (from != want[0] || to != want[1])) {
			t.Errorf("%q: %d %d %v", in, from, to, ok)
		}
	}
}

func TestRequestMetrics(t *testing.T) {
	r := newTestRegistry(t, ecrstate.Repository{Name: "app"})
	r.do(req{method: "GET", path: "/v2/app/manifests/none"})
	r.do(req{method: "GET", path: "/v2/", noAuth: true})
	r.do(req{method: "GET", path: "/v2/app/blobs/" + r.pushBlob("app", []byte("hello")).Digest.String()})
	families, err := r.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	series := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			key := f.GetName()
			for _, l := range m.GetLabel() {
				key += " " + l.GetValue()
			}
			series[key] = m.GetCounter().GetValue()
		}
	}
	for key, want := range map[string]float64{
		"berth_registry_requests_total 404 manifest GET":      1,
		"berth_registry_requests_total 401 base GET":          1,
		"berth_registry_requests_total 201 upload_start POST": 1,
		"berth_registry_blob_bytes_pulled_total":              5,
		"berth_registry_blob_bytes_pushed_total":              5,
	} {
		if series[key] != want {
			t.Errorf("%s = %v, want %v (have %v)", key, series[key], want, series)
		}
	}
}

func TestIndexes(t *testing.T) {
	r := newTestRegistry(t, ecrstate.Repository{Name: "app"})
	var children []ocispec.Descriptor
	for range 2 {
		body := r.pushImage("app", nil)
		d := digest.FromBytes(body)
		r.putManifest("app", d.String(), body).expect(t, http.StatusCreated, "")
		children = append(children, ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: d, Size: int64(len(body))})
	}
	putIndex := func(ref string, manifests []ocispec.Descriptor) resp {
		body := mustJSON(ocispec.Index{Versioned: ocispecVersioned(), MediaType: ocispec.MediaTypeImageIndex, Manifests: manifests})
		return r.do(req{method: "PUT", path: "/v2/app/manifests/" + ref, body: body,
			header: map[string]string{"Content-Type": ocispec.MediaTypeImageIndex}})
	}
	ghost := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromString("ghost"), Size: 3}
	bad := putIndex("multi", append([]ocispec.Descriptor{ghost}, children...)).expect(t, http.StatusBadRequest, "MANIFEST_BLOB_UNKNOWN")
	if !strings.Contains(string(bad.body), `"detail":{"manifests":["`+ghost.Digest.String()+`"]}`) {
		t.Fatalf("missing child detail: %s", bad.body)
	}
	put := putIndex("multi", children).expect(t, http.StatusCreated, "")
	index := put.header.Get("Docker-Content-Digest")
	get := r.do(req{method: "GET", path: "/v2/app/manifests/multi"}).expect(t, http.StatusOK, "")
	if get.header.Get("Content-Type") != ocispec.MediaTypeImageIndex || get.header.Get("Docker-Content-Digest") != index {
		t.Fatalf("GET index: %v", get.header)
	}
	// A child goes only after the index that lists it.
	child := "/v2/app/manifests/" + children[0].Digest.String()
	r.do(req{method: "DELETE", path: child}).expect(t, http.StatusConflict, "DENIED")
	r.do(req{method: "DELETE", path: "/v2/app/manifests/" + index}).expect(t, http.StatusAccepted, "")
	r.do(req{method: "DELETE", path: child}).expect(t, http.StatusAccepted, "")
}

func TestTooManyUploads(t *testing.T) {
	r := newTestRegistry(t, ecrstate.Repository{Name: "app"})
	r.handler().uploads.max = 1
	loc := r.do(req{method: "POST", path: "/v2/app/blobs/uploads/"}).expect(t, http.StatusAccepted, "").header.Get("Location")
	r.do(req{method: "POST", path: "/v2/app/blobs/uploads/"}).expect(t, http.StatusTooManyRequests, "TOO_MANY_REQUESTS")
	// Monolithic uploads and mounts hold no session.
	r.pushBlob("app", []byte("small"))
	r.do(req{method: "DELETE", path: loc}).expect(t, http.StatusNoContent, "")
	r.do(req{method: "POST", path: "/v2/app/blobs/uploads/"}).expect(t, http.StatusAccepted, "")
}
