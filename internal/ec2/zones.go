package ec2

import (
	"context"
	"slices"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/ec2/ec2state"
	"github.com/berth/berth/internal/ec2/ec2types"
)

// zoneInfo is a zone with its region, for the filters.
type zoneInfo struct {
	ec2state.Zone
	region string
}

var zoneFilters = filterSpec[zoneInfo]{
	fields: map[string]func(zoneInfo) []string{
		"zone-name":            func(z zoneInfo) []string { return []string{z.Name} },
		"zone-id":              func(z zoneInfo) []string { return []string{z.ID} },
		"state":                func(zoneInfo) []string { return []string{ec2types.AvailabilityZoneStateAvailable} },
		"region-name":          func(z zoneInfo) []string { return []string{z.region} },
		"zone-type":            func(zoneInfo) []string { return []string{"availability-zone"} },
		"group-name":           func(z zoneInfo) []string { return []string{z.region} },
		"network-border-group": func(z zoneInfo) []string { return []string{z.region} },
		"opt-in-status": func(zoneInfo) []string {
			return []string{ec2types.AvailabilityZoneOptInStatusOptInNotRequired}
		},
	},
}

func (e *EC2) describeAvailabilityZones(ctx context.Context, in *ec2types.DescribeAvailabilityZonesRequest) (*ec2types.DescribeAvailabilityZonesResult, error) {
	fs, err := zoneFilters.parse(in.Filters)
	if err != nil {
		return nil, err
	}
	reg := region(ctx)
	var zones []zoneInfo
	for _, z := range ec2state.Zones(reg) {
		zones = append(zones, zoneInfo{Zone: z, region: reg})
	}
	for _, n := range in.ZoneNames {
		if !slices.ContainsFunc(zones, func(z zoneInfo) bool { return z.Name == n }) {
			// UNVERIFIED wording.
			return nil, invalidValue("The zone '%s' does not exist.", n)
		}
	}
	for _, id := range in.ZoneIds {
		if !slices.ContainsFunc(zones, func(z zoneInfo) bool { return z.ID == id }) {
			// UNVERIFIED wording.
			return nil, invalidValue("The zone ID '%s' does not exist.", id)
		}
	}
	if len(in.ZoneNames) > 0 || len(in.ZoneIds) > 0 {
		zones = slices.DeleteFunc(zones, func(z zoneInfo) bool {
			return !slices.Contains(in.ZoneNames, z.Name) && !slices.Contains(in.ZoneIds, z.ID)
		})
	}
	out := &ec2types.DescribeAvailabilityZonesResult{AvailabilityZones: []ec2types.AvailabilityZone{}}
	for _, z := range fs.apply(zones) {
		out.AvailabilityZones = append(out.AvailabilityZones, ec2types.AvailabilityZone{
			ZoneName:           awsapi.String(z.Name),
			ZoneId:             awsapi.String(z.ID),
			State:              awsapi.String(ec2types.AvailabilityZoneStateAvailable),
			RegionName:         awsapi.String(reg),
			ZoneType:           awsapi.String("availability-zone"),
			GroupName:          awsapi.String(reg),
			NetworkBorderGroup: awsapi.String(reg),
			OptInStatus:        awsapi.String(ec2types.AvailabilityZoneOptInStatusOptInNotRequired),
			Messages:           []ec2types.AvailabilityZoneMessage{},
		})
	}
	return out, nil
}

// regionInfo is a commercial AWS region and whether accounts must opt in.
type regionInfo struct {
	name  string
	optIn bool
}

// regions are AWS's commercial regions, which DescribeRegions lists: the
// ones every account has first, then those it must opt in to.
var regions = []regionInfo{
	{name: "ap-northeast-1"}, {name: "ap-northeast-2"}, {name: "ap-northeast-3"}, {name: "ap-south-1"},
	{name: "ap-southeast-1"}, {name: "ap-southeast-2"}, {name: "ca-central-1"}, {name: "eu-central-1"},
	{name: "eu-north-1"}, {name: "eu-west-1"}, {name: "eu-west-2"}, {name: "eu-west-3"}, {name: "sa-east-1"},
	{name: "us-east-1"}, {name: "us-east-2"}, {name: "us-west-1"}, {name: "us-west-2"},
	{name: "af-south-1", optIn: true}, {name: "ap-east-1", optIn: true}, {name: "ap-south-2", optIn: true},
	{name: "ap-southeast-3", optIn: true}, {name: "ap-southeast-4", optIn: true}, {name: "ap-southeast-5", optIn: true},
	{name: "ap-southeast-7", optIn: true}, {name: "ca-west-1", optIn: true}, {name: "eu-central-2", optIn: true},
	{name: "eu-south-1", optIn: true}, {name: "eu-south-2", optIn: true}, {name: "il-central-1", optIn: true},
	{name: "me-central-1", optIn: true}, {name: "me-south-1", optIn: true}, {name: "mx-central-1", optIn: true},
}

// optInStatus is the region's OptInStatus: berth serves every region, so
// the opt-in ones show as opted in.
func (r regionInfo) optInStatus() string {
	if r.optIn {
		return "opted-in"
	}
	return "opt-in-not-required"
}

func (r regionInfo) endpoint() string { return "ec2." + r.name + ".amazonaws.com" }

var regionFilters = filterSpec[regionInfo]{
	fields: map[string]func(regionInfo) []string{
		"endpoint":      func(r regionInfo) []string { return []string{r.endpoint()} },
		"region-name":   func(r regionInfo) []string { return []string{r.name} },
		"opt-in-status": func(r regionInfo) []string { return []string{r.optInStatus()} },
	},
}

func (e *EC2) describeRegions(_ context.Context, in *ec2types.DescribeRegionsRequest) (*ec2types.DescribeRegionsResult, error) {
	fs, err := regionFilters.parse(in.Filters)
	if err != nil {
		return nil, err
	}
	list := regions
	if len(in.RegionNames) > 0 {
		list = nil
		for _, n := range in.RegionNames {
			i := slices.IndexFunc(regions, func(r regionInfo) bool { return r.name == n })
			if i < 0 {
				// UNVERIFIED wording.
				return nil, invalidValue("Invalid region: %s", n)
			}
			list = append(list, regions[i])
		}
	}
	out := &ec2types.DescribeRegionsResult{Regions: []ec2types.Region{}}
	for _, r := range fs.apply(list) {
		out.Regions = append(out.Regions, ec2types.Region{
			RegionName: awsapi.String(r.name), Endpoint: awsapi.String(r.endpoint()), OptInStatus: awsapi.String(r.optInStatus()),
		})
	}
	return out, nil
}
