package e2e

import (
	"archive/tar"
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// TestEncryptionAtRest proves blobs are encrypted at rest: a repository
// created with encryptionType AES256 through the aws CLI gets an image whose
// layers hold a known plaintext (one uncompressed layer, one gzip layer),
// and an upload is left half done with the same plaintext; then no file
// anywhere under the data dir (blobs, uploads, the state db, everything)
// holds the plaintext, the layers' bytes or their gzip stream. The key file
// is 0600, and the image pulls back intact, before and after a restart.
func TestEncryptionAtRest(t *testing.T) {
	s := StartServer(t, ServerOptions{})
	const repo = "secret-app"

	var created struct {
		Repository struct {
			EncryptionConfiguration struct{ EncryptionType, KmsKey string }
		}
	}
	s.AWS(t, "ecr", "create-repository", "--repository-name", repo,
		"--encryption-configuration", "encryptionType=AES256").OK(t).Decode(t, &created)
	if enc := created.Repository.EncryptionConfiguration; enc.EncryptionType != "AES256" || enc.KmsKey != "" {
		t.Fatalf("create-repository: encryption %+v, want AES256 with no key", enc)
	}

	// Low-entropy, unmistakable plaintext: a unique line repeated, so that
	// it would show in any stored form that is not encrypted.
	marker := []byte(UniqueName("BERTH-ENCRYPTION-AT-REST-PLAINTEXT-MARKER") + "-the-quick-brown-fox-jumps-over-the-lazy-dog\n")
	content := bytes.Repeat(marker, (1<<20)/len(marker)+1) // ~1 MiB, several 256 KiB segments
	rawTar := tarOf(t, "secret/marker.txt", content)

	rawLayer := static.NewLayer(rawTar, types.OCIUncompressedLayer)
	gzLayer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(tarOf(t, "secret/marker-gz.txt", content))), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		t.Fatal(err)
	}
	gzBytes := readAll(t, gzLayer.Compressed)
	if len(gzBytes) < 256 {
		t.Fatalf("gzip layer is %d bytes, too short to look for", len(gzBytes))
	}
	base := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err := mutate.AppendLayers(base, rawLayer, gzLayer)
	if err != nil {
		t.Fatal(err)
	}

	password := strings.TrimSpace(s.AWS(t, "ecr", "get-login-password").OK(t).Stdout)
	auth := remote.WithAuth(&authn.Basic{Username: "AWS", Password: password})
	ref, err := name.ParseReference(s.RegistryHost+"/"+repo+":v1", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img, auth); err != nil {
		t.Fatalf("push: %v", err)
	}
	checkPulledLayers(t, ref, auth, rawTar, gzBytes)

	// An upload left half done: its chunk sits in uploads/ until the
	// session ends, and must be encrypted there too.
	startPartialUpload(t, s, repo, basicAuth("AWS", password), content)

	needles := map[string][]byte{
		"the plaintext marker":                 marker,
		"the marker file's name":               []byte("secret/marker.txt"),
		"a run of the plaintext":               content[len(content)/2 : len(content)/2+4*len(marker)],
		"the uncompressed layer's tar":         rawTar,
		"the middle of the uncompressed layer": rawTar[len(rawTar)/2 : len(rawTar)/2+4096],
		"the gzip layer":                       gzBytes,
		"the middle of the gzip layer":         gzBytes[len(gzBytes)/2-64 : len(gzBytes)/2+64],
		"the end of the gzip layer":            gzBytes[len(gzBytes)-128:],
		"the marker in hex":                    []byte(hex.EncodeToString(marker)),
	}
	// Base64 (how JSON stores []byte) of the repeated plaintext, at each of
	// the three alignments it can start at.
	for off := range 3 {
		enc := base64.StdEncoding.EncodeToString(content[off : off+30*len(marker)])
		needles[fmt.Sprintf("the plaintext in base64 (offset %d)", off)] = []byte(enc[8 : len(enc)-8])
	}

	// Stopped, so the state db is closed and everything is on disk.
	s.Stop(t)
	scanned := scanDataDir(t, s.DataDir, needles)
	if scanned.blobBytes < int64(len(rawTar)) {
		t.Fatalf("only %d bytes under blobs/: the layers are not where the scan looked", scanned.blobBytes)
	}
	if scanned.uploadFiles == 0 {
		t.Fatal("no file under uploads/: the half-done upload was not scanned")
	}
	if scanned.stateDB == 0 {
		t.Fatal("no state db (state.db) under the data dir")
	}
	t.Logf("scanned %d files, %d bytes: no plaintext", scanned.files, scanned.bytes)

	keyInfo, err := os.Stat(filepath.Join(s.DataDir, "blob.key"))
	if err != nil {
		t.Fatal(err)
	}
	if perm := keyInfo.Mode().Perm(); perm != 0o600 {
		t.Fatalf("blob.key has mode %v, want 0600", perm)
	}

	// The encrypted blobs read back after a restart, with the same key.
	s.Start(t)
	password = strings.TrimSpace(s.AWS(t, "ecr", "get-login-password").OK(t).Stdout)
	checkPulledLayers(t, ref, remote.WithAuth(&authn.Basic{Username: "AWS", Password: password}), rawTar, gzBytes)
}

// TestKMSEncryptionTypes: the aws CLI's view of KMS settings, which berth
// accepts only for the AWS managed key aws/ecr.
func TestKMSEncryptionTypes(t *testing.T) {
	s := StartServer(t, ServerOptions{})
	var created struct {
		Repository struct {
			EncryptionConfiguration struct{ EncryptionType, KmsKey string }
		}
	}
	s.AWS(t, "ecr", "create-repository", "--repository-name", "kms-default",
		"--encryption-configuration", "encryptionType=KMS").OK(t).Decode(t, &created)
	enc := created.Repository.EncryptionConfiguration
	keyARN := "arn:aws:kms:" + s.Region + ":" + s.AccountID + ":key/"
	if enc.EncryptionType != "KMS" || !strings.HasPrefix(enc.KmsKey, keyARN) {
		t.Fatalf("KMS without a key: %+v, want the managed key %s<id>", enc, keyARN)
	}
	s.AWS(t, "ecr", "create-repository", "--repository-name", "kms-alias",
		"--encryption-configuration", "encryptionType=KMS_DSSE,kmsKey=alias/aws/ecr").OK(t).Decode(t, &created)
	if got := created.Repository.EncryptionConfiguration; got.EncryptionType != "KMS_DSSE" || got.KmsKey != enc.KmsKey {
		t.Fatalf("KMS_DSSE with alias/aws/ecr: %+v, want the managed key %s", got, enc.KmsKey)
	}

	missing := "arn:aws:kms:" + s.Region + ":" + s.AccountID + ":key/1234abcd-12ab-34cd-56ef-1234567890ab"
	r := s.AWS(t, "ecr", "create-repository", "--repository-name", "kms-missing",
		"--encryption-configuration", "encryptionType=KMS,kmsKey="+missing)
	awsCLIs[0].serviceError(t, r, "CreateRepository", "KmsException", "Key '"+missing+"' does not exist")
	s.AWS(t, "ecr", "describe-repositories", "--repository-names", "kms-missing").Fails(t, "RepositoryNotFoundException")
}

// tarOf is a tar archive holding one file.
func tarOf(t *testing.T, path string, content []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: path, Mode: 0o644, Size: int64(len(content)), Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write(content); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func readAll(t *testing.T, open func() (io.ReadCloser, error)) []byte {
	t.Helper()
	rc, err := open()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkPulledLayers pulls ref and checks its two layers come back byte for
// byte (go-containerregistry also checks their digests).
func checkPulledLayers(t *testing.T, ref name.Reference, auth remote.Option, rawTar, gzBytes []byte) {
	t.Helper()
	img, err := remote.Image(ref, auth)
	if err != nil {
		t.Fatalf("pull %s: %v", ref, err)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if len(layers) != 2 {
		t.Fatalf("pulled %d layers, want 2", len(layers))
	}
	for i, want := range [][]byte{rawTar, gzBytes} {
		if got := readAll(t, layers[i].Compressed); !bytes.Equal(got, want) {
			t.Fatalf("layer %d: pulled %d bytes that differ from the %d pushed", i, len(got), len(want))
		}
	}
}

// startPartialUpload opens a blob upload and sends one chunk of data,
// leaving the session open.
func startPartialUpload(t *testing.T, s *Server, repo, basic string, data []byte) {
	t.Helper()
	do := func(method, url string, body []byte) *http.Response {
		t.Helper()
		req, err := http.NewRequest(method, url, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Basic "+basic)
		if body != nil {
			req.Header.Set("Content-Type", "application/octet-stream")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("%s %s: %s", method, url, resp.Status)
		}
		return resp
	}
	resp := do(http.MethodPost, s.URL+"/v2/"+repo+"/blobs/uploads/", nil)
	loc := resp.Header.Get("Location")
	if !strings.HasPrefix(loc, "http") {
		loc = s.URL + loc
	}
	do(http.MethodPatch, loc, data)
}

// Where the blob store keeps committed blobs and upload sessions, under
// the data dir's blobs/.
var (
	blobFileRE   = regexp.MustCompile(`(^|/)blobs/sha(256|512)/[0-9a-f]{2}/[0-9a-f]+$`)
	uploadFileRE = regexp.MustCompile(`(^|/)uploads/[^/]+$`)
)

type dataDirScan struct {
	files, uploadFiles, stateDB int
	bytes, blobBytes            int64
}

// scanDataDir reads every regular file under dir and fails the test if any
// holds one of the needles. Blob files must carry berth's encrypted header.
func scanDataDir(t *testing.T, dir string, needles map[string][]byte) dataDirScan {
	t.Helper()
	var sc dataDirScan
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		sc.files++
		sc.bytes += int64(len(b))
		for what, needle := range needles {
			if bytes.Contains(b, needle) {
				t.Errorf("%s holds %s", rel, what)
			}
		}
		switch slashed := filepath.ToSlash(rel); {
		case blobFileRE.MatchString(slashed):
			sc.blobBytes += int64(len(b))
			// Header: magic, version 1, cipher 1 (AES-256-GCM).
			if len(b) < 10 || string(b[:8]) != "BERTHBLB" || b[9] != 1 {
				t.Errorf("%s is not an encrypted blob file (header % x)", rel, b[:min(len(b), 10)])
			}
		case uploadFileRE.MatchString(slashed):
			sc.uploadFiles++
		case rel == "state.db":
			sc.stateDB++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return sc
}
