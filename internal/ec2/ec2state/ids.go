package ec2state

import (
	"crypto/rand"
	"encoding/hex"
	"strings"
)

// Id prefixes of EC2 resources.
const (
	VPCIDPrefix         = "vpc-"
	SubnetIDPrefix      = "subnet-"
	GroupIDPrefix       = "sg-"
	RuleIDPrefix        = "sgr-"
	InterfaceIDPrefix   = "eni-"
	CIDRAssocIDPrefix   = "vpc-cidr-assoc-"
	DHCPOptionsIDPrefix = "dopt-"
)

// NewID returns a new id: prefix and 17 random lower-case hex digits, as
// EC2's long ids are.
func NewID(prefix string) string {
	var b [9]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand, Go 1.24+)
	return prefix + hex.EncodeToString(b[:])[:17]
}

// ValidID reports whether id has prefix and EC2's short (8) or long (17)
// lower-case hex form.
func ValidID(id, prefix string) bool {
	rest, ok := strings.CutPrefix(id, prefix)
	if !ok || (len(rest) != 8 && len(rest) != 17) {
		return false
	}
	for _, c := range rest {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// MAC returns the locally administered MAC address of an interface,
// derived from its id so that it stays the same wherever it is made.
func MAC(interfaceID string) string {
	rest := strings.TrimPrefix(interfaceID, InterfaceIDPrefix)
	b, err := hex.DecodeString(rest[:min(len(rest), 16)&^1])
	var mac [6]byte
	mac[0] = 0x02 // locally administered, unicast
	if err == nil {
		copy(mac[1:], b)
	}
	parts := make([]string, len(mac))
	for i, x := range mac {
		parts[i] = hex.EncodeToString([]byte{x})
	}
	return strings.Join(parts, ":")
}
