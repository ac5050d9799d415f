// Package acmstate holds AWS Certificate Manager's records in berth's
// store: certificates (with their private keys, sealed), the idempotency
// tokens of RequestCertificate, and each region's account configuration;
// and the lookups the rest of berth makes of a certificate (whether it
// exists, who uses it, its key pair for serving TLS).
//
// The layout (every key starts "acm/"). A certificate is known by its
// region and the id its ARN ends in; regions never contain '|', so '|'
// separates region and id. Each kind's prefix lists every region.
//
//	acm/certificate/<region>|<certificate id>   Certificate
//	acm/token/<region>|<digest>                 Token
//	acm/account/<region>                        Account
//
// A token record names the certificate a RequestCertificate created for
// one idempotency token and arguments (the digest); it is written with
// the certificate, and removed with it, so there is at most one per
// certificate.
package acmstate

import "strings"

const (
	Prefix            = "acm/"
	CertificatePrefix = "acm/certificate/"
	TokenPrefix       = "acm/token/"
	AccountPrefix     = "acm/account/"
)

// CertificateKey is the key of a certificate's record.
func CertificateKey(region, id string) string { return CertificatePrefix + region + "|" + id }

// RegionCertificates is the prefix of every certificate of a region.
func RegionCertificates(region string) string { return CertificatePrefix + region + "|" }

// TokenKey is the key of the token record of digest.
func TokenKey(region, digest string) string { return TokenPrefix + region + "|" + digest }

// AccountKey is the key of a region's account configuration.
func AccountKey(region string) string { return AccountPrefix + region }

// ARN is a certificate's ARN.
func ARN(region, account, id string) string {
	return "arn:aws:acm:" + region + ":" + account + ":certificate/" + id
}

// ParseARN splits a certificate's ARN,
// arn:aws:acm:<region>:<account>:certificate/<id>; ok is false for
// anything else.
func ParseARN(arn string) (region, account, id string, ok bool) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[1] != "aws" || parts[2] != "acm" || parts[3] == "" || parts[4] == "" {
		return "", "", "", false
	}
	id, ok = strings.CutPrefix(parts[5], "certificate/")
	if !ok || id == "" || strings.ContainsAny(id, "/|") {
		return "", "", "", false
	}
	return parts[3], parts[4], id, true
}
