package registry

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/blob"
	"github.com/berth/berth/internal/ecr/ecrstate"
)

// HandlerConfig configures the OCI distribution API handler.
type HandlerConfig struct {
	Catalog *Catalog
	Blobs   blob.Store
	Tokens  *Tokens
	// AccountID is the registry id ECR's error messages name.
	AccountID string
	// Region only labels the handler's logs: each request works in the
	// region its password was issued for.
	Region string
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Registerer, if set, receives the handler's metrics.
	Registerer prometheus.Registerer
	// Authorizer, if set, decides each request as the caller the password
	// was issued to; nil lets every valid password do everything.
	Authorizer Authorizer
}

// Limits ECR applies.
const (
	maxManifestSize = 4 << 20
	maxBlobSize     = 52000 << 20
	// maxTagsPage caps one tags/list page, so a repository with many
	// thousands of tags is listed through Link pagination.
	maxTagsPage = 1000
)

type handler struct {
	cat     *Catalog
	blobs   blob.Store
	tokens  *Tokens
	account string
	log     *slog.Logger
	m       *metrics
	uploads *sessions
	// authorizer is nil when every password may do everything.
	authorizer Authorizer
}

// NewHandler returns the OCI distribution API (v1.1) with ECR's rules and
// authentication; it serves every path under /v2/.
func NewHandler(cfg HandlerConfig) http.Handler {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	return &handler{
		cat:        cfg.Catalog,
		blobs:      cfg.Blobs,
		tokens:     cfg.Tokens,
		account:    cfg.AccountID,
		log:        log.With("component", "registry", "account", cfg.AccountID, "region", cfg.Region),
		m:          newMetrics(cfg.Registerer),
		uploads:    newSessions(),
		authorizer: cfg.Authorizer,
	}
}

// endpoint is what a /v2/ path addresses.
type endpoint int

const (
	epUnknown endpoint = iota
	epBase
	epManifest
	epBlob
	epUploadStart
	epUpload
	epTags
	epReferrers
)

func (e endpoint) String() string {
	switch e {
	case epBase:
		return "base"
	case epManifest:
		return "manifest"
	case epBlob:
		return "blob"
	case epUploadStart:
		return "upload_start"
	case epUpload:
		return "upload"
	case epTags:
		return "tags"
	case epReferrers:
		return "referrers"
	}
	return "unknown"
}

// route is a parsed /v2/ path: the repository name and the reference, digest
// or upload id after the endpoint's keyword.
type route struct {
	ep   endpoint
	name string
	ref  string
	// repo is the repository name addresses in the region of the
	// request's password, set once the request is authenticated.
	repo ecrstate.RepositoryID
}

// parseRoute reads a path from the right, since repository names contain
// '/' and may even contain the endpoint keywords as components.
func parseRoute(path string) route {
	p, ok := strings.CutPrefix(path, "/v2/")
	if !ok {
		if path == "/v2" {
			return route{ep: epBase}
		}
		return route{}
	}
	if p == "" {
		return route{ep: epBase}
	}
	rest1, s1 := cutLast(p)
	rest2, s2 := cutLast(rest1)
	rest3, s3 := cutLast(rest2)
	switch {
	case s3 == "blobs" && s2 == "uploads" && rest3 != "":
		if s1 == "" {
			return route{ep: epUploadStart, name: rest3}
		}
		return route{ep: epUpload, name: rest3, ref: s1}
	case rest2 == "":
		return route{}
	case s2 == "blobs" && s1 == "uploads":
		return route{ep: epUploadStart, name: rest2}
	case s2 == "tags" && s1 == "list":
		return route{ep: epTags, name: rest2}
	case s2 == "manifests" && s1 != "":
		return route{ep: epManifest, name: rest2, ref: s1}
	case s2 == "blobs" && s1 != "":
		return route{ep: epBlob, name: rest2, ref: s1}
	case s2 == "referrers" && s1 != "":
		return route{ep: epReferrers, name: rest2, ref: s1}
	}
	return route{}
}

// cutLast splits p at its last '/'; without one, all of p is the segment.
func cutLast(p string) (rest, seg string) {
	i := strings.LastIndexByte(p, '/')
	if i < 0 {
		return "", p
	}
	return p[:i], p[i+1:]
}

// RepositoryNamePattern is ECR's repository name grammar (the OCI one), as
// ECR quotes it in its errors.
const RepositoryNamePattern = `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*`

var (
	repositoryNameRE = regexp.MustCompile(`^(?:` + RepositoryNamePattern + `)$`)
	tagRE            = regexp.MustCompile(`^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$`)
)

// ValidRepositoryName reports whether name satisfies ECR's repository name
// constraint: 2-256 characters of the OCI name grammar.
func ValidRepositoryName(name string) bool {
	return len(name) >= 2 && len(name) <= 256 && repositoryNameRE.MatchString(name)
}

func validTag(tag string) bool { return tagRE.MatchString(tag) }

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	sw.Header().Set("Docker-Distribution-Api-Version", "registry/2.0")
	rt := parseRoute(r.URL.Path)
	defer func() { h.m.observe(r.Method, rt.ep, sw.status, time.Since(start)) }()

	accessKeyID, region, ok := h.authenticate(sw, r)
	if !ok {
		return
	}
	rt.repo = ecrstate.RepositoryID{Region: region, Name: rt.name}
	if rt.ep == epUnknown {
		h.fail(sw, r, errorf(http.StatusNotFound, codeUnsupported, "unknown registry API path %q", r.URL.Path))
		return
	}
	if rt.ep != epBase && !ValidRepositoryName(rt.name) {
		h.fail(sw, r, errorf(http.StatusBadRequest, codeNameInvalid, "invalid repository name '%s'", rt.name))
		return
	}
	if h.authorizer != nil {
		caller, known := h.authorizer.Caller(accessKeyID)
		if !known {
			// The key the password was issued to is gone (deleted, made
			// inactive, or its session expired): the password goes with it.
			// UNVERIFIED: ECR's wording for this case.
			h.fail(sw, r, errorf(http.StatusForbidden, codeDenied, msgTokenExpired))
			return
		}
		// The directory reads a session's own policies and condition keys
		// by the request's access key.
		r = r.WithContext(awsapi.WithRequest(r.Context(), &awsapi.RequestInfo{
			AccessKeyID: accessKeyID, Caller: caller, Region: region, Service: "ecr", Received: start.UTC()}))
		if e := h.authorize(r.Context(), rt.repo, registryAction(rt.ep, r.Method)); e != nil {
			h.fail(sw, r, e)
			return
		}
	}
	switch {
	case rt.ep == epBase && isRead(r.Method):
		h.base(sw, r)
	case rt.ep == epManifest && isRead(r.Method):
		h.getManifest(sw, r, rt)
	case rt.ep == epManifest && r.Method == http.MethodPut:
		h.putManifest(sw, r, rt)
	case rt.ep == epManifest && r.Method == http.MethodDelete:
		h.deleteManifest(sw, r, rt)
	case rt.ep == epBlob && isRead(r.Method):
		h.getBlob(sw, r, rt)
	case rt.ep == epBlob && r.Method == http.MethodDelete:
		h.deleteBlob(sw, r, rt)
	case rt.ep == epUploadStart && r.Method == http.MethodPost:
		h.startUpload(sw, r, rt)
	case rt.ep == epUpload && r.Method == http.MethodPatch:
		h.patchUpload(sw, r, rt)
	case rt.ep == epUpload && r.Method == http.MethodPut:
		h.finishUpload(sw, r, rt)
	case rt.ep == epUpload && r.Method == http.MethodGet:
		h.uploadStatus(sw, r, rt)
	case rt.ep == epUpload && r.Method == http.MethodDelete:
		h.cancelUpload(sw, r, rt)
	case rt.ep == epTags && isRead(r.Method):
		h.listTags(sw, r, rt)
	case rt.ep == epReferrers && isRead(r.Method):
		h.referrers(sw, r, rt)
	default:
		sw.Header().Set("Allow", allowed[rt.ep])
		h.fail(sw, r, errorf(http.StatusMethodNotAllowed, codeUnsupported, "method %s is not supported on this path", r.Method))
	}
}

var allowed = map[endpoint]string{
	epBase:        "GET, HEAD",
	epManifest:    "GET, HEAD, PUT, DELETE",
	epBlob:        "GET, HEAD, DELETE",
	epUploadStart: "POST",
	epUpload:      "GET, PATCH, PUT, DELETE",
	epTags:        "GET, HEAD",
	epReferrers:   "GET, HEAD",
}

func isRead(method string) bool { return method == http.MethodGet || method == http.MethodHead }

func (h *handler) base(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", "2")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		w.Write([]byte("{}"))
	}
}

// OCI distribution error codes, plus ECR's TAG_INVALID.
const (
	codeBlobUnknown         = "BLOB_UNKNOWN"
	codeBlobUploadInvalid   = "BLOB_UPLOAD_INVALID"
	codeBlobUploadUnknown   = "BLOB_UPLOAD_UNKNOWN"
	codeDigestInvalid       = "DIGEST_INVALID"
	codeManifestBlobUnknown = "MANIFEST_BLOB_UNKNOWN"
	codeManifestInvalid     = "MANIFEST_INVALID"
	codeManifestUnknown     = "MANIFEST_UNKNOWN"
	codeNameInvalid         = "NAME_INVALID"
	codeNameUnknown         = "NAME_UNKNOWN"
	codeSizeInvalid         = "SIZE_INVALID"
	codeTagInvalid          = "TAG_INVALID"
	codeDenied              = "DENIED"
	codeUnsupported         = "UNSUPPORTED"
	codeTooManyRequests     = "TOO_MANY_REQUESTS"
	codeUnknown             = "UNKNOWN"
)

// ECR's messages.
const (
	msgImageNotFound = "Requested image not found"
	msgTokenExpired  = "Your authorization token has expired. Reauthenticate and try again."
)

// apiError is one error response. Errors without a status are internal:
// they are logged and answered with 500.
type apiError struct {
	status  int
	code    string
	message string
	detail  any
	err     error
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

func errorf(status int, code, format string, args ...any) *apiError {
	return &apiError{status: status, code: code, message: fmt.Sprintf(format, args...)}
}

type errorBody struct {
	Errors []errorEntry `json:"errors"`
}

type errorEntry struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Detail  any    `json:"detail,omitempty"`
}

func (h *handler) fail(w http.ResponseWriter, r *http.Request, e *apiError) {
	if e.status == 0 || e.status >= 500 {
		h.log.ErrorContext(r.Context(), "registry request failed", "method", r.Method, "path", r.URL.Path, "error", e.err)
		e = &apiError{status: http.StatusInternalServerError, code: codeUnknown, message: "internal error"}
	}
	body, _ := json.Marshal(errorBody{Errors: []errorEntry{{Code: e.code, Message: e.message, Detail: e.detail}}})
	hd := w.Header()
	hd.Set("Content-Type", "application/json; charset=utf-8")
	hd.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(e.status)
	w.Write(body)
}

// internal wraps an unexpected error for fail.
func internal(err error) *apiError { return &apiError{err: err} }

// catalogError maps the catalog's and blob store's errors for a request on
// repository name.
func (h *handler) catalogError(name string, err error) *apiError {
	var immutable *TagImmutableError
	var invalid *ManifestInvalidError
	var missing *MissingReferencesError
	switch {
	case errors.Is(err, ErrRepositoryNotFound):
		return errorf(http.StatusNotFound, codeNameUnknown,
			"The repository with name '%s' does not exist in the registry with id '%s'", name, h.account)
	case errors.Is(err, ErrImageNotFound):
		return errorf(http.StatusNotFound, codeManifestUnknown, msgImageNotFound)
	case errors.Is(err, ErrBlobNotFound), errors.Is(err, blob.ErrNotFound):
		return errorf(http.StatusNotFound, codeBlobUnknown, "blob unknown to registry")
	case errors.Is(err, ErrDigestMismatch), errors.Is(err, blob.ErrDigestMismatch):
		return errorf(http.StatusBadRequest, codeDigestInvalid, "provided digest did not match uploaded content")
	case errors.Is(err, blob.ErrUnsupportedDigest):
		return errorf(http.StatusBadRequest, codeDigestInvalid, "unsupported digest algorithm: use sha256 or sha512")
	case errors.Is(err, ErrImageReferenced):
		// ECR refuses to delete an image an index in the repository lists.
		return errorf(http.StatusConflict, codeDenied, "The image is referenced by a manifest list in the repository and cannot be deleted before it")
	case errors.As(err, &immutable):
		return errorf(http.StatusBadRequest, codeTagInvalid, "%s", immutable.Error())
	case errors.As(err, &invalid):
		return errorf(http.StatusBadRequest, codeManifestInvalid, "%s", invalid.Error())
	case errors.As(err, &missing):
		detail := map[string]any{}
		if len(missing.Blobs) > 0 {
			detail["blobs"] = missing.Blobs
		}
		if len(missing.Manifests) > 0 {
			detail["manifests"] = missing.Manifests
		}
		return &apiError{status: http.StatusBadRequest, code: codeManifestBlobUnknown, message: missing.Error(), detail: detail}
	}
	return internal(err)
}

// parseDigest validates a digest from a request.
func parseDigest(s string) (digest.Digest, *apiError) {
	d, err := digest.Parse(s)
	if err != nil {
		return "", errorf(http.StatusBadRequest, codeDigestInvalid, "invalid digest %q", s)
	}
	return d, nil
}

// statusWriter remembers the response status for the metrics.
type statusWriter struct {
	http.ResponseWriter
	status      int
	wroteHeader bool
}

func (w *statusWriter) WriteHeader(status int) {
	if !w.wroteHeader {
		w.status, w.wroteHeader = status, true
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	w.wroteHeader = true
	return w.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
