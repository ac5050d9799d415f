package acm

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"github.com/berth/berth/internal/acm/acmstate"
	"github.com/berth/berth/internal/acm/acmtypes"
	"github.com/berth/berth/internal/awsapi"
)

// domainPattern is the model's DomainNameString pattern, which the
// gateway cannot check (Go's regular expressions have no lookahead), so
// validDomain does, and messages quote it.
const domainPattern = `(\*\.)?(((?!-)[A-Za-z0-9-]{0,62}[A-Za-z0-9])\.)+((?!-)[A-Za-z0-9-]{1,62}[A-Za-z0-9])`

// maxFirstDomain is RFC 5280's limit of a common name, which the first
// name of a requested certificate becomes.
const maxFirstDomain = 64

// validDomain reports whether name matches domainPattern: an optional
// "*." and at least two labels of letters, digits and hyphens, none
// beginning or ending with a hyphen, each of 1 to 63 characters, the last
// of at least 2.
func validDomain(name string) bool {
	labels := strings.Split(strings.TrimPrefix(name, "*."), ".")
	if len(labels) < 2 {
		return false
	}
	for i, l := range labels {
		if len(l) == 0 || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' || (i == len(labels)-1 && len(l) < 2) {
			return false
		}
		for _, c := range []byte(l) {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// domainConstraints are the DomainNameString rules as a list member's
// violation shows them.
const domainConstraints = "Member must satisfy constraint: [Member must have length less than or equal to 253, " +
	"Member must have length greater than or equal to 1, Member must satisfy regular expression pattern: " + domainPattern + "]"

// certificateNames checks a request's domain name and subject alternative
// names, and returns the certificate's names: the domain name first, then
// the others in the order given, each once.
func certificateNames(domain string, sans []string) ([]string, error) {
	if !validDomain(domain) {
		return nil, modelViolation("domainName", domain, "Member must satisfy regular expression pattern: "+domainPattern)
	}
	for _, san := range sans {
		if !validDomain(san) {
			return nil, modelViolation("subjectAlternativeNames", javaList(sans), domainConstraints)
		}
	}
	if len(domain) > maxFirstDomain {
		// OBSERVED: ACM's sentence.
		return nil, invalidDomainValidationOptions("The first domain name can be no longer than 64 characters.")
	}
	names := []string{domain}
	for _, san := range sans {
		if !containsFold(names, san) {
			names = append(names, san)
		}
	}
	return names, nil
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// baseDomain is the domain a name is validated for: a wildcard's parent.
func baseDomain(name string) string { return strings.ToLower(strings.TrimPrefix(name, "*.")) }

// validations describes how each name of a requested certificate was
// validated. berth's CA issues at once; the records are what ACM would
// have asked for, in its form, so that tools that create them (Terraform,
// CDK) find what they expect.
func (a *ACM) validations(method string, names []string, options []acmtypes.DomainValidationOption) ([]acmstate.Validation, error) {
	if method != acmtypes.ValidationMethodDns {
		if err := checkValidationOptions(names, options); err != nil {
			return nil, err
		}
	}
	out := make([]acmstate.Validation, len(names))
	for i, name := range names {
		v := acmstate.Validation{DomainName: name, ValidationDomain: name}
		if method == acmtypes.ValidationMethodDns {
			v.RecordName, v.RecordValue = a.dnsRecord(name)
		} else {
			v.ValidationDomain = baseDomain(name)
			for _, o := range options {
				if strings.EqualFold(awsapi.Deref(o.DomainName), name) {
					v.ValidationDomain = strings.ToLower(awsapi.Deref(o.ValidationDomain))
				}
			}
			for _, box := range []string{"admin", "administrator", "hostmaster", "postmaster", "webmaster"} {
				v.Emails = append(v.Emails, box+"@"+v.ValidationDomain)
			}
		}
		out[i] = v
	}
	return out, nil
}

// checkValidationOptions checks that each option names one of the
// certificate's names, and a validation domain that is the name's or a
// parent of it.
func checkValidationOptions(names []string, options []acmtypes.DomainValidationOption) error {
	for _, o := range options {
		name, vd := awsapi.Deref(o.DomainName), strings.ToLower(awsapi.Deref(o.ValidationDomain))
		base := baseDomain(name)
		// UNVERIFIED wording of the sentences.
		if !containsFold(names, name) {
			return invalidDomainValidationOptions("The domain %s of DomainValidationOptions is not a name of the certificate.", name)
		}
		if vd != base && !strings.HasSuffix(base, "."+vd) {
			return invalidDomainValidationOptions("The validation domain %s is not %s or a superdomain of it.", vd, name)
		}
	}
	return nil
}

// dnsRecord is the CNAME record that validates name by DNS. It depends
// only on the account and the name's base domain, as ACM's does: a
// wildcard and its parent share one, and so does every certificate of
// the account for the domain, so one record in the zone serves them all.
func (a *ACM) dnsRecord(name string) (recordName, value string) {
	base := baseDomain(name)
	label := func(purpose string) []byte {
		sum := sha256.Sum256([]byte(purpose + "|" + a.account + "|" + base))
		return sum[:]
	}
	host := label("value-host")
	letters := make([]byte, 10)
	for i := range letters {
		letters[i] = 'a' + host[i]%26
	}
	return "_" + hex.EncodeToString(label("name")[:16]) + "." + base + ".",
		"_" + hex.EncodeToString(label("value")[:16]) + "." + string(letters) + ".acm-validations.aws."
}
