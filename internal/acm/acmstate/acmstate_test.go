package acmstate

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net"
	"path/filepath"
	"slices"
	"testing"

	"github.com/berth/berth/internal/pki"
	"github.com/berth/berth/internal/secretbox"
	"github.com/berth/berth/internal/store"
	"github.com/berth/berth/internal/store/bolt"
)

const (
	region  = "us-east-1"
	account = "123456789012"
	certID  = "0c6a1e9b-8c7f-4b8e-9f43-2f3d3c0a9e11"
	lb1     = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/a/1"
	lb2     = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/b/2"
)

func TestParseARN(t *testing.T) {
	arn := ARN(region, account, certID)
	if r, a, id, ok := ParseARN(arn); !ok || r != region || a != account || id != certID {
		t.Fatalf("%s: %s %s %s %v", arn, r, a, id, ok)
	}
	for _, bad := range []string{
		"", "arn:aws:acm:us-east-1:123456789012:certificate/", "arn:aws:acm:us-east-1:123456789012:widget/x",
		"arn:aws:acm-pca:us-east-1:123456789012:certificate/x", "arn:aws:acm::123456789012:certificate/x",
		"arn:aws:acm:us-east-1:123456789012:certificate/a/b", "arn:aws-cn:acm:cn-north-1:123456789012:certificate/x",
	} {
		if _, _, _, ok := ParseARN(bad); ok {
			t.Errorf("%q parsed", bad)
		}
	}
}

type fixture struct {
	store store.Store
	box   *secretbox.Box
	ca    *pki.CA
	arn   string
}

// newFixture stores one certificate for app.example.com issued by a new
// CA.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	st, err := bolt.Open(filepath.Join(dir, "state.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	box, err := secretbox.New(bytes.Repeat([]byte{3}, 32))
	if err != nil {
		t.Fatal(err)
	}
	ca, err := pki.LoadOrCreate(dir)
	if err != nil {
		t.Fatal(err)
	}
	certPEM, chainPEM, key, err := ca.Issue(pki.IssueRequest{DNSNames: []string{"app.example.com"}, KeyAlgorithm: pki.ECPrime256v1})
	if err != nil {
		t.Fatal(err)
	}
	cert := Certificate{Region: region, ID: certID, ARN: ARN(region, account, certID), Type: TypeAmazonIssued,
		CertificatePEM: string(certPEM), ChainPEM: string(chainPEM), Serial: "01"}
	if err := cert.SealKey(box, key); err != nil {
		t.Fatal(err)
	}
	put, err := store.PutJSON(CertificateKey(region, certID), cert)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Txn(context.Background(), store.Txn{Then: []store.Op{put}}); err != nil {
		t.Fatal(err)
	}
	return &fixture{store: st, box: box, ca: ca, arn: cert.ARN}
}

func (f *fixture) users(t *testing.T) []string {
	t.Helper()
	cert, err := Get(context.Background(), f.store, region, f.arn)
	if err != nil {
		t.Fatal(err)
	}
	return cert.Value.InUseBy
}

func TestGet(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if _, err := Get(ctx, f.store, region, f.arn); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ region, arn string }{
		{"eu-west-1", f.arn},                                 // another region's request
		{region, ARN("eu-west-1", account, certID)},          // another region's certificate
		{region, ARN(region, "210987654321", certID)},        // another account's
		{region, ARN(region, account, "missing")},            // none
		{region, "arn:aws:acm:us-east-1:1:widget/" + certID}, // not a certificate's
	} {
		if _, err := Get(ctx, f.store, tc.region, tc.arn); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s in %s: %v", tc.arn, tc.region, err)
		}
	}
}

func TestUseOps(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for _, step := range []struct {
		user  string
		inUse bool
		want  []string
	}{
		{lb2, true, []string{lb2}},
		{lb1, true, []string{lb1, lb2}},
		{lb1, true, []string{lb1, lb2}}, // again: nothing changes
		{lb2, false, []string{lb1}},
		{lb2, false, []string{lb1}},
		{lb1, false, nil},
	} {
		if err := MarkInUse(ctx, f.store, region, f.arn, step.user, step.inUse); err != nil {
			t.Fatal(err)
		}
		if got := f.users(t); !slices.Equal(got, step.want) {
			t.Fatalf("after %s %v: %v, want %v", step.user, step.inUse, got, step.want)
		}
	}

	// The ops ride in the caller's transaction, which conflicts if the
	// certificate changed since they were made.
	compare, ops, err := UseOps(ctx, f.store, region, f.arn, lb1, true)
	if err != nil || len(compare) != 1 || len(ops) != 1 {
		t.Fatalf("%v %v %v", compare, ops, err)
	}
	if err := MarkInUse(ctx, f.store, region, f.arn, lb2, true); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.Txn(ctx, store.Txn{If: compare, Then: ops}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("stale ops: %v", err)
	}
	// Already so: the compare alone.
	compare, ops, err = UseOps(ctx, f.store, region, f.arn, lb2, true)
	if err != nil || len(compare) != 1 || len(ops) != 0 {
		t.Fatalf("no-op: %v %v %v", compare, ops, err)
	}

	missing := ARN(region, account, "missing")
	if _, _, err := UseOps(ctx, f.store, region, missing, lb1, true); !errors.Is(err, ErrNotFound) {
		t.Fatalf("use of a missing certificate: %v", err)
	}
	if compare, ops, err := UseOps(ctx, f.store, region, missing, lb1, false); err != nil || compare != nil || ops != nil {
		t.Fatalf("forgetting a missing certificate: %v %v %v", compare, ops, err)
	}
}

// TestKeyPair serves the certificate over TLS to a client that trusts
// berth's root.
func TestKeyPair(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	pair, err := LoadKeyPair(ctx, f.store, f.box, region, f.arn)
	if err != nil {
		t.Fatal(err)
	}
	if len(pair.Certificate) != 1 || pair.Leaf == nil {
		t.Fatalf("served chain of %d (the root is not sent)", len(pair.Certificate))
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(f.ca.RootPEM())
	server, client := net.Pipe()
	done := make(chan error, 1)
	go func() {
		s := tls.Server(server, &tls.Config{Certificates: []tls.Certificate{pair}})
		done <- s.HandshakeContext(ctx)
		server.Close()
	}()
	c := tls.Client(client, &tls.Config{ServerName: "app.example.com", RootCAs: roots})
	if err := c.HandshakeContext(ctx); err != nil {
		t.Fatal(err)
	}
	// Closed under TLS: a close_notify would wait for a reader that
	// the pipe does not have.
	client.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	// Another data dir's key does not open it.
	other, err := secretbox.New(bytes.Repeat([]byte{4}, 32))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := LoadKeyPair(ctx, f.store, other, region, f.arn); !errors.Is(err, secretbox.ErrOpen) {
		t.Fatalf("another box: %v", err)
	}
	// Nor does a key moved onto another certificate's record.
	cert, err := Get(ctx, f.store, region, f.arn)
	if err != nil {
		t.Fatal(err)
	}
	moved := cert.Value
	moved.ARN = ARN(region, account, "other")
	if _, err := moved.KeyPair(f.box); !errors.Is(err, secretbox.ErrOpen) {
		t.Fatalf("moved key: %v", err)
	}
	// An intermediate in the chain is sent; a root is not.
	intermediate := cert.Value
	block, _ := pem.Decode([]byte(intermediate.CertificatePEM))
	intermediate.ChainPEM = string(pem.EncodeToMemory(block)) + intermediate.ChainPEM // the leaf stands in for an intermediate
	pair, err = intermediate.KeyPair(f.box)
	if err != nil || len(pair.Certificate) != 2 {
		t.Fatalf("chain with an intermediate: %d %v", len(pair.Certificate), err)
	}
}
