package registry

import (
	"io"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/opencontainers/go-digest"
	"github.com/prometheus/client_golang/prometheus"
)

// copyBufferSize is the unit blobs are streamed in: large enough that a
// read spans many encrypted segments, which the blob store then decrypts
// straight into the buffer.
const copyBufferSize = 1 << 20

var copyBuffers = sync.Pool{New: func() any {
	b := make([]byte, copyBufferSize)
	return &b
}}

// getBlob serves GET and HEAD. HEAD is answered from the repository's link
// alone; GET streams the blob, through http.ServeContent when the request
// has a Range or a condition.
func (h *handler) getBlob(w http.ResponseWriter, r *http.Request, rt route) {
	d, aerr := parseDigest(rt.ref)
	if aerr != nil {
		h.fail(w, r, aerr)
		return
	}
	lookup := h.cat.Blob
	if r.Method == http.MethodHead {
		// A client HEADs a blob to skip uploading it: the link must
		// outlive its manifest put (gc.go).
		lookup = h.cat.RefreshBlob
	}
	link, err := lookup(r.Context(), rt.repo, d)
	if err != nil {
		h.fail(w, r, h.catalogError(rt.name, err))
		return
	}
	hd := w.Header()
	hd.Set("Docker-Content-Digest", d.String())
	hd.Set("Etag", `"`+d.String()+`"`)
	hd.Set("Accept-Ranges", "bytes")
	// Content-addressed: what this URL names never changes.
	hd.Set("Cache-Control", "max-age=31536000")
	if r.Method == http.MethodHead {
		hd.Set("Content-Type", "application/octet-stream")
		hd.Set("Content-Length", strconv.FormatInt(link.Size, 10))
		w.WriteHeader(http.StatusOK)
		return
	}
	rd, err := h.blobs.Open(r.Context(), d)
	if err != nil {
		h.fail(w, r, h.catalogError(rt.name, err))
		return
	}
	defer rd.Close()
	hd.Set("Content-Type", "application/octet-stream")
	if conditional(r) {
		http.ServeContent(&countingWriter{ResponseWriter: w, n: h.m.pulled}, r, "", time.Time{}, rd)
		return
	}
	hd.Set("Content-Length", strconv.FormatInt(rd.Size(), 10))
	w.WriteHeader(http.StatusOK)
	buf := copyBuffers.Get().(*[]byte)
	defer copyBuffers.Put(buf)
	n, err := io.CopyBuffer(writerOnly{w}, rd, *buf)
	h.m.pulled.Add(float64(n))
	if err != nil && r.Context().Err() == nil {
		// The status is sent; all that is left is to cut the response short.
		h.log.WarnContext(r.Context(), "blob download failed", "repository", rt.name, "digest", d, "sent", n, "error", err)
		panic(http.ErrAbortHandler)
	}
}

// conditional reports whether a request needs http.ServeContent's handling
// of ranges and preconditions.
func conditional(r *http.Request) bool {
	for _, k := range []string{"Range", "If-Range", "If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since"} {
		if r.Header.Get(k) != "" {
			return true
		}
	}
	return false
}

// writerOnly hides the ResponseWriter's ReadFrom, whose 32 KiB buffer would
// replace ours.
type writerOnly struct{ io.Writer }

// countingWriter counts the body bytes http.ServeContent writes.
type countingWriter struct {
	http.ResponseWriter
	n prometheus.Counter
}

func (w *countingWriter) Write(p []byte) (int, error) {
	n, err := w.ResponseWriter.Write(p)
	w.n.Add(float64(n))
	return n, err
}

// deleteBlob removes the repository's link to a blob (the bytes go when no
// repository links them). A blob an image in the repository references is
// kept, so a delete can't break an image.
func (h *handler) deleteBlob(w http.ResponseWriter, r *http.Request, rt route) {
	d, aerr := parseDigest(rt.ref)
	if aerr != nil {
		h.fail(w, r, aerr)
		return
	}
	images, err := h.cat.Images(r.Context(), rt.repo)
	if err != nil {
		h.fail(w, r, h.catalogError(rt.name, err))
		return
	}
	for _, img := range images {
		if slices.Contains(img.Blobs, d) {
			h.fail(w, r, errorf(http.StatusConflict, codeDenied, "blob %s is referenced by image %s", d, img.Digest))
			return
		}
	}
	if err := h.cat.UnlinkBlob(r.Context(), rt.repo, d); err != nil {
		h.fail(w, r, h.catalogError(rt.name, err))
		return
	}
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusAccepted)
}

// blobLocation is where a committed blob is served.
func blobLocation(name string, d digest.Digest) string {
	return "/v2/" + name + "/blobs/" + d.String()
}
