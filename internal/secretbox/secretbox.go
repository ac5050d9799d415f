// Package secretbox seals the values berth keeps for its users' eyes only
// (Secrets Manager secrets, SSM parameters) before they reach the store:
// AES-256-GCM under a key of its own in the data dir, so a copy of
// state.db alone reveals no secret.
package secretbox

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/berth/berth/internal/secretfile"
)

// KeyFile is the key's file name inside the data dir.
const KeyFile = "secrets.key"

const keySize = 32

// Box seals and opens values with one key.
type Box struct {
	aead cipher.AEAD
}

// Load returns the box whose key is in dataDir, creating the key on first
// use.
func Load(dataDir string) (*Box, error) {
	raw, err := secretfile.LoadOrCreate(filepath.Join(dataDir, KeyFile), func() ([]byte, error) {
		return []byte(base64.StdEncoding.EncodeToString(secretfile.RandomBytes(keySize)) + "\n"), nil
	}, func(b []byte) error {
		_, err := decodeKey(b)
		return err
	})
	if err != nil {
		return nil, err
	}
	key, err := decodeKey(raw)
	if err != nil {
		return nil, err
	}
	return New(key)
}

func decodeKey(b []byte) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(string(trimNewline(b)))
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	if len(key) != keySize {
		return nil, fmt.Errorf("secret key: %d bytes, want %d", len(key), keySize)
	}
	return key, nil
}

func trimNewline(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

// New returns a box for a 32-byte key (tests).
func New(key []byte) (*Box, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Box{aead: aead}, nil
}

// Seal encrypts plaintext. context binds the sealed value to what it is
// (a secret's ARN and version, say): opening it under another context
// fails, so a sealed value copied onto another record is useless.
func (b *Box) Seal(plaintext []byte, context string) []byte {
	nonce := secretfile.RandomBytes(b.aead.NonceSize())
	return b.aead.Seal(nonce, nonce, plaintext, []byte(context))
}

// ErrOpen is returned for a sealed value that does not open: another key,
// another context, or damage.
var ErrOpen = errors.New("secretbox: sealed value does not open")

// Open decrypts what Seal returned for the same context.
func (b *Box) Open(sealed []byte, context string) ([]byte, error) {
	n := b.aead.NonceSize()
	if len(sealed) < n+b.aead.Overhead() {
		return nil, ErrOpen
	}
	plain, err := b.aead.Open(nil, sealed[:n], sealed[n:], []byte(context))
	if err != nil {
		return nil, ErrOpen
	}
	return plain, nil
}
