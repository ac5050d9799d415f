package main

import (
	"bytes"
	"context"
	"testing"

	"github.com/berth/berth/internal/iam"
)

// runCommand runs berth with args and returns what it printed.
func runCommand(ctx context.Context, args ...string) (string, error) {
	root := newRootCmd(envFunc(nil))
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&bytes.Buffer{})
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	return out.String(), err
}

// newAdminDataDir returns a data dir holding an admin key, as a server
// leaves it.
func newAdminDataDir(t *testing.T) (string, iam.AccessKey) {
	t.Helper()
	dir := t.TempDir()
	key, err := iam.LoadOrCreateAdminKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	return dir, key
}
