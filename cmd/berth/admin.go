package main

import (
	"errors"
	"fmt"
	"io/fs"

	"github.com/berth/berth/internal/admin"
	"github.com/berth/berth/internal/iam"
)

// adminClient calls the server's admin endpoints with the admin secret
// the server wrote to the data dir.
func adminClient(cfg serverConfig) (admin.Client, error) {
	key, err := iam.ReadAdminKey(cfg.DataDir)
	if errors.Is(err, fs.ErrNotExist) {
		return admin.Client{}, fmt.Errorf("no access key in %s: start `berth server` with the same --data-dir first", cfg.DataDir)
	}
	if err != nil {
		return admin.Client{}, err
	}
	return admin.Client{BaseURL: endpointURL(cfg.Listen), AdminSecret: key.SecretAccessKey}, nil
}
