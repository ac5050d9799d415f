// Package iam owns berth's identities and credentials. For now that is the
// admin access key pair the server writes into its data dir on first start;
// `berth env` and `berth aws` read the same file.
package iam

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
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
	var key AccessKey
	raw, err := os.ReadFile(filepath.Join(dataDir, KeyFile))
	if err != nil {
		return key, err
	}
	if err := json.Unmarshal(raw, &key); err != nil {
		return key, fmt.Errorf("%s: %w", filepath.Join(dataDir, KeyFile), err)
	}
	if key.AccessKeyID == "" || key.SecretAccessKey == "" {
		return key, fmt.Errorf("%s: incomplete access key", filepath.Join(dataDir, KeyFile))
	}
	return key, nil
}

// LoadOrCreateAdminKey returns the admin key in dataDir, creating it (mode
// 0600, written atomically) on first start.
func LoadOrCreateAdminKey(dataDir string) (AccessKey, error) {
	key, err := ReadAdminKey(dataDir)
	if err == nil || !errors.Is(err, os.ErrNotExist) {
		return key, err
	}
	key = AccessKey{
		AccessKeyID:     "AKIA" + randomString(16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"),
		SecretAccessKey: randomString(40, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"),
	}
	raw, _ := json.MarshalIndent(key, "", "  ")
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return key, err
	}
	tmp, err := os.CreateTemp(dataDir, KeyFile+".tmp*")
	if err != nil {
		return key, err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return key, err
	}
	if _, err := tmp.Write(append(raw, '\n')); err != nil {
		tmp.Close()
		return key, err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return key, err
	}
	if err := tmp.Close(); err != nil {
		return key, err
	}
	return key, os.Rename(tmp.Name(), filepath.Join(dataDir, KeyFile))
}

// Keyring answers the gateway's credential look-ups.
type Keyring struct {
	AccountID string
	Keys      []AccessKey
}

// Secret returns the secret and account of an access key id.
func (k *Keyring) Secret(accessKeyID string) (secret, accountID string, ok bool) {
	for _, key := range k.Keys {
		if key.AccessKeyID == accessKeyID {
			return key.SecretAccessKey, k.AccountID, true
		}
	}
	return "", "", false
}

func randomString(n int, alphabet string) string {
	buf := make([]byte, n)
	if _, err := rand.Read(buf); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	for i, b := range buf {
		buf[i] = alphabet[int(b)%len(alphabet)]
	}
	return string(buf)
}
