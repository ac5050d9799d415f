package registry

import (
	"bytes"
	_ "crypto/sha256" // digest algorithms the registry accepts
	_ "crypto/sha512"
	"encoding/json"
	"fmt"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Manifest media types the registry accepts.
const (
	MediaTypeDockerManifest     = "application/vnd.docker.distribution.manifest.v2+json"
	MediaTypeDockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
)

// IsIndexMediaType reports whether mediaType is an image index / manifest list.
func IsIndexMediaType(mediaType string) bool {
	return mediaType == ocispec.MediaTypeImageIndex || mediaType == MediaTypeDockerManifestList
}

// IsManifestMediaType reports whether the registry stores manifests of mediaType.
func IsManifestMediaType(mediaType string) bool {
	switch mediaType {
	case ocispec.MediaTypeImageManifest, ocispec.MediaTypeImageIndex, MediaTypeDockerManifest, MediaTypeDockerManifestList:
		return true
	}
	return false
}

// BlobRef is a blob a manifest references.
type BlobRef struct {
	Digest digest.Digest
	// MediaType is the blob's media type as the manifest names it.
	MediaType string
	// Layer is false for the config blob.
	Layer bool
}

// Manifest is what the catalog needs to know of a parsed manifest.
type Manifest struct {
	MediaType    string
	ArtifactType string
	ConfigType   string
	// Blobs must be in the repository (foreign layers with URLs are not).
	Blobs       []BlobRef
	Children    []digest.Digest
	Subject     digest.Digest
	Annotations map[string]string
}

func (m *Manifest) blobDigests() []digest.Digest {
	out := make([]digest.Digest, len(m.Blobs))
	for i, b := range m.Blobs {
		out[i] = b.Digest
	}
	return out
}

// wireManifest has the fields of every accepted manifest kind.
type wireManifest struct {
	SchemaVersion *int                 `json:"schemaVersion"`
	MediaType     string               `json:"mediaType"`
	ArtifactType  string               `json:"artifactType"`
	Config        *ocispec.Descriptor  `json:"config"`
	Layers        []ocispec.Descriptor `json:"layers"`
	Manifests     []ocispec.Descriptor `json:"manifests"`
	Subject       *ocispec.Descriptor  `json:"subject"`
	Annotations   map[string]string    `json:"annotations"`
}

// ParseManifest validates a manifest body. declared is the media type the
// client sent (Content-Type or PutImage's imageManifestMediaType), which
// may be empty; it must agree with the manifest's own mediaType field.
func ParseManifest(declared string, body []byte) (*Manifest, error) {
	var w wireManifest
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&w); err != nil {
		return nil, &ManifestInvalidError{Reason: "not a JSON manifest: " + err.Error()}
	}
	if dec.More() {
		return nil, &ManifestInvalidError{Reason: "trailing data after the manifest"}
	}
	if w.SchemaVersion == nil || *w.SchemaVersion != 2 {
		return nil, &ManifestInvalidError{Reason: "schemaVersion must be 2"}
	}
	mediaType := w.MediaType
	switch {
	case mediaType == "" && declared != "" && declared != "application/json":
		mediaType = declared
	case mediaType == "" && w.Manifests != nil:
		mediaType = ocispec.MediaTypeImageIndex
	case mediaType == "":
		mediaType = ocispec.MediaTypeImageManifest
	case declared != "" && declared != "application/json" && declared != mediaType:
		return nil, &ManifestInvalidError{Reason: fmt.Sprintf("media type %q does not match the manifest's mediaType %q", declared, mediaType)}
	}
	if !IsManifestMediaType(mediaType) {
		return nil, &ManifestInvalidError{Reason: fmt.Sprintf("unsupported manifest media type %q", mediaType)}
	}
	m := &Manifest{MediaType: mediaType, ArtifactType: w.ArtifactType, Annotations: w.Annotations}
	if w.Subject != nil {
		if err := checkDescriptor("subject", *w.Subject); err != nil {
			return nil, err
		}
		m.Subject = w.Subject.Digest
	}
	if IsIndexMediaType(mediaType) {
		if w.Config != nil || w.Layers != nil {
			return nil, &ManifestInvalidError{Reason: "an image index has no config or layers"}
		}
		for i, child := range w.Manifests {
			if err := checkDescriptor(fmt.Sprintf("manifests[%d]", i), child); err != nil {
				return nil, err
			}
			m.Children = append(m.Children, child.Digest)
		}
		return m, nil
	}
	if w.Manifests != nil {
		return nil, &ManifestInvalidError{Reason: "an image manifest has no manifests list"}
	}
	if w.Config == nil {
		return nil, &ManifestInvalidError{Reason: "config descriptor missing"}
	}
	if err := checkDescriptor("config", *w.Config); err != nil {
		return nil, err
	}
	m.ConfigType = w.Config.MediaType
	if m.ArtifactType == "" && mediaType == ocispec.MediaTypeImageManifest {
		m.ArtifactType = w.Config.MediaType
	}
	m.Blobs = append(m.Blobs, BlobRef{Digest: w.Config.Digest, MediaType: w.Config.MediaType})
	for i, layer := range w.Layers {
		if err := checkDescriptor(fmt.Sprintf("layers[%d]", i), layer); err != nil {
			return nil, err
		}
		if len(layer.URLs) > 0 {
			continue // non-distributable: its bytes live elsewhere
		}
		m.Blobs = append(m.Blobs, BlobRef{Digest: layer.Digest, MediaType: layer.MediaType, Layer: true})
	}
	return m, nil
}

func checkDescriptor(field string, d ocispec.Descriptor) error {
	if d.MediaType == "" {
		return &ManifestInvalidError{Reason: field + ": mediaType missing"}
	}
	if err := d.Digest.Validate(); err != nil {
		return &ManifestInvalidError{Reason: fmt.Sprintf("%s: invalid digest %q", field, d.Digest)}
	}
	if d.Size < 0 {
		return &ManifestInvalidError{Reason: field + ": negative size"}
	}
	return nil
}
