package ec2

import (
	"slices"
	"testing"

	"github.com/berth/berth/internal/ec2/ec2types"
)

func TestDescribeAvailabilityZones(t *testing.T) {
	e := newTestEnv(t)
	zones := func(ctxRegion string, in *ec2types.DescribeAvailabilityZonesRequest) []string {
		t.Helper()
		out, err := call[ec2types.DescribeAvailabilityZonesResult](inRegion(ctxRegion), e, "DescribeAvailabilityZones", in)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, z := range out.AvailabilityZones {
			if *z.State != "available" || *z.RegionName != ctxRegion || *z.ZoneType != "availability-zone" || *z.GroupName != ctxRegion ||
				*z.NetworkBorderGroup != ctxRegion || *z.OptInStatus != "opt-in-not-required" {
				t.Fatalf("zone: %+v", z)
			}
			got = append(got, *z.ZoneName+" "+*z.ZoneId)
		}
		return got
	}
	if got := zones("us-west-2", &ec2types.DescribeAvailabilityZonesRequest{}); !slices.Equal(got,
		[]string{"us-west-2a usw2-az1", "us-west-2b usw2-az2", "us-west-2c usw2-az3", "us-west-2d usw2-az4"}) {
		t.Fatalf("us-west-2: %v", got)
	}
	if got := zones("eu-west-1", &ec2types.DescribeAvailabilityZonesRequest{Filters: []ec2types.Filter{flt("zone-name", "eu-west-1b", "eu-west-1c")}}); !slices.Equal(got,
		[]string{"eu-west-1b euw1-az2", "eu-west-1c euw1-az3"}) {
		t.Fatalf("zone-name: %v", got)
	}
	if got := zones("us-east-1", &ec2types.DescribeAvailabilityZonesRequest{ZoneIds: []string{"use1-az6"}, Filters: []ec2types.Filter{flt("state", "available"), flt("region-name", "us-east-1")}}); !slices.Equal(got,
		[]string{"us-east-1f use1-az6"}) {
		t.Fatalf("zone ids: %v", got)
	}
	if got := zones("us-east-1", &ec2types.DescribeAvailabilityZonesRequest{Filters: []ec2types.Filter{flt("zone-id", "use1-az9")}}); len(got) != 0 {
		t.Fatalf("no such zone id: %v", got)
	}
	_, err := call[ec2types.DescribeAvailabilityZonesResult](e.ctx, e, "DescribeAvailabilityZones", &ec2types.DescribeAvailabilityZonesRequest{ZoneNames: []string{"us-east-1z"}})
	wantError(t, err, "InvalidParameterValue", "")
}

func TestDescribeRegions(t *testing.T) {
	e := newTestEnv(t)
	out := must[ec2types.DescribeRegionsResult](e, "DescribeRegions", &ec2types.DescribeRegionsRequest{})
	if len(out.Regions) != len(regions) {
		t.Fatalf("%d regions", len(out.Regions))
	}
	out = must[ec2types.DescribeRegionsResult](e, "DescribeRegions", &ec2types.DescribeRegionsRequest{RegionNames: []string{"eu-north-1"}})
	if len(out.Regions) != 1 || *out.Regions[0].Endpoint != "ec2.eu-north-1.amazonaws.com" || *out.Regions[0].OptInStatus != "opt-in-not-required" {
		t.Fatalf("eu-north-1: %+v", out.Regions)
	}
	out = must[ec2types.DescribeRegionsResult](e, "DescribeRegions", &ec2types.DescribeRegionsRequest{Filters: []ec2types.Filter{flt("region-name", "us-*")}})
	if len(out.Regions) != 4 {
		t.Fatalf("us-*: %+v", out.Regions)
	}
	_, err := call[ec2types.DescribeRegionsResult](e.ctx, e, "DescribeRegions", &ec2types.DescribeRegionsRequest{RegionNames: []string{"mars-1"}})
	wantError(t, err, "InvalidParameterValue", "")
}
