// Package ec2state holds berth's EC2 networking records in the store: VPCs,
// subnets, security groups and network interfaces (the ENIs of awsvpc
// tasks and of load balancers), and the addresses those interfaces hold.
//
// The layout (every key starts "ec2/"). A record is known by its region
// and id; regions never contain '|', so '|' separates them.
//
//	ec2/vpc/<region>|<vpc id>                         VPC
//	ec2/subnet/<region>|<subnet id>                   Subnet
//	ec2/sg/<region>|<group id>                        SecurityGroup, with its rules
//	ec2/eni/<region>|<eni id>                         NetworkInterface
//	ec2/ip/<region>|<vpc id>|<address>                AddressClaim: the interface holding an address
//	ec2/defaultvpc/<region>                           DefaultVPC: the region's default VPC, once made
//	ec2/vpcgen/<region>|<vpc id>                      Generation: rewritten by every subnet and security group made in the VPC
//	ec2/ranges                                        Generation: rewritten by every VPC CreateVpc and CreateDefaultVpc make
//
// An interface and its address claim are written and deleted together, in
// one transaction that requires the claim to be absent: two interfaces
// never hold one address of a VPC.
//
// A generation record is kept for its revision only. A decision that must
// see every creation of a kind reads it before the records it decides on
// and compares it, and each such creation rewrites it in its own
// transaction. So a VPC users make overlaps no other (the ranges
// generation), nor do a VPC's subnets overlap; a VPC's group names are
// unique, and a VPC or security group is deleted only without dependents
// (the VPC's generation).
package ec2state

import "strings"

const (
	Prefix           = "ec2/"
	VPCPrefix        = "ec2/vpc/"
	SubnetPrefix     = "ec2/subnet/"
	GroupPrefix      = "ec2/sg/"
	InterfacePrefix  = "ec2/eni/"
	AddressPrefix    = "ec2/ip/"
	DefaultVPCPrefix = "ec2/defaultvpc/"
	VPCGenPrefix     = "ec2/vpcgen/"
	RangesKey        = "ec2/ranges"
)

// RegionPrefix lists one region's records of the kind prefix names.
func RegionPrefix(prefix, region string) string { return prefix + region + "|" }

func VPCKey(region, id string) string       { return RegionPrefix(VPCPrefix, region) + id }
func SubnetKey(region, id string) string    { return RegionPrefix(SubnetPrefix, region) + id }
func GroupKey(region, id string) string     { return RegionPrefix(GroupPrefix, region) + id }
func InterfaceKey(region, id string) string { return RegionPrefix(InterfacePrefix, region) + id }
func DefaultVPCKey(region string) string    { return DefaultVPCPrefix + region }
func VPCGenKey(region, vpcID string) string { return RegionPrefix(VPCGenPrefix, region) + vpcID }

// AddressKey is the key of the claim on address in a VPC.
func AddressKey(region, vpcID, address string) string {
	return VPCAddresses(region, vpcID) + address
}

// VPCAddresses lists the claims on a VPC's addresses.
func VPCAddresses(region, vpcID string) string {
	return RegionPrefix(AddressPrefix, region) + vpcID + "|"
}

// SplitKey returns the region and id of a record's key under prefix.
func SplitKey(prefix, key string) (region, id string, ok bool) {
	rest, found := strings.CutPrefix(key, prefix)
	if !found {
		return "", "", false
	}
	return strings.Cut(rest, "|")
}
