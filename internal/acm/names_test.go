package acm

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/berth/berth/internal/awsapi/model"
)

func TestDomainPatternIsTheModels(t *testing.T) {
	if got := model.MustLoad("acm").Shapes["DomainNameString"].Pattern; got != domainPattern {
		t.Fatalf("the model's pattern is %s", got)
	}
}

func TestValidDomain(t *testing.T) {
	label63 := strings.Repeat("a", 63)
	for name, want := range map[string]bool{
		"example.com":            true,
		"*.example.com":          true,
		"api.v1.example.co.uk":   true,
		"xn--bcher-kva.example":  true,
		"A-1.Example.COM":        true,
		label63 + ".com":         true,
		"example":                false,
		"*.com":                  false,
		"a.b":                    false, // the last label needs two characters
		"-a.example.com":         false,
		"a-.example.com":         false,
		"a..example.com":         false,
		"a.example.com.":         false,
		"*.*.example.com":        false,
		"api.*.example.com":      false,
		"under_score.example.io": false,
		label63 + "a.com":        false,
		"":                       false,
	} {
		if got := validDomain(name); got != want {
			t.Errorf("validDomain(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestCertificateNames(t *testing.T) {
	names, err := certificateNames("Example.com", []string{"www.example.com", "example.com", "*.example.com", "www.example.com"})
	if err != nil || !slices.Equal(names, []string{"Example.com", "www.example.com", "*.example.com"}) {
		t.Fatalf("names %v %v", names, err)
	}
	if _, err := certificateNames("example.com", []string{"ok.example.com", "bad"}); !errors.Is(err, errValidation) {
		t.Fatalf("bad SAN: %v", err)
	}
	// A long name is fine as an alternative name, not as the first.
	long := strings.Repeat("a", 60) + ".example.com"
	if _, err := certificateNames("example.com", []string{long}); err != nil {
		t.Fatal(err)
	}
	if _, err := certificateNames(long, nil); !errors.Is(err, errInvalidDomainValidationOpts) {
		t.Fatalf("long first name: %v", err)
	}
}

func TestDNSRecordIsStable(t *testing.T) {
	a := &ACM{account: "123456789012"}
	b := &ACM{account: "210987654321"}
	n1, v1 := a.dnsRecord("*.Example.com")
	n2, v2 := a.dnsRecord("example.com")
	n3, v3 := b.dnsRecord("example.com")
	if n1 != n2 || v1 != v2 || n1 == n3 || v1 == v3 || !strings.HasSuffix(n1, ".example.com.") {
		t.Fatalf("records %s %s / %s %s / %s %s", n1, v1, n2, v2, n3, v3)
	}
}

func pemBlock(kind string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der})
}

func TestParsePrivateKeyForms(t *testing.T) {
	now := time.Now()
	key := rsaKey(t)
	cert := makeCert(t, []string{"k.example.com"}, key, nil, now.Add(-time.Hour), now.Add(time.Hour), false)
	pkcs1 := pemBlock("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(key))
	ec := ecKey(t)
	ecCert := makeCert(t, []string{"e.example.com"}, ec, nil, now.Add(-time.Hour), now.Add(time.Hour), false)
	ecDER, err := x509.MarshalECPrivateKey(ec)
	if err != nil {
		t.Fatal(err)
	}
	// As openssl ecparam -genkey writes it: the curve's OID first.
	sec1 := append(pemBlock("EC PARAMETERS", []byte{6, 8, 42, 134, 72, 206, 61, 3, 1, 7}), pemBlock("EC PRIVATE KEY", ecDER)...)
	for name, tc := range map[string]struct {
		cert, key []byte
		ok        bool
	}{
		"PKCS #8":                        {cert.certPEM, cert.keyPEM, true},
		"PKCS #1":                        {cert.certPEM, pkcs1, true},
		"SEC 1 after its parameters":     {ecCert.certPEM, sec1, true},
		"encrypted":                      {cert.certPEM, pemBlock("ENCRYPTED PRIVATE KEY", []byte{1, 2, 3}), false},
		"a certificate instead of a key": {cert.certPEM, cert.certPEM, false},
		"nothing":                        {cert.certPEM, []byte("no key here"), false},
	} {
		_, err := parseImport(tc.cert, tc.key, nil, now)
		if (err == nil) != tc.ok {
			t.Errorf("%s: %v", name, err)
		}
		if err != nil && strings.Contains(err.Error(), "PRIVATE KEY-----") {
			t.Errorf("%s: the error shows the key: %v", name, err)
		}
	}
}
