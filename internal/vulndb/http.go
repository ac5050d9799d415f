package vulndb

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"

	"github.com/berth/berth/internal/admin"
)

// The admin endpoints (berth's own, not AWS APIs; see package admin).
const (
	// ImportPath takes a POST of a zip of OSV records (Content-Type
	// application/zip; query skipInvalid=true imports the valid records
	// when some files are not) and answers ImportSummary. Invalid files
	// without skipInvalid answer 422 naming them; nothing is imported.
	ImportPath    = "/_berth/vulndb/import"
	ImportPurpose = "berth vulndb import v1"
	// StatusPath takes a POST of {} and answers Info.
	StatusPath    = "/_berth/vulndb/status"
	StatusPurpose = "berth vulndb status v1"
)

// DefaultMaxImportBytes caps an import's zip (osv.dev's largest
// per-ecosystem all.zip files are a few hundred MiB).
const DefaultMaxImportBytes = 4 << 30

// HandlerConfig configures the admin endpoints.
type HandlerConfig struct {
	// AdminSecret is the admin's secret access key; empty refuses every
	// request.
	AdminSecret string
	// TempDir holds an upload while it is imported (the data dir: the
	// same disk as the database, not a small tmpfs).
	TempDir string
	// MaxImportBytes caps an upload; 0 means DefaultMaxImportBytes.
	MaxImportBytes int64
}

// ImportHandler serves ImportPath. The body streams to a temporary file,
// so it is not held in memory, and the import reads the zip from there.
func (db *DB) ImportHandler(cfg HandlerConfig) http.Handler {
	auth := admin.NewAuthorizer(cfg.AdminSecret, ImportPurpose)
	limit := cfg.MaxImportBytes
	if limit <= 0 {
		limit = DefaultMaxImportBytes
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !auth.Allows(r) {
			admin.Refuse(w)
			return
		}
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			admin.WriteJSON(w, http.StatusMethodNotAllowed, admin.ErrorBody{Error: "use POST"})
			return
		}
		if ct := r.Header.Get("Content-Type"); ct != "application/zip" {
			admin.WriteJSON(w, http.StatusUnsupportedMediaType, admin.ErrorBody{Error: fmt.Sprintf("Content-Type %q: send a zip of OSV records as application/zip", ct)})
			return
		}
		skipInvalid := false
		if s := r.URL.Query().Get("skipInvalid"); s != "" {
			var err error
			if skipInvalid, err = strconv.ParseBool(s); err != nil {
				admin.WriteJSON(w, http.StatusBadRequest, admin.ErrorBody{Error: "skipInvalid must be true or false"})
				return
			}
		}
		sum, err := db.importUpload(r.Context(), cfg.TempDir, http.MaxBytesReader(w, r.Body, limit), ImportOptions{SkipInvalid: skipInvalid})
		if err != nil {
			admin.WriteError(r.Context(), w, db.log, err)
			return
		}
		admin.WriteJSON(w, http.StatusOK, sum)
	})
}

// importUpload spools body to a temporary file and imports the zip in it,
// turning the client's mistakes into admin.Failures.
func (db *DB) importUpload(ctx context.Context, tempDir string, body io.Reader, opts ImportOptions) (ImportSummary, error) {
	f, err := os.CreateTemp(tempDir, ".vulndb-import-*.zip")
	if err != nil {
		return ImportSummary{}, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	size, err := io.Copy(f, body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return ImportSummary{}, admin.Fail(http.StatusRequestEntityTooLarge, "the zip is larger than %d bytes", tooBig.Limit)
		}
		return ImportSummary{}, admin.Fail(http.StatusBadRequest, "reading the upload: %v", err)
	}
	src, err := ZipSource(f, size)
	if err != nil {
		return ImportSummary{}, admin.Fail(http.StatusBadRequest, "%v", err)
	}
	sum, err := db.Import(ctx, src, opts)
	var invalid *InvalidFilesError
	switch {
	case errors.As(err, &invalid):
		return sum, admin.Fail(http.StatusUnprocessableEntity, "%v", err)
	case errors.Is(err, ErrNoRecords):
		return sum, admin.Fail(http.StatusBadRequest, "%v", err)
	}
	return sum, err
}

// StatusHandler serves StatusPath.
func (db *DB) StatusHandler(cfg HandlerConfig) http.Handler {
	return admin.JSONHandler(admin.NewAuthorizer(cfg.AdminSecret, StatusPurpose), db.log, func(context.Context, struct{}) (Info, error) {
		return db.Info()
	})
}
