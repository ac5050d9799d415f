package ec2

import (
	"errors"
	"slices"
	"testing"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/ec2/ec2state"
	"github.com/berth/berth/internal/ec2/ec2types"
)

func TestGlob(t *testing.T) {
	for _, tc := range []struct {
		pattern, s string
		want       bool
	}{
		{"vpc-1", "vpc-1", true},
		{"vpc-1", "vpc-12", false},
		{"*", "", true},
		{"*", "anything", true},
		{"*test*", "newgrouptest", true},
		{"*test*", "testfornewinstance", true},
		{"*test*", "prod", false},
		{"10.0.?.0/24", "10.0.1.0/24", true},
		{"10.0.?.0/24", "10.0.10.0/24", false},
		{"a*b*c", "axxbyyc", true},
		{"a*b*c", "axxbyy", false},
		{`\*`, "*", true},
		{`\*`, "x", false},
		{`a\?`, "a?", true},
		{`a\?`, "ab", false},
		{"", "", true},
		{"", "x", false},
	} {
		if got := glob(tc.pattern, tc.s); got != tc.want {
			t.Errorf("glob(%q, %q) = %v, want %v", tc.pattern, tc.s, got, tc.want)
		}
	}
}

func TestFilters(t *testing.T) {
	vpcs := []ec2state.VPC{
		{ID: "vpc-1", CIDR: "10.0.0.0/16", IsDefault: true, Tags: []ec2state.Tag{{Key: "Name", Value: "main"}, {Key: "env", Value: "prod"}}},
		{ID: "vpc-2", CIDR: "10.1.0.0/16", Tags: []ec2state.Tag{{Key: "Name", Value: "side"}}},
		{ID: "vpc-3", CIDR: "192.168.0.0/24"},
	}
	for _, tc := range []struct {
		name    string
		filters []ec2types.Filter
		want    []string
	}{
		{"none", nil, []string{"vpc-1", "vpc-2", "vpc-3"}},
		{"one value", []ec2types.Filter{flt("vpc-id", "vpc-2")}, []string{"vpc-2"}},
		{"values are or'ed", []ec2types.Filter{flt("vpc-id", "vpc-1", "vpc-3")}, []string{"vpc-1", "vpc-3"}},
		{"filters are and'ed", []ec2types.Filter{flt("vpc-id", "vpc-1", "vpc-3"), flt("is-default", "false")}, []string{"vpc-3"}},
		{"wildcard", []ec2types.Filter{flt("cidr", "10.*")}, []string{"vpc-1", "vpc-2"}},
		{"tag:key", []ec2types.Filter{flt("tag:Name", "side")}, []string{"vpc-2"}},
		{"tag:key wildcard", []ec2types.Filter{flt("tag:Name", "*")}, []string{"vpc-1", "vpc-2"}},
		{"tag-key", []ec2types.Filter{flt("tag-key", "env")}, []string{"vpc-1"}},
		{"tag-value", []ec2types.Filter{flt("tag-value", "main", "side")}, []string{"vpc-1", "vpc-2"}},
		{"no values match nothing", []ec2types.Filter{flt("vpc-id")}, nil},
		{"state", []ec2types.Filter{flt("state", "available")}, []string{"vpc-1", "vpc-2", "vpc-3"}},
		{"no ipv6", []ec2types.Filter{flt("ipv6-cidr-block-association.ipv6-cidr-block", "*")}, nil},
	} {
		fs, err := vpcFilters.parse(tc.filters)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		var got []string
		for _, v := range fs.apply(vpcs) {
			got = append(got, v.ID)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
	for _, name := range []string{"bogus", "tag:", "Vpc-Id"} {
		_, err := vpcFilters.parse([]ec2types.Filter{flt(name, "x")})
		wantError(t, mapped(err), "InvalidParameterValue", "The filter '"+name+"' is invalid")
	}
}

func TestPaginate(t *testing.T) {
	items := []string{"d", "a", "c", "b", "e"}
	key := func(s string) string { return s }
	var got []string
	var token *string
	for range 10 {
		page, next, err := paginate(slices.Clone(items), key, token, awsapi.Int32(2))
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, page...)
		if next == nil {
			break
		}
		token = next
	}
	if !slices.Equal(got, []string{"a", "b", "c", "d", "e"}) {
		t.Fatalf("pages: %v", got)
	}
	// An item gone between pages shifts no other.
	page, next, _ := paginate([]string{"a", "b", "c", "d"}, key, nil, awsapi.Int32(2))
	if !slices.Equal(page, []string{"a", "b"}) || next == nil {
		t.Fatalf("first page %v %v", page, next)
	}
	page, _, _ = paginate([]string{"a", "c", "d"}, key, next, awsapi.Int32(2))
	if !slices.Equal(page, []string{"c", "d"}) {
		t.Fatalf("after a deletion: %v", page)
	}
	// Without a limit, everything; an exact last page has no token.
	if page, next, _ := paginate(slices.Clone(items), key, nil, nil); len(page) != 5 || next != nil {
		t.Fatalf("no limit: %v %v", page, next)
	}
	if _, next, _ := paginate([]string{"a", "b"}, key, nil, awsapi.Int32(2)); next != nil {
		t.Fatalf("exact page has a token")
	}
	if _, _, err := paginate(items, key, awsapi.String("!!"), nil); !errors.Is(err, errPaginationToken) {
		t.Fatalf("bad token: %v", err)
	}
}
