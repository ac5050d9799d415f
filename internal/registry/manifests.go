package registry

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// getManifest serves GET and HEAD. It is the hot path of every pull: one or
// two store reads, and the stored bytes are written as they are.
func (h *handler) getManifest(w http.ResponseWriter, r *http.Request, rt route) {
	if _, err := digest.Parse(rt.ref); err != nil && !validTag(rt.ref) {
		// Nothing can be stored under a reference that is neither.
		h.fail(w, r, errorf(http.StatusNotFound, codeManifestUnknown, msgImageNotFound))
		return
	}
	img, err := h.cat.Image(r.Context(), rt.repo, rt.ref)
	if err != nil {
		h.fail(w, r, h.catalogError(rt.name, err))
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", img.MediaType)
	hd.Set("Content-Length", strconv.Itoa(len(img.Manifest)))
	hd.Set("Docker-Content-Digest", img.Digest.String())
	hd.Set("Etag", `"`+img.Digest.String()+`"`)
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		w.Write(img.Manifest)
	}
}

// putManifest stores a manifest by tag or by digest. A push by digest may
// name tags with ?tag= (distribution-spec 1.1+dev); they are applied one
// after the other and echoed in OCI-Tag.
func (h *handler) putManifest(w http.ResponseWriter, r *http.Request, rt route) {
	var want digest.Digest
	var tags []string
	if d, err := digest.Parse(rt.ref); err == nil {
		want = d
	} else if validTag(rt.ref) {
		tags = append(tags, rt.ref)
	} else {
		h.fail(w, r, errorf(http.StatusBadRequest, codeManifestInvalid, "reference %q is neither a tag nor a digest", rt.ref))
		return
	}
	paramTags := r.URL.Query()["tag"]
	for _, tag := range paramTags {
		if !validTag(tag) {
			h.fail(w, r, errorf(http.StatusBadRequest, codeTagInvalid, "invalid tag %q", tag))
			return
		}
	}
	tags = append(tags, paramTags...)
	// A missing repository is the error to report, whatever the body.
	if _, err := h.cat.GetRepository(r.Context(), rt.repo); err != nil {
		h.fail(w, r, h.catalogError(rt.name, err))
		return
	}
	body, aerr := readManifest(r)
	if aerr != nil {
		h.fail(w, r, aerr)
		return
	}
	mediaType, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	first := ""
	if len(tags) > 0 {
		first = tags[0]
	}
	res, err := h.cat.PutManifest(r.Context(), rt.repo, first, mediaType, want, body)
	if err != nil {
		h.fail(w, r, h.catalogError(rt.name, err))
		return
	}
	d := res.Image.Digest
	for _, tag := range tags[min(1, len(tags)):] {
		if _, err := h.cat.PutManifest(r.Context(), rt.repo, tag, mediaType, d, body); err != nil {
			h.fail(w, r, h.catalogError(rt.name, err))
			return
		}
	}
	hd := w.Header()
	hd.Set("Location", "/v2/"+rt.name+"/manifests/"+d.String())
	hd.Set("Docker-Content-Digest", d.String())
	if res.Image.Subject != "" {
		hd.Set("OCI-Subject", res.Image.Subject.String())
	}
	for _, tag := range paramTags {
		hd.Add("OCI-Tag", tag)
	}
	hd.Set("Content-Length", "0")
	w.WriteHeader(http.StatusCreated)
}

// readManifest reads a request body of at most ECR's 4 MiB.
func readManifest(r *http.Request) ([]byte, *apiError) {
	tooBig := errorf(http.StatusRequestEntityTooLarge, codeSizeInvalid, "manifest exceeds the maximum size of %d bytes", maxManifestSize)
	if r.ContentLength > maxManifestSize {
		return nil, tooBig
	}
	var buf bytes.Buffer
	if r.ContentLength > 0 {
		buf.Grow(int(r.ContentLength))
	}
	n, err := buf.ReadFrom(io.LimitReader(r.Body, maxManifestSize+1))
	if err != nil {
		return nil, errorf(http.StatusBadRequest, codeManifestInvalid, "reading the manifest: %v", err)
	}
	if n > maxManifestSize {
		return nil, tooBig
	}
	return buf.Bytes(), nil
}

// deleteManifest deletes an image by digest, or only a tag.
func (h *handler) deleteManifest(w http.ResponseWriter, r *http.Request, rt route) {
	var err error
	if d, perr := digest.Parse(rt.ref); perr == nil {
		_, err = h.cat.DeleteImage(r.Context(), rt.repo, d, true)
	} else if validTag(rt.ref) {
		_, _, err = h.cat.Untag(r.Context(), rt.repo, rt.ref, false)
	} else {
		err = ErrImageNotFound
	}
	if err != nil {
		h.fail(w, r, h.catalogError(rt.name, err))
		return
	}
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusAccepted)
}

type tagList struct {
	Name string   `json:"name"`
	Tags []string `json:"tags"`
}

// listTags pages through the tags in lexical order with n and last; a
// further page is announced with a Link header.
func (h *handler) listTags(w http.ResponseWriter, r *http.Request, rt route) {
	q := r.URL.Query()
	limit := maxTagsPage
	if s := q.Get("n"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			h.fail(w, r, errorf(http.StatusBadRequest, codeUnsupported, "invalid page size n=%q", s))
			return
		}
		limit = min(n, maxTagsPage)
	}
	last := q.Get("last")
	tags := []string{}
	if limit > 0 {
		var err error
		tags, err = h.cat.Tags(r.Context(), rt.repo, last, limit+1)
		if err != nil {
			h.fail(w, r, h.catalogError(rt.name, err))
			return
		}
	} else if _, err := h.cat.GetRepository(r.Context(), rt.repo); err != nil {
		h.fail(w, r, h.catalogError(rt.name, err))
		return
	}
	if len(tags) > limit {
		tags = tags[:limit]
		next := url.Values{"n": {strconv.Itoa(limit)}, "last": {tags[len(tags)-1]}}
		w.Header().Set("Link", `</v2/`+rt.name+`/tags/list?`+next.Encode()+`>; rel="next"`)
	}
	h.writeJSON(w, r, "application/json", tagList{Name: rt.name, Tags: tags})
}

// referrers lists the manifests whose subject is the digest, as an image
// index; an unknown subject has an empty list.
func (h *handler) referrers(w http.ResponseWriter, r *http.Request, rt route) {
	d, aerr := parseDigest(rt.ref)
	if aerr != nil {
		h.fail(w, r, aerr)
		return
	}
	artifactType := r.URL.Query().Get("artifactType")
	refs, err := h.cat.Referrers(r.Context(), rt.repo, d, artifactType)
	if err != nil {
		h.fail(w, r, h.catalogError(rt.name, err))
		return
	}
	index := ocispec.Index{MediaType: ocispec.MediaTypeImageIndex, Manifests: make([]ocispec.Descriptor, len(refs))}
	index.SchemaVersion = 2
	for i, ref := range refs {
		index.Manifests[i] = ocispec.Descriptor{
			MediaType:    ref.MediaType,
			Digest:       ref.Digest,
			Size:         ref.Size,
			ArtifactType: ref.ArtifactType,
			Annotations:  ref.Annotations,
		}
	}
	if artifactType != "" {
		w.Header().Set("OCI-Filters-Applied", "artifactType")
	}
	h.writeJSON(w, r, ocispec.MediaTypeImageIndex, index)
}

func (h *handler) writeJSON(w http.ResponseWriter, r *http.Request, contentType string, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		h.fail(w, r, internal(fmt.Errorf("encode response: %w", err)))
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", contentType)
	hd.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		w.Write(body)
	}
}
