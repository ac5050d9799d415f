package registry

import (
	"errors"
	"reflect"
	"testing"
)

// FuzzParseManifest feeds the manifest parser arbitrary bodies and declared
// media types (seeds in testdata/fuzz/FuzzParseManifest). It must never
// panic, must reject with a ManifestInvalidError, and what it accepts must
// be something the catalog can store.
func FuzzParseManifest(f *testing.F) {
	f.Fuzz(func(t *testing.T, declared string, body []byte) {
		m, err := ParseManifest(declared, body)
		if err != nil {
			var invalid *ManifestInvalidError
			if !errors.As(err, &invalid) {
				t.Fatalf("error %T %v is not a ManifestInvalidError", err, err)
			}
			return
		}
		if !IsManifestMediaType(m.MediaType) {
			t.Fatalf("accepted media type %q", m.MediaType)
		}
		for _, b := range m.Blobs {
			if b.Digest.Validate() != nil {
				t.Fatalf("accepted blob digest %q", b.Digest)
			}
		}
		for _, c := range m.Children {
			if c.Validate() != nil {
				t.Fatalf("accepted child digest %q", c)
			}
		}
		if m.Subject != "" && m.Subject.Validate() != nil {
			t.Fatalf("accepted subject %q", m.Subject)
		}
		if IsIndexMediaType(m.MediaType) {
			if len(m.Blobs) > 0 || m.ConfigType != "" {
				t.Fatalf("index with blobs: %+v", m)
			}
		} else if len(m.Children) > 0 || len(m.Blobs) == 0 || m.Blobs[0].Layer {
			t.Fatalf("image manifest without its config first: %+v", m)
		}
		again, err := ParseManifest(declared, body)
		if err != nil || !reflect.DeepEqual(m, again) {
			t.Fatalf("parsing again: %+v, %v", again, err)
		}
	})
}
