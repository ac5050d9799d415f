package registry

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/opencontainers/go-digest"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/berth/berth/internal/blob"
	"github.com/berth/berth/internal/ecr/ecrstate"
)

// Upload sessions live in the blob store, which does not know repositories;
// the handler remembers in memory which repository each session was
// started in (sessions don't survive a restart of the blob store either).
const (
	// maxUploadSessions bounds the sessions open at once, so clients that
	// abandon uploads can't exhaust the disk.
	maxUploadSessions = 10000
	// uploadIdleTimeout ends a session untouched for that long. A request
	// in progress keeps its session alive however long it streams.
	uploadIdleTimeout = time.Hour
	sweepInterval     = time.Minute
)

type session struct {
	repo    ecrstate.RepositoryID
	touched time.Time
	busy    int
}

type sessions struct {
	mu        sync.Mutex
	max       int
	byID      map[string]*session
	lastSweep time.Time
	now       func() time.Time
}

func newSessions() *sessions {
	return &sessions{max: maxUploadSessions, byID: make(map[string]*session), now: time.Now}
}

// add records a new session of repo; false if too many are open.
func (s *sessions) add(id string, repo ecrstate.RepositoryID) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.byID) >= s.max {
		return false
	}
	s.byID[id] = &session{repo: repo, touched: s.now()}
	return true
}

// acquire returns the session if it belongs to repo, marked busy until
// release; nil otherwise.
func (s *sessions) acquire(id string, repo ecrstate.RepositoryID) *session {
	s.mu.Lock()
	defer s.mu.Unlock()
	se := s.byID[id]
	if se == nil || se.repo != repo {
		return nil
	}
	se.busy++
	se.touched = s.now()
	return se
}

func (s *sessions) release(se *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	se.busy--
	se.touched = s.now()
}

func (s *sessions) remove(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.byID, id)
}

// expired forgets and returns the idle sessions past uploadIdleTimeout,
// looking at most once per sweepInterval.
func (s *sessions) expired() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if now.Sub(s.lastSweep) < sweepInterval {
		return nil
	}
	s.lastSweep = now
	var ids []string
	for id, se := range s.byID {
		if se.busy == 0 && now.Sub(se.touched) > uploadIdleTimeout {
			ids = append(ids, id)
			delete(s.byID, id)
		}
	}
	return ids
}

// startUpload is POST /v2/<name>/blobs/uploads/: a mount (201), a
// monolithic upload with ?digest= (201), or a new session (202). The
// repository must exist: ECR fails a push to a missing one here.
func (h *handler) startUpload(w http.ResponseWriter, r *http.Request, rt route) {
	ctx := r.Context()
	if _, err := h.cat.GetRepository(ctx, rt.repo); err != nil {
		h.fail(w, r, h.catalogError(rt.name, err))
		return
	}
	q := r.URL.Query()
	if m := q.Get("mount"); m != "" {
		// A mount that can't be done becomes an ordinary upload, as the
		// spec asks, so the client falls back to pushing the bytes.
		if d, err := digest.Parse(m); err == nil {
			mounted, err := h.mount(ctx, rt.repo, d, q.Get("from"))
			if err != nil {
				h.fail(w, r, h.catalogError(rt.name, err))
				return
			}
			if mounted {
				blobCreated(w, rt.name, d)
				return
			}
		}
	}
	if s := q.Get("digest"); s != "" {
		h.monolithicUpload(w, r, rt, s)
		return
	}
	h.cancelExpired(ctx)
	up, err := h.blobs.NewUpload(ctx)
	if err != nil {
		h.fail(w, r, internal(err))
		return
	}
	if !h.uploads.add(up.ID(), rt.repo) {
		up.Cancel(context.WithoutCancel(ctx))
		h.fail(w, r, errorf(http.StatusTooManyRequests, codeTooManyRequests, "too many blob uploads in progress"))
		return
	}
	uploadHeaders(w, rt.name, up.ID(), 0)
	w.WriteHeader(http.StatusAccepted)
}

// mount links blob d into repo from repository from of the same region,
// or from any repository of the region that has it when from is empty. It
// reports false when the blob is not there to mount.
func (h *handler) mount(ctx context.Context, repo ecrstate.RepositoryID, d digest.Digest, from string) (bool, error) {
	var link ecrstate.BlobLink
	var err error
	switch {
	case from == "" && h.mayReadAnyRepository(ctx):
		link, err = h.cat.BlobInAnyRepository(ctx, repo.Region, d)
	case ValidRepositoryName(from) && h.authorize(ctx, ecrstate.RepositoryID{Region: repo.Region, Name: from}, "ecr:GetDownloadUrlForLayer") == nil:
		link, err = h.cat.Blob(ctx, ecrstate.RepositoryID{Region: repo.Region, Name: from}, d)
	default:
		return false, nil
	}
	if errors.Is(err, ErrBlobNotFound) || errors.Is(err, ErrRepositoryNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	// Garbage collection must not delete the blob between the check and
	// the link (gc.go): the lock orders them, and the refresh marks it used.
	unlock := h.cat.LockBlob(d)
	defer unlock()
	if _, err := h.blobs.Refresh(ctx, d); errors.Is(err, blob.ErrNotFound) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	return true, h.cat.LinkBlob(ctx, repo, d, link.Size)
}

// monolithicUpload stores the POST body as blob digest in one request.
func (h *handler) monolithicUpload(w http.ResponseWriter, r *http.Request, rt route, digestParam string) {
	d, aerr := parseDigest(digestParam)
	if aerr != nil {
		h.fail(w, r, aerr)
		return
	}
	ctx := r.Context()
	up, err := h.blobs.NewUpload(ctx)
	if err != nil {
		h.fail(w, r, internal(err))
		return
	}
	if aerr := h.receive(w, r, up); aerr != nil {
		up.Cancel(context.WithoutCancel(ctx))
		h.fail(w, r, aerr)
		return
	}
	// Committed and linked under the blob's lock (gc.go).
	unlock := h.cat.LockBlob(d)
	defer unlock()
	size, err := up.Commit(ctx, d)
	if err != nil {
		// The client never saw this session, so it ends here.
		up.Cancel(context.WithoutCancel(ctx))
		h.fail(w, r, h.catalogError(rt.name, err))
		return
	}
	h.linkCommitted(w, r, rt, d, size)
}

// linkCommitted links a blob that was just committed. The session is gone,
// so the link is made even if the client has stopped waiting.
func (h *handler) linkCommitted(w http.ResponseWriter, r *http.Request, rt route, d digest.Digest, size int64) {
	if err := h.cat.LinkBlob(context.WithoutCancel(r.Context()), rt.repo, d, size); err != nil {
		h.fail(w, r, h.catalogError(rt.name, err))
		return
	}
	blobCreated(w, rt.name, d)
}

// session finds the open upload rt names in rt's repository, marked busy
// until the caller releases it.
func (h *handler) session(ctx context.Context, rt route) (*session, blob.Upload, *apiError) {
	unknown := errorf(http.StatusNotFound, codeBlobUploadUnknown, "blob upload unknown to registry")
	se := h.uploads.acquire(rt.ref, rt.repo)
	if se == nil {
		return nil, nil, unknown
	}
	up, err := h.blobs.Upload(ctx, rt.ref)
	if err != nil {
		h.uploads.release(se)
		if errors.Is(err, blob.ErrNotFound) {
			h.uploads.remove(rt.ref)
			return nil, nil, unknown
		}
		return nil, nil, internal(err)
	}
	return se, up, nil
}

// patchUpload appends a chunk: the whole body when there is no
// Content-Range (a streamed upload), else exactly the range, which must
// continue the upload.
func (h *handler) patchUpload(w http.ResponseWriter, r *http.Request, rt route) {
	se, up, aerr := h.session(r.Context(), rt)
	if aerr != nil {
		h.fail(w, r, aerr)
		return
	}
	defer h.uploads.release(se)
	if aerr := h.receive(w, r, up); aerr != nil {
		h.failUpload(w, r, rt, up, aerr)
		return
	}
	uploadHeaders(w, rt.name, up.ID(), up.Size())
	w.WriteHeader(http.StatusAccepted)
}

// finishUpload is PUT ?digest=: an optional last chunk, then the content
// is verified and the blob linked. A mismatch keeps the session, so the
// client may retry.
func (h *handler) finishUpload(w http.ResponseWriter, r *http.Request, rt route) {
	d, aerr := parseDigest(r.URL.Query().Get("digest"))
	if aerr != nil {
		h.fail(w, r, aerr)
		return
	}
	ctx := r.Context()
	se, up, aerr := h.session(ctx, rt)
	if aerr != nil {
		h.fail(w, r, aerr)
		return
	}
	defer h.uploads.release(se)
	if r.ContentLength != 0 || r.Header.Get("Content-Range") != "" {
		if aerr := h.receive(w, r, up); aerr != nil {
			h.failUpload(w, r, rt, up, aerr)
			return
		}
	}
	// Committed and linked under the blob's lock (gc.go).
	unlock := h.cat.LockBlob(d)
	defer unlock()
	size, err := up.Commit(ctx, d)
	if errors.Is(err, blob.ErrNotFound) {
		h.uploads.remove(rt.ref)
		h.fail(w, r, errorf(http.StatusNotFound, codeBlobUploadUnknown, "blob upload unknown to registry"))
		return
	}
	if err != nil {
		h.fail(w, r, h.catalogError(rt.name, err))
		return
	}
	h.uploads.remove(rt.ref)
	h.linkCommitted(w, r, rt, d, size)
}

// uploadStatus tells how much of the upload the registry holds.
func (h *handler) uploadStatus(w http.ResponseWriter, r *http.Request, rt route) {
	se, up, aerr := h.session(r.Context(), rt)
	if aerr != nil {
		h.fail(w, r, aerr)
		return
	}
	defer h.uploads.release(se)
	uploadHeaders(w, rt.name, up.ID(), up.Size())
	w.WriteHeader(http.StatusNoContent)
}

func (h *handler) cancelUpload(w http.ResponseWriter, r *http.Request, rt route) {
	se, up, aerr := h.session(r.Context(), rt)
	if aerr != nil {
		h.fail(w, r, aerr)
		return
	}
	defer h.uploads.release(se)
	h.uploads.remove(rt.ref)
	if err := up.Cancel(r.Context()); err != nil && !errors.Is(err, blob.ErrNotFound) {
		h.fail(w, r, internal(err))
		return
	}
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusNoContent)
}

// cancelExpired ends the sessions abandoned by their clients.
func (h *handler) cancelExpired(ctx context.Context) {
	ctx = context.WithoutCancel(ctx)
	for _, id := range h.uploads.expired() {
		up, err := h.blobs.Upload(ctx, id)
		if err == nil {
			err = up.Cancel(ctx)
		}
		if err != nil && !errors.Is(err, blob.ErrNotFound) {
			h.log.WarnContext(ctx, "cancel idle blob upload", "upload", id, "error", err)
		}
	}
}

// receive streams the request body into the upload at its current end.
func (h *handler) receive(w http.ResponseWriter, r *http.Request, up blob.Upload) *apiError {
	start := up.Size()
	want := int64(-1)
	if cr := r.Header.Get("Content-Range"); cr != "" {
		from, to, ok := parseContentRange(cr)
		if !ok {
			return errorf(http.StatusBadRequest, codeBlobUploadInvalid, "invalid Content-Range %q", cr)
		}
		if from != start || to < from {
			return errorf(http.StatusRequestedRangeNotSatisfiable, codeBlobUploadInvalid,
				"Content-Range %q does not continue the upload, which holds %d bytes", cr, start)
		}
		want = to - from + 1
		if r.ContentLength >= 0 && r.ContentLength != want {
			return errorf(http.StatusBadRequest, codeSizeInvalid, "Content-Length %d does not match Content-Range %q", r.ContentLength, cr)
		}
	}
	if start+max(want, r.ContentLength) > maxBlobSize {
		return errorf(http.StatusBadRequest, codeSizeInvalid, "blob exceeds the maximum layer size of %d bytes", int64(maxBlobSize))
	}
	var src io.Reader = http.MaxBytesReader(w, r.Body, maxBlobSize-start)
	if want >= 0 {
		src = io.LimitReader(src, want)
	}
	body := &bodyReader{r: src, counter: h.m.pushed}
	n, err := up.WriteAt(r.Context(), body, start)
	var tooBig *http.MaxBytesError
	switch {
	case errors.Is(err, blob.ErrUploadOffset):
		return errorf(http.StatusRequestedRangeNotSatisfiable, codeBlobUploadInvalid, "a concurrent write moved the upload")
	case errors.As(err, &tooBig):
		return errorf(http.StatusBadRequest, codeSizeInvalid, "blob exceeds the maximum layer size of %d bytes", int64(maxBlobSize))
	case err != nil && (body.err != nil || r.Context().Err() != nil):
		// What arrived stays; the client may ask where to resume.
		return errorf(http.StatusBadRequest, codeBlobUploadInvalid, "reading the upload body: %v", err)
	case err != nil:
		return internal(err)
	case want >= 0 && n != want:
		return errorf(http.StatusBadRequest, codeSizeInvalid, "received %d bytes, Content-Range announced %d", n, want)
	}
	return nil
}

// failUpload answers a failed chunk; a 416 tells where the upload stands.
func (h *handler) failUpload(w http.ResponseWriter, r *http.Request, rt route, up blob.Upload, aerr *apiError) {
	if aerr.status == http.StatusRequestedRangeNotSatisfiable {
		uploadHeaders(w, rt.name, up.ID(), up.Size())
	}
	h.fail(w, r, aerr)
}

// bodyReader counts the bytes pushed and remembers the request body's own
// failure, to tell a client's fault from the store's.
type bodyReader struct {
	r       io.Reader
	counter prometheus.Counter
	err     error
}

func (b *bodyReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.counter.Add(float64(n))
	if err != nil && err != io.EOF {
		b.err = err
	}
	return n, err
}

// parseContentRange reads "<from>-<to>", as the OCI spec writes it, also
// with a "bytes " or "bytes=" prefix and a "/<size>" suffix, as some
// clients send it.
func parseContentRange(s string) (from, to int64, ok bool) {
	s = strings.TrimSpace(s)
	if rest, found := strings.CutPrefix(s, "bytes"); found {
		s = strings.TrimLeft(rest, " =")
	}
	s, _, _ = strings.Cut(s, "/")
	a, b, found := strings.Cut(s, "-")
	if !found {
		return 0, 0, false
	}
	from, err1 := strconv.ParseInt(a, 10, 64)
	to, err2 := strconv.ParseInt(b, 10, 64)
	if err1 != nil || err2 != nil || from < 0 || to < 0 {
		return 0, 0, false
	}
	return from, to, true
}

// uploadHeaders describe an open session holding size bytes. Range is
// "0-<last byte>", and "0-0" while empty, as Docker's registry has it.
func uploadHeaders(w http.ResponseWriter, name, id string, size int64) {
	hd := w.Header()
	hd.Set("Location", "/v2/"+name+"/blobs/uploads/"+id)
	hd.Set("Docker-Upload-Uuid", id)
	hd.Set("Range", "0-"+strconv.FormatInt(max(size-1, 0), 10))
	hd.Set("Content-Length", "0")
}

func blobCreated(w http.ResponseWriter, name string, d digest.Digest) {
	hd := w.Header()
	hd.Set("Location", blobLocation(name, d))
	hd.Set("Docker-Content-Digest", d.String())
	hd.Set("Content-Length", "0")
	w.WriteHeader(http.StatusCreated)
}
