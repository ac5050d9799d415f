package acm

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/berth/berth/internal/acm/acmstate"
	"github.com/berth/berth/internal/acm/acmtypes"
	"github.com/berth/berth/internal/awsapi"
)

// keyAlgorithmOf is ACM's name of a public key's algorithm, "" for one ACM
// does not take.
func keyAlgorithmOf(pub any) string {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		switch bits := k.N.BitLen(); bits {
		case 1024, 2048, 3072, 4096:
			return fmt.Sprintf("RSA_%d", bits)
		}
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return acmtypes.KeyAlgorithmEcPrime256v1
		case elliptic.P384():
			return acmtypes.KeyAlgorithmEcSecp384r1
		case elliptic.P521():
			return acmtypes.KeyAlgorithmEcSecp521r1
		}
	}
	return ""
}

// keyAlgorithmShown is a key algorithm as DescribeCertificate and
// ListCertificates show it: "RSA-2048", "EC-prime256v1", with a hyphen
// where the KeyAlgorithm enum (and so the requests) has an underscore.
// OBSERVED of DescribeCertificate (the aws CLI's example, Terraform's
// provider undoes it); UNVERIFIED of ListCertificates.
func keyAlgorithmShown(alg string) string { return strings.Replace(alg, "_", "-", 1) }

// signatureAlgorithms are ACM's names of signature algorithms.
var signatureAlgorithms = map[x509.SignatureAlgorithm]string{
	x509.SHA1WithRSA:      "SHA1WITHRSA",
	x509.SHA256WithRSA:    "SHA256WITHRSA",
	x509.SHA384WithRSA:    "SHA384WITHRSA",
	x509.SHA512WithRSA:    "SHA512WITHRSA",
	x509.ECDSAWithSHA1:    "SHA1WITHECDSA",
	x509.ECDSAWithSHA256:  "SHA256WITHECDSA",
	x509.ECDSAWithSHA384:  "SHA384WITHECDSA",
	x509.ECDSAWithSHA512:  "SHA512WITHECDSA",
	x509.SHA256WithRSAPSS: "SHA256WITHRSAANDMGF1", // UNVERIFIED
	x509.SHA384WithRSAPSS: "SHA384WITHRSAANDMGF1", // UNVERIFIED
	x509.SHA512WithRSAPSS: "SHA512WITHRSAANDMGF1", // UNVERIFIED
}

// keyUsages are ACM's names of the key usage bits.
var keyUsages = []struct {
	bit  x509.KeyUsage
	name string
}{
	{x509.KeyUsageDigitalSignature, acmtypes.KeyUsageNameDigitalSignature},
	{x509.KeyUsageContentCommitment, acmtypes.KeyUsageNameNonRepudiation},
	{x509.KeyUsageKeyEncipherment, acmtypes.KeyUsageNameKeyEncipherment},
	{x509.KeyUsageDataEncipherment, acmtypes.KeyUsageNameDataEncipherment},
	{x509.KeyUsageKeyAgreement, acmtypes.KeyUsageNameKeyAgreement},
	{x509.KeyUsageCertSign, acmtypes.KeyUsageNameCertificateSigning},
	{x509.KeyUsageCRLSign, acmtypes.KeyUsageNameCrlSigning},
	{x509.KeyUsageEncipherOnly, acmtypes.KeyUsageNameEncipherOnly},
	{x509.KeyUsageDecipherOnly, acmtypes.KeyUsageNameDecipherOnly},
}

// extKeyUsages are ACM's names and the OIDs of the extended key usages.
var extKeyUsages = map[x509.ExtKeyUsage]acmstate.ExtendedKeyUsage{
	x509.ExtKeyUsageServerAuth:      {Name: acmtypes.ExtendedKeyUsageNameTlsWebServerAuthentication, OID: "1.3.6.1.5.5.7.3.1"},
	x509.ExtKeyUsageClientAuth:      {Name: acmtypes.ExtendedKeyUsageNameTlsWebClientAuthentication, OID: "1.3.6.1.5.5.7.3.2"},
	x509.ExtKeyUsageCodeSigning:     {Name: acmtypes.ExtendedKeyUsageNameCodeSigning, OID: "1.3.6.1.5.5.7.3.3"},
	x509.ExtKeyUsageEmailProtection: {Name: acmtypes.ExtendedKeyUsageNameEmailProtection, OID: "1.3.6.1.5.5.7.3.4"},
	x509.ExtKeyUsageIPSECEndSystem:  {Name: acmtypes.ExtendedKeyUsageNameIpsecEndSystem, OID: "1.3.6.1.5.5.7.3.5"},
	x509.ExtKeyUsageIPSECTunnel:     {Name: acmtypes.ExtendedKeyUsageNameIpsecTunnel, OID: "1.3.6.1.5.5.7.3.6"},
	x509.ExtKeyUsageIPSECUser:       {Name: acmtypes.ExtendedKeyUsageNameIpsecUser, OID: "1.3.6.1.5.5.7.3.7"},
	x509.ExtKeyUsageTimeStamping:    {Name: acmtypes.ExtendedKeyUsageNameTimeStamping, OID: "1.3.6.1.5.5.7.3.8"},
	x509.ExtKeyUsageOCSPSigning:     {Name: acmtypes.ExtendedKeyUsageNameOcspSigning, OID: "1.3.6.1.5.5.7.3.9"},
	x509.ExtKeyUsageAny:             {Name: acmtypes.ExtendedKeyUsageNameAny, OID: "2.5.29.37.0"},
}

// setX509 records in cert what c, its certificate, says.
func setX509(cert *acmstate.Certificate, c *x509.Certificate) {
	serial := c.SerialNumber.Bytes()
	hexes := make([]string, len(serial))
	for i, b := range serial {
		hexes[i] = hex.EncodeToString([]byte{b})
	}
	cert.Serial = strings.Join(hexes, ":")
	cert.Subject = distinguishedName(c.Subject.ToRDNSequence())
	// UNVERIFIED: ACM shows the issuer's organization ("Amazon"), and its
	// common name when it has none.
	cert.Issuer = c.Issuer.CommonName
	if len(c.Issuer.Organization) > 0 {
		cert.Issuer = c.Issuer.Organization[0]
	}
	cert.SignatureAlgorithm = signatureAlgorithms[c.SignatureAlgorithm]
	if cert.SignatureAlgorithm == "" {
		cert.SignatureAlgorithm = strings.ToUpper(c.SignatureAlgorithm.String())
	}
	cert.KeyUsages = nil
	for _, u := range keyUsages {
		if c.KeyUsage&u.bit != 0 {
			cert.KeyUsages = append(cert.KeyUsages, u.name)
		}
	}
	cert.ExtendedKeyUsages = nil
	for _, u := range c.ExtKeyUsage {
		if eku, ok := extKeyUsages[u]; ok {
			cert.ExtendedKeyUsages = append(cert.ExtendedKeyUsages, eku)
		}
	}
	for _, oid := range c.UnknownExtKeyUsage {
		cert.ExtendedKeyUsages = append(cert.ExtendedKeyUsages, acmstate.ExtendedKeyUsage{Name: acmtypes.ExtendedKeyUsageNameCustom, OID: oid.String()})
	}
	cert.NotBefore, cert.NotAfter = c.NotBefore.UTC(), c.NotAfter.UTC()
}

// attributeNames are the short names of the usual subject attributes.
var attributeNames = map[string]string{
	"2.5.4.3": "CN", "2.5.4.6": "C", "2.5.4.7": "L", "2.5.4.8": "ST", "2.5.4.10": "O", "2.5.4.11": "OU",
	"2.5.4.5": "SERIALNUMBER", "2.5.4.9": "STREET", "2.5.4.17": "POSTALCODE", "0.9.2342.19200300.100.1.25": "DC",
	"1.2.840.113549.1.9.1": "EMAILADDRESS",
}

// distinguishedName shows a name as ACM's Subject does ("CN=www.example.com"),
// its attributes in the certificate's order. UNVERIFIED: the order and
// separator of a name of several attributes.
func distinguishedName(rdns pkix.RDNSequence) string {
	var parts []string
	for _, rdn := range rdns {
		for _, atv := range rdn {
			name := attributeNames[atv.Type.String()]
			if name == "" {
				name = atv.Type.String()
			}
			parts = append(parts, fmt.Sprintf("%s=%v", name, atv.Value))
		}
	}
	return strings.Join(parts, ",")
}

// renewalEligibility: ACM renews the certificates it issued while they
// are in use.
func renewalEligibility(cert acmstate.Certificate) string {
	if cert.Type == acmstate.TypeAmazonIssued && len(cert.InUseBy) > 0 {
		return acmtypes.RenewalEligibilityEligible
	}
	return acmtypes.RenewalEligibilityIneligible
}

// detail is the certificate as DescribeCertificate shows it at now.
func detail(cert acmstate.Certificate, now time.Time) *acmtypes.CertificateDetail {
	d := &acmtypes.CertificateDetail{
		CertificateArn:          awsapi.String(cert.ARN),
		DomainName:              awsapi.String(cert.DomainName),
		SubjectAlternativeNames: cert.SubjectAlternativeNames,
		DomainValidationOptions: domainValidations(cert),
		Serial:                  awsapi.String(cert.Serial),
		Subject:                 awsapi.String(cert.Subject),
		Issuer:                  awsapi.String(cert.Issuer),
		CreatedAt:               awsapi.Time(cert.CreatedAt),
		IssuedAt:                awsapi.OptionalTime(cert.IssuedAt),
		ImportedAt:              awsapi.OptionalTime(cert.ImportedAt),
		Status:                  awsapi.String(cert.Status(now)),
		NotBefore:               awsapi.Time(cert.NotBefore),
		NotAfter:                awsapi.Time(cert.NotAfter),
		KeyAlgorithm:            awsapi.String(keyAlgorithmShown(cert.KeyAlgorithm)),
		SignatureAlgorithm:      awsapi.String(cert.SignatureAlgorithm),
		// ACM shows an empty list for a certificate nothing uses.
		InUseBy:            append([]string{}, cert.InUseBy...),
		Type:               awsapi.String(cert.Type),
		RenewalEligibility: awsapi.String(renewalEligibility(cert)),
		Options:            &acmtypes.CertificateOptions{CertificateTransparencyLoggingPreference: awsapi.String(cert.CTLogging)},
	}
	for _, u := range cert.KeyUsages {
		d.KeyUsages = append(d.KeyUsages, acmtypes.KeyUsage{Name: awsapi.String(u)})
	}
	for _, u := range cert.ExtendedKeyUsages {
		d.ExtendedKeyUsages = append(d.ExtendedKeyUsages, acmtypes.ExtendedKeyUsage{Name: awsapi.String(u.Name), OID: awsapi.String(u.OID)})
	}
	if !cert.RenewedAt.IsZero() {
		d.RenewalSummary = &acmtypes.RenewalSummary{
			RenewalStatus:           awsapi.String(acmtypes.RenewalStatusSuccess),
			DomainValidationOptions: d.DomainValidationOptions,
			UpdatedAt:               awsapi.Time(cert.RenewedAt),
		}
	}
	return d
}

// domainValidations are an issued certificate's DomainValidationOptions:
// every name validated.
func domainValidations(cert acmstate.Certificate) []acmtypes.DomainValidation {
	var out []acmtypes.DomainValidation
	for _, v := range cert.Validations {
		dv := acmtypes.DomainValidation{
			DomainName:       awsapi.String(v.DomainName),
			ValidationDomain: awsapi.String(v.ValidationDomain),
			ValidationStatus: awsapi.String(acmtypes.DomainStatusSuccess),
			ValidationMethod: awsapi.String(cert.ValidationMethod),
			ValidationEmails: v.Emails,
		}
		if v.RecordName != "" {
			dv.ResourceRecord = &acmtypes.ResourceRecord{Name: awsapi.String(v.RecordName),
				Type: awsapi.String(acmtypes.RecordTypeCname), Value: awsapi.String(v.RecordValue)}
		}
		out = append(out, dv)
	}
	return out
}

// maxSummaryNames is how many names a ListCertificates summary shows.
const maxSummaryNames = 100

// summary is the certificate as ListCertificates shows it at now.
func summary(cert acmstate.Certificate, now time.Time) acmtypes.CertificateSummary {
	names := cert.SubjectAlternativeNames
	more := len(names) > maxSummaryNames
	if more {
		names = names[:maxSummaryNames]
	}
	s := acmtypes.CertificateSummary{
		CertificateArn:                       awsapi.String(cert.ARN),
		DomainName:                           awsapi.String(cert.DomainName),
		SubjectAlternativeNameSummaries:      names,
		HasAdditionalSubjectAlternativeNames: awsapi.Bool(more),
		Status:                               awsapi.String(cert.Status(now)),
		Type:                                 awsapi.String(cert.Type),
		KeyAlgorithm:                         awsapi.String(keyAlgorithmShown(cert.KeyAlgorithm)),
		KeyUsages:                            cert.KeyUsages,
		InUse:                                awsapi.Bool(len(cert.InUseBy) > 0),
		RenewalEligibility:                   awsapi.String(renewalEligibility(cert)),
		NotBefore:                            awsapi.Time(cert.NotBefore),
		NotAfter:                             awsapi.Time(cert.NotAfter),
		CreatedAt:                            awsapi.Time(cert.CreatedAt),
		IssuedAt:                             awsapi.OptionalTime(cert.IssuedAt),
		ImportedAt:                           awsapi.OptionalTime(cert.ImportedAt),
	}
	for _, u := range cert.ExtendedKeyUsages {
		s.ExtendedKeyUsages = append(s.ExtendedKeyUsages, u.Name)
	}
	return s
}
