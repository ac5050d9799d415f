package docker

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/distribution/reference"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/registry"

	"github.com/berth/berth/internal/runtime"
)

// pauseRepository is the local repository of the network holder image; the
// tag is derived from the image's content.
const pauseRepository = "berth/pause"

// PullImage pulls ref with auth (nil for anonymous) and returns the local
// image. With onlyIfMissing a local image is returned without pulling.
func (d *Driver) PullImage(ctx context.Context, ref string, auth *runtime.Auth, onlyIfMissing bool) (runtime.Image, error) {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return runtime.Image{}, fmt.Errorf("docker: invalid image reference %q: %w", ref, err)
	}
	if onlyIfMissing {
		inspect, err := d.client.ImageInspect(ctx, ref)
		switch {
		case err == nil:
			return imageFromInspect(inspect, named), nil
		case !cerrdefs.IsNotFound(err):
			return runtime.Image{}, fmt.Errorf("docker: inspect image %s: %w", ref, err)
		}
	}
	opts := image.PullOptions{}
	if auth != nil {
		encoded, err := registry.EncodeAuthConfig(registry.AuthConfig{
			Username:      auth.Username,
			Password:      auth.Password,
			ServerAddress: auth.ServerAddress,
		})
		if err != nil {
			return runtime.Image{}, fmt.Errorf("docker: encode registry auth: %w", err)
		}
		opts.RegistryAuth = encoded
	}
	d.log.DebugContext(ctx, "pulling image", "ref", ref)
	progress, err := d.client.ImagePull(ctx, ref, opts)
	if err == nil {
		err = drainProgress(progress)
		progress.Close()
	}
	if err != nil {
		return runtime.Image{}, &runtime.PullError{Ref: ref, Message: err.Error(), Err: mapErr(err)}
	}
	inspect, err := d.client.ImageInspect(ctx, ref)
	if err != nil {
		return runtime.Image{}, fmt.Errorf("docker: inspect pulled image %s: %w", ref, mapErr(err))
	}
	return imageFromInspect(inspect, named), nil
}

// drainProgress reads a pull or import progress stream to its end and
// returns the first error the daemon reported in it: the HTTP status of
// such a stream is 200 once it has begun, whatever happens after.
func drainProgress(r io.Reader) error {
	dec := json.NewDecoder(r)
	for {
		var msg progressMessage
		if err := dec.Decode(&msg); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("reading progress: %w", err)
		}
		if msg.ErrorDetail != nil && msg.ErrorDetail.Message != "" {
			return errors.New(msg.ErrorDetail.Message)
		}
		if msg.Error != "" {
			return errors.New(msg.Error)
		}
	}
}

// progressMessage is the part of Docker's JSON progress messages that
// carries errors (pkg/jsonmessage has the whole, with terminal
// dependencies berth does not need).
type progressMessage struct {
	Error       string `json:"error"`
	ErrorDetail *struct {
		Message string `json:"message"`
	} `json:"errorDetail"`
}

// imageFromInspect maps an inspected image; named is the reference it was
// asked for, whose repository picks the RepoDigest.
func imageFromInspect(inspect image.InspectResponse, named reference.Named) runtime.Image {
	img := runtime.Image{
		ID:         inspect.ID,
		RepoDigest: repoDigest(inspect.RepoDigests, named),
	}
	if cfg := inspect.Config; cfg != nil {
		img.Env = cfg.Env
		img.Entrypoint = cfg.Entrypoint
		img.Cmd = cfg.Cmd
		img.WorkingDir = cfg.WorkingDir
		img.User = cfg.User
	}
	return img
}

// repoDigest returns the digest of the RepoDigests entry ("repo@sha256:...")
// of named's repository, or named's own digest when it is a digest
// reference, or "" when neither is known (e.g. an imported image).
func repoDigest(repoDigests []string, named reference.Named) string {
	if canonical, ok := named.(reference.Canonical); ok {
		return canonical.Digest().String()
	}
	for _, entry := range repoDigests {
		parsed, err := reference.ParseNormalizedNamed(entry)
		if err != nil {
			continue
		}
		canonical, ok := parsed.(reference.Canonical)
		if ok && parsed.Name() == named.Name() {
			return canonical.Digest().String()
		}
	}
	return ""
}

// ensurePauseImage imports the pause image for the configured binary unless
// the daemon already has it, once per Driver (retried after a failure).
func (d *Driver) ensurePauseImage(ctx context.Context) (string, error) {
	d.pauseMu.Lock()
	defer d.pauseMu.Unlock()
	if d.pauseImage != "" {
		return d.pauseImage, nil
	}
	rootfs, env, err := pauseRootfs(d.cfg.PauseBinary)
	if err != nil {
		return "", fmt.Errorf("docker: pause image: %w", err)
	}
	entrypoint, err := json.Marshal(append([]string{"/pause"}, d.cfg.PauseArgs...))
	if err != nil {
		return "", fmt.Errorf("docker: pause entrypoint: %w", err)
	}
	changes := []string{"ENTRYPOINT " + string(entrypoint)}
	for _, e := range env {
		changes = append(changes, "ENV "+e)
	}
	ref := pauseImageRef(rootfs, changes)
	if _, err := d.client.ImageInspect(ctx, ref); err == nil {
		d.pauseImage = ref
		return ref, nil
	} else if !cerrdefs.IsNotFound(err) {
		return "", fmt.Errorf("docker: inspect pause image: %w", err)
	}
	if err := d.importImage(ctx, ref, rootfs, changes); err != nil {
		return "", fmt.Errorf("docker: import pause image: %w", err)
	}
	d.log.InfoContext(ctx, "imported pause image", "image", ref)
	d.pauseImage = ref
	return ref, nil
}

// pauseImageRef names the pause image after its content, so a new berth
// binary (or new host libraries under a dynamic one) brings its own image
// and an unchanged one reuses it.
func pauseImageRef(rootfs []byte, changes []string) string {
	h := sha256.New()
	h.Write(rootfs)
	for _, c := range changes {
		h.Write([]byte{0})
		h.Write([]byte(c))
	}
	return pauseRepository + ":" + hex.EncodeToString(h.Sum(nil))[:12]
}

// importImage creates image ref from a root filesystem tar, applying
// Dockerfile changes such as ENTRYPOINT.
func (d *Driver) importImage(ctx context.Context, ref string, rootfs []byte, changes []string) error {
	progress, err := d.client.ImageImport(ctx,
		image.ImportSource{Source: bytes.NewReader(rootfs), SourceName: "-"},
		ref, image.ImportOptions{Changes: changes})
	if err != nil {
		return err
	}
	defer progress.Close()
	return drainProgress(progress)
}

// singleFileTar returns a tar holding one executable at the root.
func singleFileTar(name string, content []byte) ([]byte, error) {
	return rootfsTar([]rootfsFile{{path: name, content: content, mode: 0o755}})
}
