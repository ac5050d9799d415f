package acm

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log/slog"
	"math/big"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/acm"
	"github.com/aws/aws-sdk-go-v2/service/acm/types"

	"github.com/berth/berth/internal/acm/acmstate"
	"github.com/berth/berth/internal/gateway/gatewaytest"
	"github.com/berth/berth/internal/pki"
	"github.com/berth/berth/internal/secretbox"
	"github.com/berth/berth/internal/store"
	"github.com/berth/berth/internal/store/bolt"
)

const (
	testRegion  = gatewaytest.Region
	testAccount = gatewaytest.AccountID
	lbARN       = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web/50dc6c495c0c9188"
)

// testEnv is the service behind the real gateway, its SDK client and a
// clock the test moves.
type testEnv struct {
	t      *testing.T
	acm    *ACM
	store  store.Store
	box    *secretbox.Box
	ca     *pki.CA
	client *sdk.Client
	clock  time.Time
}

func newTestEnv(t *testing.T) *testEnv {
	t.Helper()
	dir := t.TempDir()
	st, err := bolt.Open(filepath.Join(dir, "state.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	box, err := secretbox.New(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	ca, err := pki.LoadOrCreate(dir)
	if err != nil {
		t.Fatal(err)
	}
	e := &testEnv{t: t, store: st, box: box, ca: ca, clock: time.Now().UTC().Truncate(time.Millisecond)}
	e.acm = New(Config{Store: st, Box: box, CA: ca, AccountID: testAccount, Now: func() time.Time { return e.clock },
		Logger: slog.New(slog.DiscardHandler)})
	e.client = sdk.NewFromConfig(gatewaytest.Start(t, e.acm.Service()))
	return e
}

func (e *testEnv) request(in *sdk.RequestCertificateInput) string {
	e.t.Helper()
	out, err := e.client.RequestCertificate(context.Background(), in)
	if err != nil {
		e.t.Fatal(err)
	}
	return aws.ToString(out.CertificateArn)
}

func (e *testEnv) describe(arn string) *types.CertificateDetail {
	e.t.Helper()
	out, err := e.client.DescribeCertificate(context.Background(), &sdk.DescribeCertificateInput{CertificateArn: &arn})
	if err != nil {
		e.t.Fatal(err)
	}
	return out.Certificate
}

// roots is a pool of berth's root.
func (e *testEnv) roots() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(e.ca.RootPEM())
	return pool
}

func parseCerts(t *testing.T, s string) []*x509.Certificate {
	t.Helper()
	b := []byte(s)
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

var arnPattern = regexp.MustCompile(`^arn:aws:acm:us-east-1:123456789012:certificate/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

func TestRequestDescribeGet(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	arn := e.request(&sdk.RequestCertificateInput{
		DomainName:              aws.String("api.example.com"),
		SubjectAlternativeNames: []string{"*.api.example.com", "api.example.com", "www.example.net"},
		ValidationMethod:        types.ValidationMethodDns,
		Tags:                    []types.Tag{{Key: aws.String("team"), Value: aws.String("web")}},
	})
	if !arnPattern.MatchString(arn) {
		t.Fatalf("arn %s", arn)
	}
	d := e.describe(arn)
	wantNames := []string{"api.example.com", "*.api.example.com", "www.example.net"}
	if aws.ToString(d.CertificateArn) != arn || aws.ToString(d.DomainName) != "api.example.com" || !slices.Equal(d.SubjectAlternativeNames, wantNames) ||
		d.Status != types.CertificateStatusIssued || d.Type != types.CertificateTypeAmazonIssued || d.KeyAlgorithm != "RSA-2048" ||
		aws.ToString(d.Subject) != "CN=api.example.com" || aws.ToString(d.Issuer) != pki.CommonName ||
		aws.ToString(d.SignatureAlgorithm) != "SHA256WITHECDSA" || d.InUseBy == nil || len(d.InUseBy) != 0 ||
		d.RenewalEligibility != types.RenewalEligibilityIneligible || d.ImportedAt != nil || d.RenewalSummary != nil || d.Options == nil {
		t.Fatalf("describe: %+v", d)
	}
	//lint:ignore SA1019 berth's ACM model still has the preference, and serves it.
	if d.Options.CertificateTransparencyLoggingPreference != types.CertificateTransparencyLoggingPreferenceEnabled {
		t.Fatalf("options %+v", d.Options)
	}
	if !d.CreatedAt.Equal(e.clock) || !d.IssuedAt.Equal(e.clock) || !d.NotBefore.Equal(e.clock.Truncate(24*time.Hour)) ||
		!d.NotAfter.Equal(d.NotBefore.Add(pki.LeafValidity)) {
		t.Fatalf("times: created %s issued %s valid %s..%s", d.CreatedAt, d.IssuedAt, d.NotBefore, d.NotAfter)
	}
	if !regexp.MustCompile(`^[0-9a-f]{2}(:[0-9a-f]{2}){15}$`).MatchString(aws.ToString(d.Serial)) {
		t.Fatalf("serial %s", aws.ToString(d.Serial))
	}
	if len(d.KeyUsages) != 2 || d.KeyUsages[0].Name != types.KeyUsageNameDigitalSignature || d.KeyUsages[1].Name != types.KeyUsageNameKeyEncipherment ||
		len(d.ExtendedKeyUsages) != 1 || d.ExtendedKeyUsages[0].Name != types.ExtendedKeyUsageNameTlsWebServerAuthentication ||
		aws.ToString(d.ExtendedKeyUsages[0].OID) != "1.3.6.1.5.5.7.3.1" {
		t.Fatalf("usages %+v %+v", d.KeyUsages, d.ExtendedKeyUsages)
	}
	// Every name validated by DNS; a wildcard shares its parent's record.
	if len(d.DomainValidationOptions) != 3 {
		t.Fatalf("validations %+v", d.DomainValidationOptions)
	}
	record := regexp.MustCompile(`^_[0-9a-f]{32}\.([a-z0-9.-]+)\.$`)
	value := regexp.MustCompile(`^_[0-9a-f]{32}\.[a-z]{10}\.acm-validations\.aws\.$`)
	for i, v := range d.DomainValidationOptions {
		r := v.ResourceRecord
		if aws.ToString(v.DomainName) != wantNames[i] || aws.ToString(v.ValidationDomain) != wantNames[i] || v.ValidationStatus != types.DomainStatusSuccess ||
			v.ValidationMethod != types.ValidationMethodDns || r == nil || r.Type != types.RecordTypeCname || !value.MatchString(aws.ToString(r.Value)) {
			t.Fatalf("validation %d: %+v %+v", i, v, r)
		}
		if m := record.FindStringSubmatch(aws.ToString(r.Name)); m == nil || m[1] != strings.TrimPrefix(wantNames[i], "*.") {
			t.Fatalf("record name %s for %s", aws.ToString(r.Name), wantNames[i])
		}
	}
	if r0, r1 := d.DomainValidationOptions[0].ResourceRecord, d.DomainValidationOptions[1].ResourceRecord; aws.ToString(r0.Name) != aws.ToString(r1.Name) ||
		aws.ToString(r0.Value) != aws.ToString(r1.Value) {
		t.Fatal("the wildcard's record differs from its parent's")
	}
	// The waiter Terraform and the CLI use passes at once.
	if err := sdk.NewCertificateValidatedWaiter(e.client).Wait(ctx, &sdk.DescribeCertificateInput{CertificateArn: &arn}, 5*time.Second); err != nil {
		t.Fatal(err)
	}

	// The certificate chains to berth's root for every name.
	got, err := e.client.GetCertificate(ctx, &sdk.GetCertificateInput{CertificateArn: &arn})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(got.CertificateChain) != string(e.ca.RootPEM()) {
		t.Fatalf("chain %q", aws.ToString(got.CertificateChain))
	}
	leaf := parseCerts(t, aws.ToString(got.Certificate))[0]
	for _, name := range []string{"api.example.com", "v1.api.example.com", "www.example.net"} {
		if _, err := leaf.Verify(x509.VerifyOptions{DNSName: name, Roots: e.roots(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
			t.Errorf("verify %s: %v", name, err)
		}
	}

	// Email validation lists the addresses ACM would write to, at the
	// validation domain asked for.
	emailARN := e.request(&sdk.RequestCertificateInput{DomainName: aws.String("shop.example.org"),
		DomainValidationOptions: []types.DomainValidationOption{{DomainName: aws.String("shop.example.org"), ValidationDomain: aws.String("example.org")}}})
	v := e.describe(emailARN).DomainValidationOptions[0]
	if v.ValidationMethod != types.ValidationMethodEmail || aws.ToString(v.ValidationDomain) != "example.org" || v.ResourceRecord != nil ||
		!slices.Contains(v.ValidationEmails, "admin@example.org") || len(v.ValidationEmails) != 5 {
		t.Fatalf("email validation %+v", v)
	}
	_, err = e.client.RequestCertificate(ctx, &sdk.RequestCertificateInput{DomainName: aws.String("shop.example.org"),
		DomainValidationOptions: []types.DomainValidationOption{{DomainName: aws.String("shop.example.org"), ValidationDomain: aws.String("other.org")}}})
	gatewaytest.WantError(t, err, "InvalidDomainValidationOptionsException", "")

	// EC keys as asked.
	ecARN := e.request(&sdk.RequestCertificateInput{DomainName: aws.String("ec.example.com"), ValidationMethod: types.ValidationMethodDns,
		KeyAlgorithm: types.KeyAlgorithmEcSecp384r1})
	ec := e.describe(ecARN)
	if ec.KeyAlgorithm != "EC-secp384r1" || len(ec.KeyUsages) != 1 {
		t.Fatalf("EC: %s %+v", ec.KeyAlgorithm, ec.KeyUsages)
	}

	// Another region has its own certificates.
	_, err = e.client.DescribeCertificate(ctx, &sdk.DescribeCertificateInput{CertificateArn: &arn}, func(o *sdk.Options) { o.Region = "eu-west-1" })
	gatewaytest.WantError(t, err, "ResourceNotFoundException", "Could not find certificate "+arn+".")
}

func TestRequestIdempotency(t *testing.T) {
	e := newTestEnv(t)
	in := func(names ...string) *sdk.RequestCertificateInput {
		return &sdk.RequestCertificateInput{DomainName: aws.String("api.example.com"), SubjectAlternativeNames: names,
			ValidationMethod: types.ValidationMethodDns, IdempotencyToken: aws.String("deploy42")}
	}
	first := e.request(in())
	if again := e.request(in()); again != first {
		t.Fatalf("the same request again made %s, want %s", again, first)
	}
	other := e.request(in("www.example.com"))
	if other == first {
		t.Fatal("other arguments under the token gave the same certificate")
	}
	without := &sdk.RequestCertificateInput{DomainName: aws.String("api.example.com"), ValidationMethod: types.ValidationMethodDns}
	if a, b := e.request(without), e.request(without); a == b {
		t.Fatal("two requests without a token gave one certificate")
	}
	// Tokens last an hour.
	e.clock = e.clock.Add(61 * time.Minute)
	later := e.request(in())
	if later == first {
		t.Fatal("an expired token gave the same certificate")
	}
	if again := e.request(in()); again != later {
		t.Fatalf("a renewed token gave %s, want %s", again, later)
	}
	// Deleting the certificate removes the token record it holds, and
	// leaves the one another certificate holds.
	if _, err := e.client.DeleteCertificate(context.Background(), &sdk.DeleteCertificateInput{CertificateArn: &first}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.DeleteCertificate(context.Background(), &sdk.DeleteCertificateInput{CertificateArn: &later}); err != nil {
		t.Fatal(err)
	}
	tokens, _, err := e.store.List(context.Background(), acmstate.TokenPrefix, store.ListOptions{})
	if err != nil || len(tokens) != 1 {
		t.Fatalf("token records left: %d %v", len(tokens), err)
	}
}

func TestRequestRefused(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name        string
		in          *sdk.RequestCertificateInput
		code, msgIn string
	}{
		{"one label", &sdk.RequestCertificateInput{DomainName: aws.String("localhost")}, "ValidationException",
			"1 validation error detected: Value 'localhost' at 'domainName' failed to satisfy constraint: Member must satisfy regular expression pattern: " + domainPattern},
		{"bad SAN", &sdk.RequestCertificateInput{DomainName: aws.String("a.example.com"), SubjectAlternativeNames: []string{"ok.example.com", "-bad.example.com"}},
			"ValidationException", "Value '[ok.example.com, -bad.example.com]' at 'subjectAlternativeNames' failed to satisfy constraint: Member must satisfy constraint: ["},
		{"long first name", &sdk.RequestCertificateInput{DomainName: aws.String(strings.Repeat("a", 60) + ".example.com")},
			"InvalidDomainValidationOptionsException", "The first domain name can be no longer than 64 characters."},
		{"key algorithm", &sdk.RequestCertificateInput{DomainName: aws.String("a.example.com"), KeyAlgorithm: types.KeyAlgorithmRsa4096},
			"ValidationException", "[RSA_2048, EC_prime256v1, EC_secp384r1]"},
		{"private CA", &sdk.RequestCertificateInput{DomainName: aws.String("a.example.com"),
			CertificateAuthorityArn: aws.String("arn:aws:acm-pca:us-east-1:123456789012:certificate-authority/12345678-1234-1234-1234-123456789012")},
			"ValidationException", "berth does not support private certificates yet."},
		{"HTTP validation", &sdk.RequestCertificateInput{DomainName: aws.String("a.example.com"), ValidationMethod: types.ValidationMethodHttp},
			"ValidationException", "berth does not support HTTP validation yet."},
		{"reserved tag", &sdk.RequestCertificateInput{DomainName: aws.String("a.example.com"), Tags: []types.Tag{{Key: aws.String("aws:x"), Value: aws.String("v")}}},
			"InvalidTagException", "aws:x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.client.RequestCertificate(ctx, tc.in)
			gatewaytest.WantError(t, err, tc.code, "")
			if !strings.Contains(err.Error(), tc.msgIn) {
				t.Fatalf("%v, want %q in the message", err, tc.msgIn)
			}
		})
	}
}

// selfMade is a certificate made outside berth, as a user imports one.
type selfMade struct {
	certPEM, keyPEM, chainPEM []byte
	key                       crypto.Signer
}

// makeCert makes a certificate for names, signed by parent (self-signed
// when nil) and valid from notBefore to notAfter.
func makeCert(t *testing.T, names []string, key crypto.Signer, parent *selfMade, notBefore, notAfter time.Time, isCA bool) *selfMade {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: names[0], Organization: []string{"Example Corp"}},
		DNSNames:     names, NotBefore: notBefore, NotAfter: notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true, IsCA: isCA,
	}
	issuer, signer := tmpl, key
	if parent != nil {
		issuer, signer = parseCerts(t, string(parent.certPEM))[0], parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, issuer, key.Public(), signer)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	out := &selfMade{certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyPEM: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), key: key}
	if parent != nil {
		out.chainPEM = parent.certPEM
	}
	return out
}

func rsaKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func ecKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestImport(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	from, to := e.clock.Add(-time.Hour), e.clock.Add(90*24*time.Hour)
	corpCA := makeCert(t, []string{"Example Corp CA"}, ecKey(t), nil, from, to.Add(time.Hour), true)
	leaf := makeCert(t, []string{"www.example.com", "example.com"}, rsaKey(t), corpCA, from, to, false)

	out, err := e.client.ImportCertificate(ctx, &sdk.ImportCertificateInput{Certificate: leaf.certPEM, PrivateKey: leaf.keyPEM,
		CertificateChain: leaf.chainPEM, Tags: []types.Tag{{Key: aws.String("source"), Value: aws.String("corp")}}})
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(out.CertificateArn)
	d := e.describe(arn)
	if d.Type != types.CertificateTypeImported || aws.ToString(d.DomainName) != "www.example.com" ||
		!slices.Equal(d.SubjectAlternativeNames, []string{"www.example.com", "example.com"}) || d.KeyAlgorithm != "RSA-2048" ||
		aws.ToString(d.Issuer) != "Example Corp" || aws.ToString(d.Subject) != "O=Example Corp,CN=www.example.com" ||
		!d.ImportedAt.Equal(e.clock) || d.IssuedAt != nil || d.DomainValidationOptions != nil || aws.ToString(d.SignatureAlgorithm) != "SHA256WITHECDSA" ||
		!d.NotAfter.Equal(to.Truncate(time.Second)) || len(d.ExtendedKeyUsages) != 2 {
		t.Fatalf("describe: %+v", d)
	}
	got, err := e.client.GetCertificate(ctx, &sdk.GetCertificateInput{CertificateArn: &arn})
	if err != nil || aws.ToString(got.Certificate) != string(leaf.certPEM) || aws.ToString(got.CertificateChain) != string(corpCA.certPEM) {
		t.Fatalf("get: %v %+v", err, got)
	}

	// A re-import keeps the ARN and the tags.
	e.clock = e.clock.Add(time.Minute)
	next := makeCert(t, []string{"www.example.com"}, ecKey(t), nil, from, to, false)
	re, err := e.client.ImportCertificate(ctx, &sdk.ImportCertificateInput{CertificateArn: &arn, Certificate: next.certPEM, PrivateKey: next.keyPEM})
	if err != nil || aws.ToString(re.CertificateArn) != arn {
		t.Fatalf("re-import: %v %+v", err, re)
	}
	d = e.describe(arn)
	if d.KeyAlgorithm != "EC-prime256v1" || !d.ImportedAt.Equal(e.clock) || !slices.Equal(d.SubjectAlternativeNames, []string{"www.example.com"}) {
		t.Fatalf("after re-import: %+v", d)
	}
	got, err = e.client.GetCertificate(ctx, &sdk.GetCertificateInput{CertificateArn: &arn})
	if err != nil || got.CertificateChain != nil {
		t.Fatalf("get after re-import: %v %+v", err, got)
	}
	tags, err := e.client.ListTagsForCertificate(ctx, &sdk.ListTagsForCertificateInput{CertificateArn: &arn})
	if err != nil || len(tags.Tags) != 1 {
		t.Fatalf("tags: %v %+v", err, tags)
	}
	// The key the load balancers serve is the new one.
	pair, err := acmstate.LoadKeyPair(ctx, e.store, e.box, testRegion, arn)
	if err != nil || !pair.PrivateKey.(crypto.Signer).Public().(*ecdsa.PublicKey).Equal(next.key.Public()) {
		t.Fatalf("key pair: %v", err)
	}

	issued := e.request(&sdk.RequestCertificateInput{DomainName: aws.String("a.example.com"), ValidationMethod: types.ValidationMethodDns})
	missing := acmstate.ARN(testRegion, testAccount, "00000000-0000-0000-0000-000000000000")
	expired := makeCert(t, []string{"old.example.com"}, ecKey(t), nil, from.Add(-48*time.Hour), from, false)
	twoCerts := append(append([]byte{}, leaf.certPEM...), corpCA.certPEM...)
	for _, tc := range []struct {
		name string
		in   *sdk.ImportCertificateInput
		code string
		msg  string
	}{
		{"key of another certificate", &sdk.ImportCertificateInput{Certificate: leaf.certPEM, PrivateKey: next.keyPEM}, "ValidationException",
			"The private key does not match the public key in the certificate."},
		{"two certificates", &sdk.ImportCertificateInput{Certificate: twoCerts, PrivateKey: leaf.keyPEM}, "ValidationException",
			"The certificate field contains more than one certificate. You can specify only one certificate in this field."},
		{"expired", &sdk.ImportCertificateInput{Certificate: expired.certPEM, PrivateKey: expired.keyPEM}, "ValidationException", ""},
		{"not a key", &sdk.ImportCertificateInput{Certificate: leaf.certPEM, PrivateKey: []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")},
			"ValidationException", "The private key is not PEM-encoded or is not valid."},
		{"not the chain", &sdk.ImportCertificateInput{Certificate: leaf.certPEM, PrivateKey: leaf.keyPEM, CertificateChain: next.certPEM},
			"ValidationException", "Could not validate the certificate with the certificate chain."},
		{"tags on a re-import", &sdk.ImportCertificateInput{CertificateArn: &arn, Certificate: next.certPEM, PrivateKey: next.keyPEM,
			Tags: []types.Tag{{Key: aws.String("k")}}}, "InvalidParameterException", "You cannot apply tags when reimporting a certificate."},
		{"re-import of an issued certificate", &sdk.ImportCertificateInput{CertificateArn: &issued, Certificate: next.certPEM, PrivateKey: next.keyPEM},
			"ValidationException", ""},
		{"re-import of nothing", &sdk.ImportCertificateInput{CertificateArn: &missing, Certificate: next.certPEM, PrivateKey: next.keyPEM},
			"ResourceNotFoundException", "Could not find certificate " + missing + "."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.client.ImportCertificate(ctx, tc.in)
			gatewaytest.WantError(t, err, tc.code, tc.msg)
			if key := string(tc.in.PrivateKey); strings.Contains(err.Error(), key) {
				t.Fatal("the error shows the key")
			}
		})
	}
}

func TestDeleteInUse(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	arn := e.request(&sdk.RequestCertificateInput{DomainName: aws.String("api.example.com"), ValidationMethod: types.ValidationMethodDns})
	if err := acmstate.MarkInUse(ctx, e.store, testRegion, arn, lbARN, true); err != nil {
		t.Fatal(err)
	}
	_, err := e.client.DeleteCertificate(ctx, &sdk.DeleteCertificateInput{CertificateArn: &arn})
	gatewaytest.WantError(t, err, "ResourceInUseException", "Certificate "+arn+" in account 123456789012 is in use.")
	d := e.describe(arn)
	if !slices.Equal(d.InUseBy, []string{lbARN}) || d.RenewalEligibility != types.RenewalEligibilityEligible {
		t.Fatalf("in use: %+v %s", d.InUseBy, d.RenewalEligibility)
	}
	list, err := e.client.ListCertificates(ctx, &sdk.ListCertificatesInput{})
	if err != nil || len(list.CertificateSummaryList) != 1 || !aws.ToBool(list.CertificateSummaryList[0].InUse) {
		t.Fatalf("list: %v %+v", err, list)
	}
	if err := acmstate.MarkInUse(ctx, e.store, testRegion, arn, lbARN, false); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.DeleteCertificate(ctx, &sdk.DeleteCertificateInput{CertificateArn: &arn}); err != nil {
		t.Fatal(err)
	}
	for _, call := range []func() error{
		func() error {
			_, err := e.client.DescribeCertificate(ctx, &sdk.DescribeCertificateInput{CertificateArn: &arn})
			return err
		},
		func() error {
			_, err := e.client.GetCertificate(ctx, &sdk.GetCertificateInput{CertificateArn: &arn})
			return err
		},
		func() error {
			_, err := e.client.DeleteCertificate(ctx, &sdk.DeleteCertificateInput{CertificateArn: &arn})
			return err
		},
	} {
		gatewaytest.WantError(t, call(), "ResourceNotFoundException", "Could not find certificate "+arn+".")
	}
	if err := acmstate.MarkInUse(ctx, e.store, testRegion, arn, lbARN, true); err == nil {
		t.Fatal("recorded a use of a deleted certificate")
	}
}

func TestTags(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	arn := e.request(&sdk.RequestCertificateInput{DomainName: aws.String("api.example.com"), ValidationMethod: types.ValidationMethodDns,
		Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("web")}}})
	list := func() []string {
		t.Helper()
		out, err := e.client.ListTagsForCertificate(ctx, &sdk.ListTagsForCertificateInput{CertificateArn: &arn})
		if err != nil {
			t.Fatal(err)
		}
		var tags []string
		for _, tag := range out.Tags {
			s := aws.ToString(tag.Key)
			if tag.Value != nil {
				s += "=" + *tag.Value
			}
			tags = append(tags, s)
		}
		return tags
	}
	if _, err := e.client.AddTagsToCertificate(ctx, &sdk.AddTagsToCertificateInput{CertificateArn: &arn, Tags: []types.Tag{
		{Key: aws.String("team"), Value: aws.String("api")}, {Key: aws.String("env"), Value: aws.String("prod")}, {Key: aws.String("flag")}}}); err != nil {
		t.Fatal(err)
	}
	if got := list(); !slices.Equal(got, []string{"team=api", "env=prod", "flag"}) {
		t.Fatalf("tags %v", got)
	}
	// A value names the tag only if it has it; a key alone names it.
	if _, err := e.client.RemoveTagsFromCertificate(ctx, &sdk.RemoveTagsFromCertificateInput{CertificateArn: &arn, Tags: []types.Tag{
		{Key: aws.String("team"), Value: aws.String("web")}, {Key: aws.String("env")}}}); err != nil {
		t.Fatal(err)
	}
	if got := list(); !slices.Equal(got, []string{"team=api", "flag"}) {
		t.Fatalf("tags after removal %v", got)
	}
	_, err := e.client.AddTagsToCertificate(ctx, &sdk.AddTagsToCertificateInput{CertificateArn: &arn, Tags: []types.Tag{{Key: aws.String("aws:cloudformation:stack-name"), Value: aws.String("x")}}})
	gatewaytest.WantError(t, err, "InvalidTagException", "")
	var many []types.Tag
	for i := range 49 {
		many = append(many, types.Tag{Key: aws.String(strings.Repeat("k", i+1)), Value: aws.String("v")})
	}
	_, err = e.client.AddTagsToCertificate(ctx, &sdk.AddTagsToCertificateInput{CertificateArn: &arn, Tags: many})
	gatewaytest.WantError(t, err, "TooManyTagsException", "")
	if got := list(); len(got) != 2 {
		t.Fatalf("a refused call changed the tags: %v", got)
	}
	_, err = e.client.AddTagsToCertificate(ctx, &sdk.AddTagsToCertificateInput{CertificateArn: aws.String("arn:aws:acm:us-east-1:123456789012:widget/x"),
		Tags: []types.Tag{{Key: aws.String("k")}}})
	gatewaytest.WantError(t, err, "InvalidArnException", "")
}

func TestListCertificates(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	var rsaARNs []string
	for _, name := range []string{"a.example.com", "b.example.com", "c.example.com"} {
		e.clock = e.clock.Add(time.Second)
		rsaARNs = append(rsaARNs, e.request(&sdk.RequestCertificateInput{DomainName: aws.String(name), ValidationMethod: types.ValidationMethodDns}))
	}
	ecARN := e.request(&sdk.RequestCertificateInput{DomainName: aws.String("ec.example.com"), ValidationMethod: types.ValidationMethodDns,
		KeyAlgorithm: types.KeyAlgorithmEcPrime256v1})
	e.clock = e.clock.Add(time.Second)
	now := e.clock
	self := makeCert(t, []string{"client.example.com"}, rsaKey(t), nil, now.Add(-time.Hour), now.Add(24*time.Hour), false)
	imp, err := e.client.ImportCertificate(ctx, &sdk.ImportCertificateInput{Certificate: self.certPEM, PrivateKey: self.keyPEM})
	if err != nil {
		t.Fatal(err)
	}
	importedARN := aws.ToString(imp.CertificateArn)
	arns := func(in *sdk.ListCertificatesInput) []string {
		t.Helper()
		var out []string
		p := sdk.NewListCertificatesPaginator(e.client, in)
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range page.CertificateSummaryList {
				out = append(out, aws.ToString(s.CertificateArn))
			}
		}
		return out
	}
	// By default RSA 1024 and 2048 only, oldest first; pages of two.
	all := append(slices.Clone(rsaARNs), importedARN)
	if got := arns(&sdk.ListCertificatesInput{MaxItems: aws.Int32(2)}); !slices.Equal(got, all) {
		t.Fatalf("default list %v, want %v", got, all)
	}
	desc := slices.Clone(all)
	slices.Reverse(desc)
	if got := arns(&sdk.ListCertificatesInput{SortBy: types.SortByCreatedAt, SortOrder: types.SortOrderDescending, MaxItems: aws.Int32(1)}); !slices.Equal(got, desc) {
		t.Fatalf("descending %v, want %v", got, desc)
	}
	if got := arns(&sdk.ListCertificatesInput{Includes: &types.Filters{KeyTypes: []types.KeyAlgorithm{types.KeyAlgorithmEcPrime256v1}}}); !slices.Equal(got, []string{ecARN}) {
		t.Fatalf("EC %v", got)
	}
	// Only the imported certificate allows client authentication.
	if got := arns(&sdk.ListCertificatesInput{Includes: &types.Filters{ExtendedKeyUsage: []types.ExtendedKeyUsageName{types.ExtendedKeyUsageNameTlsWebClientAuthentication}}}); !slices.Equal(got, []string{importedARN}) {
		t.Fatalf("client auth %v", got)
	}
	// A day later the imported certificate has expired.
	e.clock = e.clock.Add(25 * time.Hour)
	if got := arns(&sdk.ListCertificatesInput{CertificateStatuses: []types.CertificateStatus{types.CertificateStatusExpired}}); !slices.Equal(got, []string{importedARN}) {
		t.Fatalf("expired %v", got)
	}
	if got := arns(&sdk.ListCertificatesInput{CertificateStatuses: []types.CertificateStatus{types.CertificateStatusIssued}}); !slices.Equal(got, rsaARNs) {
		t.Fatalf("issued %v", got)
	}
	out, err := e.client.ListCertificates(ctx, &sdk.ListCertificatesInput{MaxItems: aws.Int32(1)})
	if err != nil {
		t.Fatal(err)
	}
	s := out.CertificateSummaryList[0]
	if aws.ToString(s.DomainName) != "a.example.com" || !slices.Equal(s.SubjectAlternativeNameSummaries, []string{"a.example.com"}) ||
		aws.ToBool(s.HasAdditionalSubjectAlternativeNames) || s.Status != types.CertificateStatusIssued || s.Type != types.CertificateTypeAmazonIssued ||
		s.KeyAlgorithm != "RSA-2048" || aws.ToBool(s.InUse) || s.CreatedAt == nil || s.IssuedAt == nil || s.NotAfter == nil ||
		!slices.Equal(s.ExtendedKeyUsages, []types.ExtendedKeyUsageName{types.ExtendedKeyUsageNameTlsWebServerAuthentication}) || out.NextToken == nil {
		t.Fatalf("summary %+v", s)
	}
	_, err = e.client.ListCertificates(ctx, &sdk.ListCertificatesInput{NextToken: aws.String("garbage")})
	gatewaytest.WantError(t, err, "InvalidArgsException", "")
	_, err = e.client.ListCertificates(ctx, &sdk.ListCertificatesInput{SortBy: types.SortByCreatedAt})
	gatewaytest.WantError(t, err, "ValidationException", "")
}

func TestRenewExportAndOptions(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	arn := e.request(&sdk.RequestCertificateInput{DomainName: aws.String("api.example.com"), ValidationMethod: types.ValidationMethodDns})
	before := e.describe(arn)
	e.clock = e.clock.Add(48 * time.Hour)
	if _, err := e.client.RenewCertificate(ctx, &sdk.RenewCertificateInput{CertificateArn: &arn}); err != nil {
		t.Fatal(err)
	}
	after := e.describe(arn)
	if aws.ToString(after.Serial) == aws.ToString(before.Serial) || !after.NotBefore.After(*before.NotBefore) || after.RenewalSummary == nil ||
		after.RenewalSummary.RenewalStatus != types.RenewalStatusSuccess || !after.RenewalSummary.UpdatedAt.Equal(e.clock) || !after.CreatedAt.Equal(*before.CreatedAt) {
		t.Fatalf("renewed: %+v", after)
	}

	_, err := e.client.ExportCertificate(ctx, &sdk.ExportCertificateInput{CertificateArn: &arn, Passphrase: []byte("secret-pass")})
	gatewaytest.WantError(t, err, "ValidationException", "Certificate ARN: "+arn+" is not a private certificate")
	_, err = e.client.ResendValidationEmail(ctx, &sdk.ResendValidationEmailInput{CertificateArn: &arn, Domain: aws.String("api.example.com"), ValidationDomain: aws.String("example.com")})
	gatewaytest.WantError(t, err, "InvalidStateException", "")
	_, err = e.client.RevokeCertificate(ctx, &sdk.RevokeCertificateInput{CertificateArn: &arn, RevocationReason: types.RevocationReasonKeyCompromise})
	gatewaytest.WantError(t, err, "ValidationException", "berth does not support RevokeCertificate yet.")

	//lint:ignore SA1019 berth's ACM model still has the preference, and serves it.
	opts := &types.CertificateOptions{CertificateTransparencyLoggingPreference: types.CertificateTransparencyLoggingPreferenceDisabled}
	if _, err := e.client.UpdateCertificateOptions(ctx, &sdk.UpdateCertificateOptionsInput{CertificateArn: &arn, Options: opts}); err != nil {
		t.Fatal(err)
	}
	d := e.describe(arn)
	//lint:ignore SA1019 berth's ACM model still has the preference, and serves it.
	if d.Options.CertificateTransparencyLoggingPreference != types.CertificateTransparencyLoggingPreferenceDisabled {
		t.Fatalf("options %+v", d.Options)
	}
	_, err = e.client.UpdateCertificateOptions(ctx, &sdk.UpdateCertificateOptionsInput{CertificateArn: &arn,
		Options: &types.CertificateOptions{Export: types.CertificateExportEnabled}})
	gatewaytest.WantError(t, err, "ValidationException", "You cannot update the value of Export after the certificate is created.")

	self := makeCert(t, []string{"x.example.com"}, ecKey(t), nil, e.clock.Add(-time.Hour), e.clock.Add(time.Hour), false)
	imp, err := e.client.ImportCertificate(ctx, &sdk.ImportCertificateInput{Certificate: self.certPEM, PrivateKey: self.keyPEM})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.client.RenewCertificate(ctx, &sdk.RenewCertificateInput{CertificateArn: imp.CertificateArn})
	gatewaytest.WantError(t, err, "ValidationException", "")
}

func TestAccountConfiguration(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	days := func() int32 {
		t.Helper()
		out, err := e.client.GetAccountConfiguration(ctx, &sdk.GetAccountConfigurationInput{})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToInt32(out.ExpiryEvents.DaysBeforeExpiry)
	}
	if d := days(); d != 45 {
		t.Fatalf("default %d", d)
	}
	put := func(token string, d int32) error {
		_, err := e.client.PutAccountConfiguration(ctx, &sdk.PutAccountConfigurationInput{IdempotencyToken: &token,
			ExpiryEvents: &types.ExpiryEventsConfiguration{DaysBeforeExpiry: &d}})
		return err
	}
	if err := put("t1", 30); err != nil || days() != 30 {
		t.Fatalf("put: %v %d", err, days())
	}
	// The same token repeats the first call.
	if err := put("t1", 10); err != nil || days() != 30 {
		t.Fatalf("repeated token: %v %d", err, days())
	}
	gatewaytest.WantError(t, put("t2", 46), "ValidationException", "")
	if err := put("t2", 10); err != nil || days() != 10 {
		t.Fatalf("another token: %v %d", err, days())
	}
}
