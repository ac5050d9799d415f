// Package managed holds the AWS managed policies berth knows: the real
// documents of the policies an ECS user attaches to roles, users and
// groups, at the default versions current in early 2026. They are
// read-only and the same in every account, so they are built in rather
// than kept in the store.
//
// Each policy is one file in data/, named after the policy: its path, id,
// description, default version id, creation and last update dates (the
// default version's creation), and its document.
package managed

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"time"
)

// Policy is an AWS managed policy at its default version.
type Policy struct {
	Name, Path, ARN, ID, Description, DefaultVersion string
	// Document is the default version's policy document.
	Document         string
	Created, Updated time.Time
}

// ARNPrefix starts every AWS managed policy's ARN; the path and name follow.
const ARNPrefix = "arn:aws:iam::aws:policy"

//go:embed data/*.json
var data embed.FS

// file is a data file's layout: the document is kept as JSON, not as a
// string, so the files stay readable.
type file struct {
	Name           string          `json:"name"`
	Path           string          `json:"path"`
	ID             string          `json:"id"`
	Description    string          `json:"description"`
	DefaultVersion string          `json:"defaultVersion"`
	Created        time.Time       `json:"created"`
	Updated        time.Time       `json:"updated"`
	Document       json.RawMessage `json:"document"`
}

var policies, byARN = load()

func load() ([]*Policy, map[string]*Policy) {
	names, err := fs.Glob(data, "data/*.json")
	if err != nil {
		panic(err)
	}
	var list []*Policy
	index := make(map[string]*Policy)
	for _, name := range names {
		raw, err := data.ReadFile(name)
		if err != nil {
			panic(err)
		}
		var f file
		if err := json.Unmarshal(raw, &f); err != nil {
			panic(fmt.Sprintf("managed policy %s: %v", name, err))
		}
		// The document's lines sit nested in the file; indent it afresh as
		// it stands on its own.
		var doc bytes.Buffer
		if err := json.Indent(&doc, f.Document, "", "  "); err != nil {
			panic(fmt.Sprintf("managed policy %s: %v", name, err))
		}
		p := &Policy{
			Name:           f.Name,
			Path:           f.Path,
			ARN:            ARNPrefix + f.Path + f.Name,
			ID:             f.ID,
			Description:    f.Description,
			DefaultVersion: f.DefaultVersion,
			Document:       doc.String(),
			Created:        f.Created,
			Updated:        f.Updated,
		}
		list = append(list, p)
		index[p.ARN] = p
	}
	slices.SortFunc(list, func(a, b *Policy) int { return strings.Compare(a.Name, b.Name) })
	return list, index
}

// Lookup returns the AWS managed policy whose ARN is arn
// (arn:aws:iam::aws:policy<path><name>).
func Lookup(arn string) (*Policy, bool) {
	p, ok := byARN[arn]
	return p, ok
}

// All returns every AWS managed policy, sorted by name. Callers must not
// modify the policies.
func All() []*Policy { return policies }
