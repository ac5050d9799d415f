package loadbalancer

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"strings"
	"sync"

	"github.com/berth/berth/internal/acm/acmstate"
	"github.com/berth/berth/internal/elbv2/elbv2state"
	"github.com/berth/berth/internal/secretbox"
	"github.com/berth/berth/internal/store"
)

// certificates loads ACM's certificates for HTTPS listeners, and keeps
// them until the certificate's record changes (a re-import, a renewal).
type certificates struct {
	store store.Store
	box   *secretbox.Box

	mu     sync.Mutex
	loaded map[string]loadedCert // by ARN
}

type loadedCert struct {
	revision int64
	cert     tls.Certificate
	leaf     *x509.Certificate
}

func newCertificates(s store.Store, box *secretbox.Box) *certificates {
	return &certificates{store: s, box: box, loaded: map[string]loadedCert{}}
}

// choose returns the listener's certificate for a client's server name:
// the first whose names match it, else the listener's default (its first).
func (c *certificates) choose(ctx context.Context, l *listenerRoute, serverName string) (tls.Certificate, error) {
	if len(l.certificates) == 0 {
		return tls.Certificate{}, errors.New("the listener has no certificate")
	}
	region := l.balancer.region
	var first *loadedCert
	for _, arn := range l.certificates {
		lc, err := c.load(ctx, region, arn)
		if err != nil {
			return tls.Certificate{}, err
		}
		if first == nil {
			first = &lc
		}
		if serverName != "" && lc.leaf.VerifyHostname(strings.TrimSuffix(serverName, ".")) == nil {
			return lc.cert, nil
		}
	}
	return first.cert, nil
}

// load returns a certificate with its opened key, reading it again when its
// record changed.
func (c *certificates) load(ctx context.Context, region, arn string) (loadedCert, error) {
	rec, err := acmstate.Get(ctx, c.store, region, arn)
	if err != nil {
		return loadedCert{}, err
	}
	c.mu.Lock()
	lc, ok := c.loaded[arn]
	c.mu.Unlock()
	if ok && lc.revision == rec.ModRevision {
		return lc, nil
	}
	cert, err := rec.Value.KeyPair(c.box)
	if err != nil {
		return loadedCert{}, err
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		return loadedCert{}, err
	}
	lc = loadedCert{revision: rec.ModRevision, cert: cert, leaf: leaf}
	c.mu.Lock()
	c.loaded[arn] = lc
	c.mu.Unlock()
	return lc, nil
}

// policyVersions are the lowest and highest TLS versions of a security
// policy (the default policy's when it is unknown).
func policyVersions(name string) (uint16, uint16) {
	p, ok := elbv2state.SSLPolicyNamed(name)
	if !ok {
		p, _ = elbv2state.SSLPolicyNamed(elbv2state.DefaultSSLPolicy)
	}
	versions := map[string]uint16{"TLSv1": tls.VersionTLS10, "TLSv1.1": tls.VersionTLS11, "TLSv1.2": tls.VersionTLS12, "TLSv1.3": tls.VersionTLS13}
	var lo, hi uint16
	for _, proto := range p.Protocols {
		v := versions[proto]
		if v == 0 {
			continue
		}
		if lo == 0 || v < lo {
			lo = v
		}
		hi = max(hi, v)
	}
	if lo == 0 {
		return tls.VersionTLS12, tls.VersionTLS13
	}
	return lo, hi
}
