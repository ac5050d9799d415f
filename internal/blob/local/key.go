package local

import (
	"fmt"

	"github.com/berth/berth/internal/secretfile"
)

// LoadOrCreateKey returns the 32-byte master key stored at path, creating it
// from fresh random bytes, mode 0600, if there is none (see
// secretfile.LoadOrCreate).
func LoadOrCreateKey(path string) ([]byte, error) {
	return secretfile.LoadOrCreate(path, func() ([]byte, error) {
		return secretfile.RandomBytes(32), nil
	}, func(key []byte) error {
		if len(key) != 32 {
			return fmt.Errorf("blob: key file holds %d bytes, want 32", len(key))
		}
		return nil
	})
}
