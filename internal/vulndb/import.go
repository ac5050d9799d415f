package vulndb

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	json "github.com/go-json-experiment/json/v1"
	bbolt "go.etcd.io/bbolt"
)

// maxRecordSize bounds one record file (the largest real ones, Debian's
// records of the kernel, are well under 1 MiB).
const maxRecordSize = 32 << 20

// Source is a set of OSV record files to import: a directory or a zip.
type Source struct {
	name  string
	files []sourceFile
}

type sourceFile struct {
	name string
	read func() ([]byte, error)
}

// osvDataDir says whether name is a record of a golang.org/x/vulndb
// checkout or module zip: a .json file directly in a "data/osv" directory.
// The rest of that tree (test data, CVE JSON) is not OSV records.
func osvDataDir(name string) bool {
	parts := strings.Split(name, "/")
	n := len(parts)
	return n >= 3 && parts[n-3] == "data" && parts[n-2] == "osv"
}

// selectRecords picks the record files among .json names: the data/osv
// ones when there are any (the x/vulndb layout; the shallowest data/osv
// only, not test data shaped like it), else all (a directory of records,
// osv.dev's per-ecosystem all.zip).
func selectRecords[T any](items []T, name func(T) string) []T {
	var osv, all []T
	depth := -1
	for _, it := range items {
		n := name(it)
		if !strings.EqualFold(path.Ext(n), ".json") {
			continue
		}
		all = append(all, it)
		if !osvDataDir(n) {
			continue
		}
		switch d := strings.Count(n, "/"); {
		case depth < 0 || d < depth:
			depth, osv = d, []T{it}
		case d == depth:
			osv = append(osv, it)
		}
	}
	if len(osv) > 0 {
		return osv
	}
	return all
}

// DirSource is the .json files under dir, recursively; in a
// golang.org/x/vulndb checkout only its data/osv records.
func DirSource(dir string) (Source, error) {
	var names []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			rel, err := filepath.Rel(dir, p)
			if err != nil {
				return err
			}
			names = append(names, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		return Source{}, err
	}
	src := Source{name: dir}
	for _, n := range selectRecords(names, func(s string) string { return s }) {
		full := filepath.Join(dir, filepath.FromSlash(n))
		src.files = append(src.files, sourceFile{name: n, read: func() ([]byte, error) {
			f, err := os.Open(full)
			if err != nil {
				return nil, err
			}
			defer f.Close()
			return readLimited(f)
		}})
	}
	return src, nil
}

// ZipSource is the .json files of a zip: osv.dev's all.zip (records at
// the top), a zip of a directory of records, or the golang.org/x/vulndb
// module zip (only its data/osv records).
func ZipSource(r io.ReaderAt, size int64) (Source, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return Source{}, fmt.Errorf("not a zip file: %w", err)
	}
	var entries []*zip.File
	for _, f := range zr.File {
		if f.Mode().IsRegular() {
			entries = append(entries, f)
		}
	}
	src := Source{name: "zip"}
	for _, f := range selectRecords(entries, func(f *zip.File) string { return f.Name }) {
		src.files = append(src.files, sourceFile{name: f.Name, read: func() ([]byte, error) {
			rc, err := f.Open()
			if err != nil {
				return nil, err
			}
			defer rc.Close()
			return readLimited(rc)
		}})
	}
	return src, nil
}

// Files is how many record files the source has.
func (s Source) Files() int { return len(s.files) }

// WriteZip writes the source's record files to w as a zip, under their
// names in the source (how `berth vulndb import DIR` sends a directory).
func (s Source) WriteZip(w io.Writer) error {
	zw := zip.NewWriter(w)
	for _, f := range s.files {
		raw, err := f.read()
		if err != nil {
			return fmt.Errorf("%s: %w", f.name, err)
		}
		fw, err := zw.Create(f.name)
		if err != nil {
			return err
		}
		if _, err := fw.Write(raw); err != nil {
			return err
		}
	}
	return zw.Close()
}

func readLimited(r io.Reader) ([]byte, error) {
	raw, err := io.ReadAll(io.LimitReader(r, maxRecordSize+1))
	if err != nil {
		return nil, err
	}
	if len(raw) > maxRecordSize {
		return nil, fmt.Errorf("larger than %d MiB", maxRecordSize>>20)
	}
	return raw, nil
}

// ImportOptions tune Import.
type ImportOptions struct {
	// SkipInvalid imports the valid records when some files are not; by
	// default one invalid file fails the whole import.
	SkipInvalid bool
}

// ImportSummary is what an import did.
type ImportSummary struct {
	// Files is how many record files were read.
	Files int `json:"files"`
	// Added are new ids; Updated replaced a stored record (theirs was not
	// older); Skipped were not newer than the stored one (an older
	// "modified", or the same record again).
	Added   int `json:"added"`
	Updated int `json:"updated"`
	Skipped int `json:"skipped"`
	// Ecosystems has those counts per base ecosystem; a record affecting
	// packages of several ecosystems counts in each, one affecting none
	// under "".
	Ecosystems map[string]*ImportCounts `json:"ecosystems,omitempty"`
	// Invalid are the files that are not OSV records, with why.
	Invalid []InvalidFile `json:"invalid,omitempty"`
	// Info is the database after the import.
	Info Info `json:"info"`
	// Seconds is how long the import took.
	Seconds float64 `json:"seconds"`
}

// ImportCounts are one ecosystem's counts of an import.
type ImportCounts struct {
	Added   int `json:"added"`
	Updated int `json:"updated"`
	Skipped int `json:"skipped"`
}

// InvalidFile is a file an import could not take.
type InvalidFile struct {
	File   string `json:"file"`
	Reason string `json:"reason"`
}

// InvalidFilesError is Import's error when files were invalid and
// ImportOptions.SkipInvalid was not set: the import changed nothing.
type InvalidFilesError struct {
	Invalid []InvalidFile
}

func (e *InvalidFilesError) Error() string {
	const shown = 10
	var b strings.Builder
	fmt.Fprintf(&b, "%d invalid OSV record file(s), nothing was imported: ", len(e.Invalid))
	for i, f := range e.Invalid {
		if i == shown {
			fmt.Fprintf(&b, "; and %d more", len(e.Invalid)-shown)
			break
		}
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%s: %s", f.File, f.Reason)
	}
	return b.String()
}

// ErrNoRecords is Import's error for a source without .json files.
var ErrNoRecords = errors.New("no OSV record files (.json)")

// Import stores the source's records in one transaction: it commits all of
// them or, on any error (an invalid file unless opts.SkipInvalid, a read
// error, ctx ending), nothing. A record replaces the stored one with its
// id unless the stored one is newer ("modified"); with equal times the
// imported one wins when it differs, since the golang.org/x/vulndb
// repository leaves every "modified" zero.
func (db *DB) Import(ctx context.Context, src Source, opts ImportOptions) (ImportSummary, error) {
	start := time.Now()
	sum := ImportSummary{Ecosystems: map[string]*ImportCounts{}}
	if len(src.files) == 0 {
		db.metrics.imported("failed", start)
		return sum, fmt.Errorf("%s: %w", src.name, ErrNoRecords)
	}
	var info Info
	err := db.bolt.Update(func(tx *bbolt.Tx) error {
		var err error
		if info, err = readInfo(tx); err != nil {
			return err
		}
		for _, f := range src.files {
			if err := ctx.Err(); err != nil {
				return err
			}
			sum.Files++
			raw, err := f.read()
			if err != nil {
				sum.Invalid = append(sum.Invalid, InvalidFile{File: f.name, Reason: err.Error()})
				continue
			}
			rec, err := parseRecord(raw)
			if err != nil {
				sum.Invalid = append(sum.Invalid, InvalidFile{File: f.name, Reason: err.Error()})
				continue
			}
			if len(sum.Invalid) > 0 && !opts.SkipInvalid {
				continue // rolled back anyway; keep reading to name every invalid file
			}
			outcome, err := putRecord(tx, &info, rec, raw)
			if err != nil {
				return fmt.Errorf("%s: %w", f.name, err)
			}
			sum.count(rec, outcome)
		}
		if len(sum.Invalid) > 0 && !opts.SkipInvalid {
			return &InvalidFilesError{Invalid: sum.Invalid}
		}
		info.ImportedAt = db.now().UTC()
		return writeInfo(tx, info)
	})
	sum.Seconds = time.Since(start).Seconds()
	if err != nil {
		result := "failed"
		var invalid *InvalidFilesError
		if errors.As(err, &invalid) {
			result = "invalid"
		}
		db.metrics.imported(result, start)
		return sum, err
	}
	db.mu.Lock()
	db.info = info
	db.mu.Unlock()
	sum.Info = info
	db.metrics.imported("committed", start)
	db.log.InfoContext(ctx, "vulnerability records imported", "source", src.name, "files", sum.Files,
		"added", sum.Added, "updated", sum.Updated, "skipped", sum.Skipped, "invalid", len(sum.Invalid),
		"records", info.Records, "seconds", sum.Seconds)
	return sum, nil
}

type putOutcome int

const (
	added putOutcome = iota
	updated
	skipped
)

// putRecord stores rec unless the stored record with its id is newer or
// the same, keeping the index and info's counts in step.
func putRecord(tx *bbolt.Tx, info *Info, rec *osvRecord, raw []byte) (putOutcome, error) {
	var compact bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil {
		return 0, err
	}
	records := tx.Bucket(bucketRecords)
	outcome := added
	if old := records.Get([]byte(rec.ID)); old != nil {
		stored, err := parseRecord(old)
		if err != nil {
			return 0, fmt.Errorf("stored record %s: %w", rec.ID, err)
		}
		if stored.Modified.After(rec.Modified) || (stored.Modified.Equal(rec.Modified) && bytes.Equal(old, compact.Bytes())) {
			return skipped, nil
		}
		if err := putIndex(tx, stored, true); err != nil {
			return 0, err
		}
		info.count(stored, -1)
		outcome = updated
	}
	if err := records.Put([]byte(rec.ID), compact.Bytes()); err != nil {
		return 0, err
	}
	if err := putIndex(tx, rec, false); err != nil {
		return 0, err
	}
	info.count(rec, 1)
	if rec.Modified.After(info.UpdatedAt) {
		info.UpdatedAt = rec.Modified
	}
	return outcome, nil
}

func (s *ImportSummary) count(rec *osvRecord, outcome putOutcome) {
	ecosystems := rec.ecosystems()
	if len(ecosystems) == 0 {
		ecosystems = []string{""}
	}
	for _, eco := range ecosystems {
		c := s.Ecosystems[eco]
		if c == nil {
			c = &ImportCounts{}
			s.Ecosystems[eco] = c
		}
		switch outcome {
		case added:
			c.Added++
		case updated:
			c.Updated++
		case skipped:
			c.Skipped++
		}
	}
	switch outcome {
	case added:
		s.Added++
	case updated:
		s.Updated++
	case skipped:
		s.Skipped++
	}
}
