package ec2state

import (
	"net/netip"
	"time"
)

// Tag is one tag of an EC2 resource.
type Tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// VPC is a virtual private cloud: an IPv4 range its subnets divide.
type VPC struct {
	Region string `json:"region"`
	ID     string `json:"id"`
	// CIDR is the VPC's primary IPv4 block (masked, e.g. 10.0.0.0/16);
	// CIDRAssociationID names its association, as EC2 shows it.
	CIDR              string `json:"cidr"`
	CIDRAssociationID string `json:"cidrAssociationId"`
	IsDefault         bool   `json:"isDefault,omitempty"`
	OwnerID           string `json:"ownerId"`
	InstanceTenancy   string `json:"instanceTenancy"`
	DHCPOptionsID     string `json:"dhcpOptionsId"`
	// DefaultGroupID is the VPC's security group named "default", made
	// with the VPC and removed with it.
	DefaultGroupID     string    `json:"defaultGroupId"`
	EnableDNSSupport   bool      `json:"enableDnsSupport"`
	EnableDNSHostnames bool      `json:"enableDnsHostnames"`
	Tags               []Tag     `json:"tags,omitempty"`
	Created            time.Time `json:"created"`
}

// Subnet is a range of a VPC's addresses in one availability zone.
type Subnet struct {
	Region string `json:"region"`
	ID     string `json:"id"`
	VPCID  string `json:"vpcId"`
	// CIDR is masked and inside the VPC's.
	CIDR                string `json:"cidr"`
	AvailabilityZone    string `json:"availabilityZone"`
	AvailabilityZoneID  string `json:"availabilityZoneId"`
	DefaultForAZ        bool   `json:"defaultForAz,omitempty"`
	MapPublicIPOnLaunch bool   `json:"mapPublicIpOnLaunch,omitempty"`
	OwnerID             string `json:"ownerId"`
	// InUse counts the interfaces holding an address of the subnet. Every
	// interface made or removed rewrites the subnet's record, so a
	// subnet's deletion and a new interface in it never both succeed.
	InUse   int       `json:"inUse,omitempty"`
	Tags    []Tag     `json:"tags,omitempty"`
	Created time.Time `json:"created"`
}

// AvailableAddresses is EC2's AvailableIpAddressCount: the subnet's
// addresses less the five EC2 reserves and those in use.
func (s Subnet) AvailableAddresses() int {
	p, err := netip.ParsePrefix(s.CIDR)
	if err != nil {
		return 0
	}
	return max(Size(p.Bits())-reservedAddresses-s.InUse, 0)
}

// SecurityGroup is a stateful filter on the traffic of the interfaces
// that carry it: Ingress admits traffic to them, Egress lets traffic leave
// them; anything no rule admits is dropped.
type SecurityGroup struct {
	Region      string    `json:"region"`
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	VPCID       string    `json:"vpcId"`
	OwnerID     string    `json:"ownerId"`
	Ingress     []Rule    `json:"ingress,omitempty"`
	Egress      []Rule    `json:"egress,omitempty"`
	Tags        []Tag     `json:"tags,omitempty"`
	Created     time.Time `json:"created"`
}

// IsDefault reports whether the group is its VPC's "default" group, which
// cannot be deleted and, in berth, also admits the host (see the README).
func (g SecurityGroup) IsDefault() bool { return g.Name == DefaultGroupName }

// DefaultGroupName is the name of every VPC's default security group.
const DefaultGroupName = "default"

// Rule is one security group rule, as DescribeSecurityGroupRules lists
// them: one protocol and port range, from (ingress) or to (egress) one
// source: an IPv4 or IPv6 CIDR, or the members of a security group.
type Rule struct {
	// ID is the rule's sgr- id.
	ID string `json:"id"`
	// Protocol is "-1" (all), "tcp", "udp", "icmp", "icmpv6" or another
	// IP protocol number in decimal.
	Protocol string `json:"protocol"`
	// FromPort and ToPort bound the port range (tcp, udp), or are the ICMP
	// type and code; -1 when the protocol has no ports or all are meant.
	FromPort int32 `json:"fromPort"`
	ToPort   int32 `json:"toPort"`
	// Exactly one of CIDRv4, CIDRv6 and GroupID is set.
	CIDRv4      string `json:"cidrV4,omitempty"`
	CIDRv6      string `json:"cidrV6,omitempty"`
	GroupID     string `json:"groupId,omitempty"`
	Description string `json:"description,omitempty"`
	Tags        []Tag  `json:"tags,omitempty"`
}

// Same reports whether two rules admit the same traffic from the same
// source (EC2's InvalidPermission.Duplicate), whatever their ids and
// descriptions.
func (r Rule) Same(o Rule) bool {
	return r.Protocol == o.Protocol && r.FromPort == o.FromPort && r.ToPort == o.ToPort &&
		r.CIDRv4 == o.CIDRv4 && r.CIDRv6 == o.CIDRv6 && r.GroupID == o.GroupID
}

// Interface types and requesters of NetworkInterface.
const (
	InterfaceTypeInterface = "interface"
	// RequesterECS is the RequesterId of a task's interface, and
	// RequesterELB of a load balancer's.
	RequesterECS = "ecs-tasks" // UNVERIFIED: AWS shows an account-specific id
	RequesterELB = "amazon-elb"
)

// NetworkInterface is an elastic network interface: one address in a
// subnet, the security groups filtering its traffic, and what it belongs
// to. berth makes one for every awsvpc task and every subnet of a load
// balancer; users do not make their own.
type NetworkInterface struct {
	Region           string   `json:"region"`
	ID               string   `json:"id"`
	VPCID            string   `json:"vpcId"`
	SubnetID         string   `json:"subnetId"`
	AvailabilityZone string   `json:"availabilityZone"`
	PrivateIP        string   `json:"privateIp"`
	MAC              string   `json:"mac"`
	Groups           []string `json:"groups,omitempty"`
	// Description is what EC2 shows: for a task, its attachment's ARN; for
	// a load balancer, "ELB app/<name>/<id>".
	Description string `json:"description"`
	RequesterID string `json:"requesterId"`
	// Owner is the ARN of what the interface belongs to (the task or the
	// load balancer); AttachmentID is the ECS attachment id of a task's.
	Owner        string    `json:"owner"`
	AttachmentID string    `json:"attachmentId,omitempty"`
	OwnerID      string    `json:"ownerId"`
	Tags         []Tag     `json:"tags,omitempty"`
	Created      time.Time `json:"created"`
}

// AddressClaim records which interface holds an address of a VPC.
type AddressClaim struct {
	InterfaceID string `json:"interfaceId"`
}

// DefaultVPC names a region's default VPC.
type DefaultVPC struct {
	VPCID string `json:"vpcId"`
}

// reservedAddresses is how many addresses of every subnet EC2 keeps for
// itself: the network address, the VPC router (+1), the DNS server (+2),
// one for future use (+3) and the broadcast address.
const reservedAddresses = 5

// Size is the number of addresses in a subnet of prefix length bits.
func Size(bits int) int {
	if bits < 0 || bits > 32 {
		return 0
	}
	return 1 << (32 - bits)
}
