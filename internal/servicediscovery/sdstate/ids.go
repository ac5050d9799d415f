package sdstate

import (
	"crypto/rand"
	"strings"
)

const (
	lowerAlnum = "abcdefghijklmnopqrstuvwxyz0123456789"
	upperAlnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
)

func randomString(alphabet string, n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand, Go 1.24+)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// NewNamespaceID and NewServiceID are ids in Cloud Map's form: a prefix
// and 16 lower-case letters and digits.
func NewNamespaceID() string { return NamespaceIDPrefix + randomString(lowerAlnum, 16) }
func NewServiceID() string   { return ServiceIDPrefix + randomString(lowerAlnum, 16) }

// NewOperationID is an operation id in Cloud Map's form: 32 lower-case
// letters and digits, a hyphen, 8 more.
func NewOperationID() string {
	return randomString(lowerAlnum, 32) + "-" + randomString(lowerAlnum, 8)
}

// NewHostedZoneID is the id of the Route 53 hosted zone a DNS namespace
// comes with, in Route 53's form.
func NewHostedZoneID() string { return "Z" + randomString(upperAlnum, 20) }

// ValidID reports whether id has prefix and only lower-case letters and
// digits after it: what a namespace or service id can be.
func ValidID(id, prefix string) bool {
	rest, ok := strings.CutPrefix(id, prefix)
	if !ok || rest == "" || len(rest) > 64 {
		return false
	}
	return strings.Trim(rest, lowerAlnum) == ""
}
