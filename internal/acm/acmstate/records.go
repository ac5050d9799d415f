package acmstate

import "time"

// Certificate types and statuses, as ACM names them.
const (
	TypeAmazonIssued = "AMAZON_ISSUED"
	TypeImported     = "IMPORTED"

	StatusIssued  = "ISSUED"
	StatusExpired = "EXPIRED"
)

// Certificate is a certificate's record: the certificate, its chain, its
// private key (sealed), and what ACM shows of it.
type Certificate struct {
	Region string `json:"region"`
	// ID ends the ARN: a UUID new for every certificate requested or
	// imported (a re-import keeps it).
	ID  string `json:"id"`
	ARN string `json:"arn"`
	// Type is TypeAmazonIssued (issued by berth's CA) or TypeImported.
	Type string `json:"type"`
	// DomainName is the name requested, or an imported certificate's
	// common name (its first DNS name when it has none).
	DomainName              string   `json:"domainName"`
	SubjectAlternativeNames []string `json:"subjectAlternativeNames,omitempty"`
	// ValidationMethod and Validations say how each name of an issued
	// certificate was validated (at once: berth's CA issues without
	// asking).
	ValidationMethod string       `json:"validationMethod,omitempty"`
	Validations      []Validation `json:"validations,omitempty"`
	// KeyAlgorithm is ACM's name of the key's algorithm (RSA_2048,
	// EC_prime256v1, ...).
	KeyAlgorithm string `json:"keyAlgorithm"`
	// CertificatePEM is the certificate; ChainPEM the certificates above
	// it ("" for an imported certificate given without a chain).
	CertificatePEM string `json:"certificatePem"`
	ChainPEM       string `json:"chainPem,omitempty"`
	// SealedKey is the private key (PKCS #8 DER) sealed under KeyContext.
	SealedKey []byte `json:"sealedKey"`
	// What the certificate says, kept so that listing parses nothing.
	Serial             string             `json:"serial"`
	Subject            string             `json:"subject"`
	Issuer             string             `json:"issuer"`
	SignatureAlgorithm string             `json:"signatureAlgorithm"`
	KeyUsages          []string           `json:"keyUsages,omitempty"`
	ExtendedKeyUsages  []ExtendedKeyUsage `json:"extendedKeyUsages,omitempty"`
	NotBefore          time.Time          `json:"notBefore"`
	NotAfter           time.Time          `json:"notAfter"`
	// CreatedAt is when it was requested or first imported; IssuedAt
	// (issued certificates) and ImportedAt (imported ones, last import)
	// when its current certificate came.
	CreatedAt  time.Time `json:"createdAt"`
	IssuedAt   time.Time `json:"issuedAt,omitzero"`
	ImportedAt time.Time `json:"importedAt,omitzero"`
	// RenewedAt is when RenewCertificate last issued it again.
	RenewedAt time.Time `json:"renewedAt,omitzero"`
	// CTLogging is the certificate transparency logging preference
	// (ENABLED or DISABLED).
	CTLogging string `json:"ctLogging"`
	// InUseBy are the ARNs of the resources (load balancers) that use it,
	// sorted; a certificate in use cannot be deleted. See UseOps.
	InUseBy []string `json:"inUseBy,omitempty"`
	// Tags are in the order they were added.
	Tags []Tag `json:"tags,omitempty"`
	// Token is the key of the token record naming this certificate, "" for
	// none.
	Token string `json:"token,omitempty"`
}

// Validation is how one name of an issued certificate was validated.
type Validation struct {
	DomainName       string `json:"domainName"`
	ValidationDomain string `json:"validationDomain"`
	// RecordName and RecordValue are the CNAME record of DNS validation.
	RecordName  string `json:"recordName,omitempty"`
	RecordValue string `json:"recordValue,omitempty"`
	// Emails are where email validation would have written.
	Emails []string `json:"emails,omitempty"`
}

// ExtendedKeyUsage is one extended key usage of a certificate: ACM's name
// of it and its OID.
type ExtendedKeyUsage struct {
	Name string `json:"name"`
	OID  string `json:"oid"`
}

// Tag is one tag of a certificate. A nil Value is a tag without one.
type Tag struct {
	Key   string  `json:"key"`
	Value *string `json:"value,omitempty"`
}

// Token is the certificate RequestCertificate created for an idempotency
// token and its arguments; the same request again until Expires names
// it again.
type Token struct {
	ARN     string    `json:"arn"`
	Expires time.Time `json:"expires"`
}

// Account is a region's account configuration.
type Account struct {
	// DaysBeforeExpiry is when ACM would start its expiry events (0: its
	// default).
	DaysBeforeExpiry int32 `json:"daysBeforeExpiry,omitempty"`
	// Token is the idempotency token of the last change, which repeats it
	// until TokenExpires.
	Token        string    `json:"token,omitempty"`
	TokenExpires time.Time `json:"tokenExpires,omitzero"`
}

// Status is the certificate's status at now: ISSUED, or EXPIRED once
// NotAfter has passed.
func (c Certificate) Status(now time.Time) string {
	if now.After(c.NotAfter) {
		return StatusExpired
	}
	return StatusIssued
}

// KeyContext is what the private key is sealed under: the certificate's
// ARN and serial, so a sealed key copied onto another certificate's
// record, or kept beside a certificate imported over it, does not open.
func (c Certificate) KeyContext() string { return "acm/key|" + c.ARN + "|" + c.Serial }
