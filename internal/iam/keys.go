// Package iam is berth's AWS Identity and Access Management: the IAM API
// (roles, users, groups, access keys, managed policies), STS, and the
// Directory that tells the gateway who an access key is and what it may
// do. The admin access key pair the server writes into its data dir on
// first start (`berth env` and `berth aws` read the same file) is the
// account's root.
package iam

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/berth/berth/internal/secretfile"
)

// KeyFile is the admin key's file name inside the data dir.
const KeyFile = "credentials.json"

// AccessKey is an AWS access key pair.
type AccessKey struct {
	AccessKeyID     string `json:"accessKeyId"`
	SecretAccessKey string `json:"secretAccessKey"`
}

// ReadAdminKey reads the admin key from dataDir.
func ReadAdminKey(dataDir string) (AccessKey, error) {
	raw, err := os.ReadFile(filepath.Join(dataDir, KeyFile))
	if err != nil {
		return AccessKey{}, err
	}
	key, err := parseKey(raw)
	if err != nil {
		return key, fmt.Errorf("%s: %w", filepath.Join(dataDir, KeyFile), err)
	}
	return key, nil
}

func parseKey(raw []byte) (AccessKey, error) {
	var key AccessKey
	if err := json.Unmarshal(raw, &key); err != nil {
		return key, err
	}
	if key.AccessKeyID == "" || key.SecretAccessKey == "" {
		return key, errors.New("incomplete access key")
	}
	return key, nil
}

// LoadOrCreateAdminKey returns the admin key in dataDir, creating it (mode
// 0600, written atomically) on first start.
func LoadOrCreateAdminKey(dataDir string) (AccessKey, error) {
	raw, err := secretfile.LoadOrCreate(filepath.Join(dataDir, KeyFile), func() ([]byte, error) {
		raw, err := json.MarshalIndent(AccessKey{
			AccessKeyID:     "AKIA" + randomString(16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"),
			SecretAccessKey: randomString(40, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"),
		}, "", "  ")
		return append(raw, '\n'), err
	}, func(raw []byte) error {
		_, err := parseKey(raw)
		return err
	})
	if err != nil {
		return AccessKey{}, err
	}
	return parseKey(raw)
}

func randomString(n int, alphabet string) string {
	buf := secretfile.RandomBytes(n)
	for i, b := range buf {
		buf[i] = alphabet[int(b)%len(alphabet)]
	}
	return string(buf)
}
