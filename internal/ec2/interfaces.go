package ec2

import (
	"context"
	"strings"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/ec2/ec2state"
	"github.com/berth/berth/internal/ec2/ec2types"
)

// An interface as EC2 shows a Fargate task's or a load balancer's: made
// for something else (RequesterManaged), attached, in use.
const (
	interfaceStatus   = ec2types.NetworkInterfaceStatusInUse
	attachmentStatus  = ec2types.AttachmentStatusAttached
	attachmentIndex   = 1
	attachmentIDStart = "ela-attach-"
)

// attachmentID is the id of an interface's attachment, derived from its
// own so that it stays the same.
func attachmentID(interfaceID string) string {
	return attachmentIDStart + strings.TrimPrefix(interfaceID, ec2state.InterfaceIDPrefix)
}

// interfaceFilters are DescribeNetworkInterfaces' filters; names are the
// region's group names by id.
func interfaceFilters(names map[string]string) filterSpec[ec2state.NetworkInterface] {
	type eni = ec2state.NetworkInterface
	fixed := func(v string) func(eni) []string { return func(eni) []string { return []string{v} } }
	return filterSpec[eni]{
		fields: map[string]func(eni) []string{
			"network-interface-id":             func(n eni) []string { return []string{n.ID} },
			"vpc-id":                           func(n eni) []string { return []string{n.VPCID} },
			"subnet-id":                        func(n eni) []string { return []string{n.SubnetID} },
			"availability-zone":                func(n eni) []string { return []string{n.AvailabilityZone} },
			"group-id":                         func(n eni) []string { return n.Groups },
			"private-ip-address":               func(n eni) []string { return []string{n.PrivateIP} },
			"addresses.private-ip-address":     func(n eni) []string { return []string{n.PrivateIP} },
			"addresses.primary":                fixed("true"),
			"private-dns-name":                 func(n eni) []string { return []string{ec2state.PrivateDNSName(n.Region, n.PrivateIP)} },
			"mac-address":                      func(n eni) []string { return []string{n.MAC} },
			"description":                      func(n eni) []string { return []string{n.Description} },
			"requester-id":                     func(n eni) []string { return one(n.RequesterID) },
			"requester-managed":                fixed("true"),
			"status":                           fixed(interfaceStatus),
			"interface-type":                   fixed(ec2state.InterfaceTypeInterface),
			"owner-id":                         func(n eni) []string { return []string{n.OwnerID} },
			"source-dest-check":                fixed("true"),
			"attachment.attachment-id":         func(n eni) []string { return []string{attachmentID(n.ID)} },
			"attachment.status":                fixed(attachmentStatus),
			"attachment.device-index":          fixed("1"),
			"attachment.delete-on-termination": fixed("false"),
			"group-name": func(n eni) []string {
				var out []string
				for _, g := range n.Groups {
					out = append(out, one(names[g])...)
				}
				return out
			},
		},
		tags: func(n eni) []ec2state.Tag { return n.Tags },
	}
}

func (e *EC2) describeNetworkInterfaces(ctx context.Context, in *ec2types.DescribeNetworkInterfacesRequest) (*ec2types.DescribeNetworkInterfacesResult, error) {
	reg := region(ctx)
	groups, err := listRegion[ec2state.SecurityGroup](ctx, e.store, ec2state.GroupPrefix, reg)
	if err != nil {
		return nil, err
	}
	names := make(map[string]string, len(groups))
	for _, g := range groups {
		names[g.Value.ID] = g.Value.Name
	}
	fs, err := interfaceFilters(names).parse(in.Filters)
	if err != nil {
		return nil, err
	}
	page, next, err := pickRecords(ctx, e, ec2state.InterfacePrefix, fs, in.NetworkInterfaceIds, func(n ec2state.NetworkInterface) string { return n.ID }, interfaceNotFound, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	out := &ec2types.DescribeNetworkInterfacesResult{NetworkInterfaces: make([]ec2types.NetworkInterface, len(page)), NextToken: next}
	for i, n := range page {
		out.NetworkInterfaces[i] = interfaceOut(n, names)
	}
	return out, nil
}

func interfaceOut(n ec2state.NetworkInterface, names map[string]string) ec2types.NetworkInterface {
	dns := ec2state.PrivateDNSName(n.Region, n.PrivateIP)
	groups := make([]ec2types.GroupIdentifier, len(n.Groups))
	for i, g := range n.Groups {
		groups[i] = ec2types.GroupIdentifier{GroupId: awsapi.String(g), GroupName: awsapi.OptionalString(names[g])}
	}
	out := ec2types.NetworkInterface{
		NetworkInterfaceId: awsapi.String(n.ID),
		InterfaceType:      awsapi.String(ec2state.InterfaceTypeInterface),
		Status:             awsapi.String(interfaceStatus),
		PrivateIpAddress:   awsapi.String(n.PrivateIP),
		PrivateDnsName:     awsapi.String(dns),
		PrivateIpAddresses: []ec2types.NetworkInterfacePrivateIpAddress{{
			Primary: awsapi.Bool(true), PrivateIpAddress: awsapi.String(n.PrivateIP), PrivateDnsName: awsapi.String(dns),
		}},
		MacAddress:       awsapi.String(n.MAC),
		Groups:           groups,
		SubnetId:         awsapi.String(n.SubnetID),
		VpcId:            awsapi.String(n.VPCID),
		AvailabilityZone: awsapi.String(n.AvailabilityZone),
		Description:      awsapi.String(n.Description),
		RequesterId:      awsapi.OptionalString(n.RequesterID),
		RequesterManaged: awsapi.Bool(true),
		OwnerId:          awsapi.String(n.OwnerID),
		SourceDestCheck:  awsapi.Bool(true),
		Ipv6Addresses:    []ec2types.NetworkInterfaceIpv6Address{},
		TagSet:           []ec2types.Tag{},
		Attachment: &ec2types.NetworkInterfaceAttachment{
			AttachmentId:        awsapi.String(attachmentID(n.ID)),
			Status:              awsapi.String(attachmentStatus),
			DeviceIndex:         awsapi.Int32(attachmentIndex),
			NetworkCardIndex:    awsapi.Int32(0),
			DeleteOnTermination: awsapi.Bool(false),
			AttachTime:          awsapi.OptionalTime(n.Created),
			// The service that made the interface owns what it is attached
			// to: amazon-elb for a load balancer's. UNVERIFIED for a task's.
			InstanceOwnerId: awsapi.OptionalString(n.RequesterID),
		},
	}
	if z, ok := ec2state.ZoneByName(n.Region, n.AvailabilityZone); ok {
		out.AvailabilityZoneId = awsapi.String(z.ID)
	}
	if len(n.Tags) > 0 {
		out.TagSet = tagsOut(n.Tags)
	}
	return out
}
