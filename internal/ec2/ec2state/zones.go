package ec2state

import (
	"fmt"
	"strings"
)

// Zone is an availability zone of a region.
type Zone struct {
	Name string // us-east-1a
	ID   string // use1-az1
}

// zoneCounts are the regions with more than three zones berth offers.
var zoneCounts = map[string]int{"us-east-1": 6, "us-west-2": 4}

// Zones returns the region's availability zones: <region>a, b, c (six in
// us-east-1, four in us-west-2), with ids in EC2's form.
func Zones(region string) []Zone {
	n := zoneCounts[region]
	if n == 0 {
		n = 3
	}
	short := regionShortName(region)
	zones := make([]Zone, n)
	for i := range zones {
		zones[i] = Zone{Name: region + string(rune('a'+i)), ID: fmt.Sprintf("%s-az%d", short, i+1)}
	}
	return zones
}

// ZoneByName returns the region's zone called name.
func ZoneByName(region, name string) (Zone, bool) {
	for _, z := range Zones(region) {
		if z.Name == name {
			return z, true
		}
	}
	return Zone{}, false
}

// ZoneByID returns the region's zone with id.
func ZoneByID(region, id string) (Zone, bool) {
	for _, z := range Zones(region) {
		if z.ID == id {
			return z, true
		}
	}
	return Zone{}, false
}

// directionCodes shorten a region's direction the way zone ids do.
var directionCodes = map[string]string{
	"east": "e", "west": "w", "north": "n", "south": "s", "central": "c",
	"northeast": "ne", "northwest": "nw", "southeast": "se", "southwest": "sw",
}

// regionShortName is the region as zone ids begin: us-east-1 -> use1,
// ap-southeast-2 -> apse2, us-gov-west-1 -> usgw1.
func regionShortName(region string) string {
	parts := strings.Split(region, "-")
	var b strings.Builder
	for i, p := range parts {
		switch {
		case i == 0:
			b.WriteString(p)
		case directionCodes[p] != "":
			b.WriteString(directionCodes[p])
		case i == len(parts)-1:
			b.WriteString(p)
		case p != "":
			b.WriteByte(p[0])
		}
	}
	return b.String()
}
