package pki

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func parsePEM(t *testing.T, b []byte) []*x509.Certificate {
	t.Helper()
	var out []*x509.Certificate
	for {
		var block *pem.Block
		block, b = pem.Decode(b)
		if block == nil {
			return out
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
}

func TestIssue(t *testing.T) {
	ca, err := LoadOrCreate(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(ca.RootPEM())
	now := time.Now()
	midnight := now.UTC().Truncate(24 * time.Hour)
	for _, tc := range []struct {
		name      string
		alg       string
		names     []string
		verifyAs  []string // names a client connects to
		wantKey   string
		wantUsage x509.KeyUsage
	}{
		{"default is RSA 2048", "", []string{"api.example.com"}, []string{"api.example.com"}, "RSA-2048",
			x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment},
		{"RSA 2048 with SANs", RSA2048, []string{"example.com", "www.example.com"}, []string{"example.com", "www.example.com"}, "RSA-2048",
			x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment},
		{"P-256 wildcard", ECPrime256v1, []string{"*.example.com", "example.com"}, []string{"a.example.com", "b.example.com", "example.com"}, "P-256",
			x509.KeyUsageDigitalSignature},
		{"P-384", ECSecp384r1, []string{"svc.internal.test"}, []string{"svc.internal.test"}, "P-384", x509.KeyUsageDigitalSignature},
	} {
		t.Run(tc.name, func(t *testing.T) {
			certPEM, chainPEM, key, err := ca.Issue(IssueRequest{DNSNames: tc.names, KeyAlgorithm: tc.alg, Now: now})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(chainPEM, ca.RootPEM()) {
				t.Fatal("the chain is not the root")
			}
			certs := parsePEM(t, certPEM)
			if len(certs) != 1 {
				t.Fatalf("%d certificates", len(certs))
			}
			leaf := certs[0]
			for _, name := range tc.verifyAs {
				if _, err := leaf.Verify(x509.VerifyOptions{DNSName: name, Roots: roots, CurrentTime: now,
					KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
					t.Errorf("verify as %s: %v", name, err)
				}
			}
			if _, err := leaf.Verify(x509.VerifyOptions{DNSName: "other.test", Roots: roots, CurrentTime: now}); err == nil {
				t.Error("verified for a name it is not for")
			}
			if leaf.Subject.CommonName != tc.names[0] || leaf.IsCA || leaf.KeyUsage != tc.wantUsage ||
				len(leaf.ExtKeyUsage) != 1 || leaf.ExtKeyUsage[0] != x509.ExtKeyUsageServerAuth {
				t.Errorf("leaf: CN %q CA %v usage %v ext %v", leaf.Subject.CommonName, leaf.IsCA, leaf.KeyUsage, leaf.ExtKeyUsage)
			}
			if !leaf.NotBefore.Equal(midnight) || !leaf.NotAfter.Equal(midnight.Add(395*24*time.Hour)) {
				t.Errorf("validity %s to %s", leaf.NotBefore, leaf.NotAfter)
			}
			if len(leaf.SerialNumber.Bytes()) != 16 {
				t.Errorf("serial of %d bytes", len(leaf.SerialNumber.Bytes()))
			}
			var got string
			switch k := key.(type) {
			case *rsa.PrivateKey:
				got = "RSA-" + map[int]string{2048: "2048"}[k.N.BitLen()]
				if !k.PublicKey.Equal(leaf.PublicKey) {
					t.Error("the key is not the certificate's")
				}
			case *ecdsa.PrivateKey:
				got = k.Curve.Params().Name
				if !k.PublicKey.Equal(leaf.PublicKey) {
					t.Error("the key is not the certificate's")
				}
			}
			if got != tc.wantKey {
				t.Errorf("key %s, want %s", got, tc.wantKey)
			}
		})
	}
}

func TestIssueRefuses(t *testing.T) {
	ca, err := LoadOrCreate(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := ca.Issue(IssueRequest{DNSNames: []string{"a.test"}, KeyAlgorithm: "RSA_4096"}); !errors.Is(err, ErrKeyAlgorithm) {
		t.Errorf("RSA_4096: %v", err)
	}
	if _, _, _, err := ca.Issue(IssueRequest{}); err == nil {
		t.Error("issued for no name")
	}
	// A first name too long for a common name leaves the subject empty.
	long := strings.Repeat("a", 60) + ".example.com"
	certPEM, _, _, err := ca.Issue(IssueRequest{DNSNames: []string{long}, KeyAlgorithm: ECPrime256v1})
	if err != nil {
		t.Fatal(err)
	}
	if leaf := parsePEM(t, certPEM)[0]; leaf.Subject.CommonName != "" || leaf.DNSNames[0] != long {
		t.Errorf("long name: CN %q SANs %v", leaf.Subject.CommonName, leaf.DNSNames)
	}
}

func TestLoadOrCreate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	ca, err := LoadOrCreate(dir)
	if err != nil {
		t.Fatal(err)
	}
	root := parsePEM(t, ca.RootPEM())[0]
	if root.Subject.CommonName != CommonName || !root.IsCA || root.NotAfter.Sub(root.NotBefore) != RootValidity {
		t.Fatalf("root %v CA %v %s..%s", root.Subject, root.IsCA, root.NotBefore, root.NotAfter)
	}
	if _, ok := root.PublicKey.(*ecdsa.PublicKey); !ok || root.PublicKey.(*ecdsa.PublicKey).Curve != elliptic.P256() {
		t.Fatalf("root key %T", root.PublicKey)
	}
	for file, mode := range map[string]os.FileMode{KeyFile: 0o600, CertFile: 0o644} {
		fi, err := os.Stat(filepath.Join(dir, file))
		if err != nil || fi.Mode().Perm() != mode {
			t.Fatalf("%s: %v %v, want mode %v", file, fi, err, mode)
		}
	}
	// The next start finds the same root, and what it issued still verifies.
	certPEM, _, _, err := ca.Issue(IssueRequest{DNSNames: []string{"app.test"}})
	if err != nil {
		t.Fatal(err)
	}
	again, err := LoadOrCreate(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again.RootPEM(), ca.RootPEM()) {
		t.Fatal("another root after a reload")
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(again.RootPEM())
	if _, err := parsePEM(t, certPEM)[0].Verify(x509.VerifyOptions{DNSName: "app.test", Roots: roots}); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Fatalf("left behind: %v", entries)
	}
}

// A crash after the key was written and before the certificate was: the
// next start certifies the key it finds.
func TestLoadOrCreateKeyWithoutCertificate(t *testing.T) {
	dir := t.TempDir()
	first, err := LoadOrCreate(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, CertFile)); err != nil {
		t.Fatal(err)
	}
	second, err := LoadOrCreate(dir)
	if err != nil {
		t.Fatal(err)
	}
	a, b := parsePEM(t, first.RootPEM())[0], parsePEM(t, second.RootPEM())[0]
	if !a.PublicKey.(*ecdsa.PublicKey).Equal(b.PublicKey) {
		t.Fatal("the new root certifies another key")
	}
}

func TestLoadOrCreateRefusesAnotherKeysCertificate(t *testing.T) {
	dir, other := t.TempDir(), t.TempDir()
	if _, err := LoadOrCreate(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreate(other); err != nil {
		t.Fatal(err)
	}
	foreign, err := os.ReadFile(filepath.Join(other, CertFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, CertFile), foreign, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreate(dir); err == nil || !strings.Contains(err.Error(), CertFile) {
		t.Fatalf("another key's certificate: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, KeyFile), []byte("junk"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreate(dir); err == nil {
		t.Fatal("a damaged key was accepted")
	}
}
