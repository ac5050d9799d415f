package elbv2

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/ec2/ec2state"
	"github.com/berth/berth/internal/elbv2/elbv2state"
	"github.com/berth/berth/internal/elbv2/elbv2types"
	"github.com/berth/berth/internal/store"
)

// checkName applies ELBv2's rules for the names of load balancers and
// target groups (noun says which): 1 to 32 alphanumerics and hyphens, not
// beginning or ending with a hyphen.
func checkName(noun, name string) error {
	switch {
	case name == "":
		return validation("%s name cannot be empty", noun) // UNVERIFIED wording
	case len(name) > 32:
		return validation("%s name '%s' cannot be longer than '32' characters", noun, name)
	case strings.IndexFunc(name, func(r rune) bool {
		return (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') && (r < '0' || r > '9') && r != '-'
	}) >= 0:
		return validation("%s name '%s' can only contain characters that are alphanumeric characters or hyphens(-)", noun, name)
	case strings.HasPrefix(name, "-") || strings.HasSuffix(name, "-"):
		return validation("%s name '%s' cannot begin or end with '-'", noun, name)
	}
	return nil
}

// albHostedZones are the Route 53 zones of application load balancers'
// DNS names, by region.
var albHostedZones = map[string]string{
	"us-east-1": "Z35SXDOTRQ7X7K", "us-east-2": "Z3AADJGX6KTTL2", "us-west-1": "Z368ELLRRE2KJ0",
	"us-west-2": "Z1H1FL5HABSF5", "ca-central-1": "ZQSVJUPU6J1EY", "sa-east-1": "Z2P70J7HTTTPLU",
	"eu-west-1": "Z32O12XQLNTSW2", "eu-west-2": "ZHURV8PSTC4K8", "eu-west-3": "Z3Q77PNBQS71R4",
	"eu-central-1": "Z215JYRZR1TBD5", "eu-north-1": "Z23TAZ6LKFMNIO", "eu-south-1": "Z3ULH7SSC9OV64",
	"ap-northeast-1": "Z14GRHDCWA56QT", "ap-northeast-2": "ZWKZPGTI48KDX", "ap-northeast-3": "Z5LXEXXYW11ES",
	"ap-southeast-1": "Z1LMS91P8CMLE5", "ap-southeast-2": "Z1GM3OXH4ZPM65", "ap-south-1": "ZP97RAFLXTNZK",
	"ap-east-1": "Z3DQVH9N71FHZ0", "me-south-1": "ZS929ML54UICD", "af-south-1": "Z268VQBMOI5EKX",
}

// dnsName is a new load balancer's DNS name: its name, a random number of
// ten digits, and the region's ELB domain; "internal-" before an internal
// one's.
func dnsName(name, scheme, region string) string {
	n, _ := rand.Int(rand.Reader, big.NewInt(9_000_000_000)) // never fails (crypto/rand)
	host := fmt.Sprintf("%s-%d.%s.elb.amazonaws.com", name, n.Int64()+1_000_000_000, region)
	if scheme == elbv2state.SchemeInternal {
		return "internal-" + host
	}
	return host
}

func (e *ELBv2) createLoadBalancer(ctx context.Context, in *elbv2types.CreateLoadBalancerInput) (*elbv2types.CreateLoadBalancerOutput, error) {
	name := awsapi.Deref(in.Name)
	if err := checkName("Load balancer", name); err != nil {
		return nil, err
	}
	if strings.HasPrefix(name, "internal-") {
		return nil, validation("Load balancer name '%s' cannot begin with 'internal-'", name) // UNVERIFIED wording
	}
	switch t := awsapi.Deref(in.Type); t {
	case "", elbv2types.LoadBalancerTypeEnumApplication:
	default:
		return nil, unsupported(t + " load balancers (berth serves application load balancers)")
	}
	if err := checkIPAddressType(in.IpAddressType); err != nil {
		return nil, err
	}
	if in.CustomerOwnedIpv4Pool != nil || in.IpamPools != nil || in.EnablePrefixForIpv6SourceNat != nil {
		return nil, unsupported("customer-owned and IPAM pools and IPv6 source NAT")
	}
	scheme := awsapi.Deref(in.Scheme)
	if scheme == "" {
		scheme = elbv2state.SchemeInternetFacing
	}
	tags, err := checkTags(in.Tags)
	if err != nil {
		return nil, err
	}
	ids, err := subnetIDs(in.Subnets, in.SubnetMappings)
	if err != nil {
		return nil, err
	}
	subnets, err := e.resolveSubnets(ctx, ids)
	if err != nil {
		return nil, err
	}
	vpcID := subnets[0].VPCID
	groups, err := e.resolveGroups(ctx, vpcID, in.SecurityGroups)
	if err != nil {
		return nil, err
	}
	rg := region(ctx)
	id := elbv2state.NewID()
	lb := elbv2state.LoadBalancer{
		Region: rg, Account: e.account, Name: name, ID: id,
		ARN:     elbv2state.LoadBalancerARN(rg, e.account, name, id),
		DNSName: dnsName(name, scheme, rg), Scheme: scheme, Type: elbv2state.LoadBalancerTypeApplication,
		IPAddressType: elbv2types.IpAddressTypeIpv4, VPCID: vpcID, State: elbv2state.StateProvisioning,
		SecurityGroups: groups, Tags: tags, Created: e.now().UTC(),
	}
	// An identical load balancer of the name is the answer, before any
	// interface is made.
	existing, found, err := e.sameLoadBalancer(ctx, lb, subnets)
	if err != nil {
		return nil, err
	}
	if found {
		return &elbv2types.CreateLoadBalancerOutput{LoadBalancers: []elbv2types.LoadBalancer{toLoadBalancer(existing)}}, nil
	}
	if lb.Subnets, err = e.createInterfaces(ctx, lb, subnets); err != nil {
		return nil, err
	}
	out := lb
	err = elbv2state.Run(ctx, e.store, func(tx *elbv2state.Tx) error {
		cur, found, err := elbv2state.Read[elbv2state.LoadBalancer](ctx, tx, elbv2state.LoadBalancerKey(rg, name))
		if err != nil {
			return err
		}
		if found {
			if !sameSettings(cur, lb) {
				return duplicateName(name)
			}
			out = cur
			return nil
		}
		out = lb
		return tx.Put(elbv2state.LoadBalancerKey(rg, name), lb)
	})
	if err != nil || out.ID != lb.ID {
		// Another request made the name's load balancer meanwhile.
		e.deleteInterfaces(ctx, rg, lb.Subnets)
	}
	if err != nil {
		return nil, err
	}
	return &elbv2types.CreateLoadBalancerOutput{LoadBalancers: []elbv2types.LoadBalancer{toLoadBalancer(out)}}, nil
}

// sameLoadBalancer reads the load balancer of lb's name: found with no
// error when it has lb's settings (CreateLoadBalancer's idempotent
// answer), DuplicateLoadBalancerName when it has others.
func (e *ELBv2) sameLoadBalancer(ctx context.Context, lb elbv2state.LoadBalancer, subnets []ec2state.Subnet) (elbv2state.LoadBalancer, bool, error) {
	rec, err := store.Get[elbv2state.LoadBalancer](ctx, e.store, elbv2state.LoadBalancerKey(lb.Region, lb.Name))
	if errors.Is(err, store.ErrNotFound) {
		return elbv2state.LoadBalancer{}, false, nil
	}
	if err != nil {
		return elbv2state.LoadBalancer{}, false, err
	}
	cur := rec.Value
	for _, s := range subnets {
		lb.Subnets = append(lb.Subnets, elbv2state.LoadBalancerSubnet{SubnetID: s.ID})
	}
	if !sameSettings(cur, lb) {
		return cur, true, duplicateName(lb.Name)
	}
	return cur, true, nil
}

func duplicateName(name string) error {
	return kindError(errDuplicateLoadBalancerName, "A load balancer with the same name '%s' exists, but with different settings", name)
}

// sameSettings reports whether two load balancers have the settings
// CreateLoadBalancer compares: scheme, type, address type, subnets and
// security groups.
func sameSettings(a, b elbv2state.LoadBalancer) bool {
	subnets := func(lb elbv2state.LoadBalancer) []string {
		var ids []string
		for _, s := range lb.Subnets {
			ids = append(ids, s.SubnetID)
		}
		slices.Sort(ids)
		return ids
	}
	return a.Scheme == b.Scheme && a.Type == b.Type && a.IPAddressType == b.IPAddressType &&
		slices.Equal(subnets(a), subnets(b)) &&
		slices.Equal(slices.Sorted(slices.Values(a.SecurityGroups)), slices.Sorted(slices.Values(b.SecurityGroups)))
}

// checkIPAddressType accepts ipv4, the only address type berth serves.
func checkIPAddressType(t *string) error {
	if v := awsapi.Deref(t); v != "" && v != elbv2types.IpAddressTypeIpv4 {
		return unsupported("load balancers of IP address type " + v)
	}
	return nil
}

func (e *ELBv2) describeLoadBalancers(ctx context.Context, in *elbv2types.DescribeLoadBalancersInput) (*elbv2types.DescribeLoadBalancersOutput, error) {
	if len(in.LoadBalancerArns) > 0 && len(in.Names) > 0 {
		return nil, validation("Load balancer names and load balancer ARNs cannot be specified at the same time") // UNVERIFIED wording
	}
	all, err := elbv2state.LoadBalancers(ctx, e.store, region(ctx))
	if err != nil {
		return nil, err
	}
	var picked []elbv2state.LoadBalancer
	switch {
	case len(in.LoadBalancerArns) > 0:
		picked, err = pick(all, in.LoadBalancerArns, func(lb elbv2state.LoadBalancer) string { return lb.ARN }, elbv2state.ErrLoadBalancerNotFound)
	case len(in.Names) > 0:
		picked, err = pick(all, in.Names, func(lb elbv2state.LoadBalancer) string { return lb.Name }, elbv2state.ErrLoadBalancerNotFound)
	default:
		picked = all
	}
	if err != nil {
		return nil, err
	}
	page, next, err := paginate(picked, in.Marker, in.PageSize)
	if err != nil {
		return nil, err
	}
	out := &elbv2types.DescribeLoadBalancersOutput{LoadBalancers: []elbv2types.LoadBalancer{}, NextMarker: next}
	for _, lb := range page {
		out.LoadBalancers = append(out.LoadBalancers, toLoadBalancer(lb))
	}
	return out, nil
}

// pick returns the items whose key is one of keys, in the order of keys
// (repeats once), or notFound when any key finds none.
func pick[T any](items []T, keys []string, key func(T) string, notFound error) ([]T, error) {
	var out []T
	var seen []string
	for _, k := range keys {
		if slices.Contains(seen, k) {
			continue
		}
		seen = append(seen, k)
		i := slices.IndexFunc(items, func(item T) bool { return key(item) == k })
		if i < 0 {
			return nil, notFound
		}
		out = append(out, items[i])
	}
	return out, nil
}

func (e *ELBv2) deleteLoadBalancer(ctx context.Context, in *elbv2types.DeleteLoadBalancerInput) (*elbv2types.DeleteLoadBalancerOutput, error) {
	rg, arn := region(ctx), awsapi.Deref(in.LoadBalancerArn)
	var gone elbv2state.LoadBalancer
	err := elbv2state.Run(ctx, e.store, func(tx *elbv2state.Tx) error {
		lb, err := elbv2state.ReadLoadBalancer(ctx, tx, rg, arn)
		if err != nil {
			return err
		}
		if lb.Attribute(elbv2state.AttrDeletionProtection) == "true" {
			return kindError(errOperationNotPermitted, "Load balancer '%s' cannot be deleted because deletion protection is enabled", arn)
		}
		listeners, err := elbv2state.ReadAll[elbv2state.Listener](ctx, tx, elbv2state.LoadBalancerListeners(rg, lb.ID))
		if err != nil {
			return err
		}
		for _, l := range listeners {
			if err := removeListener(ctx, tx, l); err != nil {
				return err
			}
		}
		if err := e.useCertificates(ctx, tx, lb, listeners, nil); err != nil {
			return err
		}
		tx.Delete(elbv2state.LoadBalancerKey(rg, lb.Name))
		gone = lb
		return nil
	})
	switch {
	case errors.Is(err, elbv2state.ErrLoadBalancerNotFound):
		return &elbv2types.DeleteLoadBalancerOutput{}, nil // as AWS: deleting what is gone succeeds
	case err != nil:
		return nil, err
	}
	e.deleteInterfaces(ctx, rg, gone.Subnets)
	return &elbv2types.DeleteLoadBalancerOutput{}, nil
}

// readLoadBalancer reads the load balancer arn names in the request's
// region.
func (e *ELBv2) readLoadBalancer(ctx context.Context, arn string) (elbv2state.LoadBalancer, error) {
	return readRecord(ctx, e, elbv2state.ReadLoadBalancer, arn)
}

// changeLoadBalancer applies edit to the load balancer arn names and
// writes it, guarded by what it read; it returns the load balancer as
// written.
func (e *ELBv2) changeLoadBalancer(ctx context.Context, arn string, edit func(lb *elbv2state.LoadBalancer) error) (elbv2state.LoadBalancer, error) {
	return changeRecord(ctx, e, elbv2state.ReadLoadBalancer, func(lb elbv2state.LoadBalancer) string {
		return elbv2state.LoadBalancerKey(lb.Region, lb.Name)
	}, arn, edit)
}

// readRecord reads the record arn names in the request's region with read.
func readRecord[T any](ctx context.Context, e *ELBv2, read func(context.Context, *elbv2state.Tx, string, string) (T, error), arn string) (T, error) {
	var out T
	err := elbv2state.Run(ctx, e.store, func(tx *elbv2state.Tx) error {
		var err error
		out, err = read(ctx, tx, region(ctx), arn)
		return err
	})
	return out, err
}

// changeRecord applies edit to the record arn names (read with read) and
// writes it at its key, guarded by what it read; it returns the record as
// written.
func changeRecord[T any](ctx context.Context, e *ELBv2, read func(context.Context, *elbv2state.Tx, string, string) (T, error), key func(T) string, arn string, edit func(*T) error) (T, error) {
	var out T
	err := elbv2state.Run(ctx, e.store, func(tx *elbv2state.Tx) error {
		rec, err := read(ctx, tx, region(ctx), arn)
		if err != nil {
			return err
		}
		if err := edit(&rec); err != nil {
			return err
		}
		out = rec
		return tx.Put(key(rec), rec)
	})
	return out, err
}

func (e *ELBv2) setSecurityGroups(ctx context.Context, in *elbv2types.SetSecurityGroupsInput) (*elbv2types.SetSecurityGroupsOutput, error) {
	if in.EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic != nil {
		return nil, unsupported("PrivateLink traffic rules (a network load balancer's)")
	}
	if len(in.SecurityGroups) == 0 {
		return nil, validation("At least one security group must be specified") // UNVERIFIED wording
	}
	lb, err := e.changeLoadBalancer(ctx, awsapi.Deref(in.LoadBalancerArn), func(lb *elbv2state.LoadBalancer) error {
		groups, err := e.resolveGroups(ctx, lb.VPCID, in.SecurityGroups)
		lb.SecurityGroups = groups
		return err
	})
	if err != nil {
		return nil, err
	}
	if err := e.setInterfaceGroups(ctx, lb); err != nil {
		return nil, err
	}
	return &elbv2types.SetSecurityGroupsOutput{SecurityGroupIds: lb.SecurityGroups}, nil
}

func (e *ELBv2) setSubnets(ctx context.Context, in *elbv2types.SetSubnetsInput) (*elbv2types.SetSubnetsOutput, error) {
	if err := checkIPAddressType(in.IpAddressType); err != nil {
		return nil, err
	}
	if in.EnablePrefixForIpv6SourceNat != nil {
		return nil, unsupported("IPv6 source NAT")
	}
	ids, err := subnetIDs(in.Subnets, in.SubnetMappings)
	if err != nil {
		return nil, err
	}
	subnets, err := e.resolveSubnets(ctx, ids)
	if err != nil {
		return nil, err
	}
	rg, arn := region(ctx), awsapi.Deref(in.LoadBalancerArn)
	before, err := e.readLoadBalancer(ctx, arn)
	if err != nil {
		return nil, err
	}
	if subnets[0].VPCID != before.VPCID {
		return nil, kindError(errInvalidSubnet, "The subnets must be in the load balancer's VPC '%s'", before.VPCID) // UNVERIFIED wording
	}
	// The new subnets' interfaces first (those kept are found as they
	// are), then the record, then the interfaces of the subnets dropped.
	made, err := e.createInterfaces(ctx, before, subnets)
	if err != nil {
		return nil, err
	}
	var old []elbv2state.LoadBalancerSubnet
	lb, err := e.changeLoadBalancer(ctx, arn, func(cur *elbv2state.LoadBalancer) error {
		old = cur.Subnets
		cur.Subnets = made
		return nil
	})
	if err != nil {
		e.deleteInterfaces(ctx, rg, dropped(made, before.Subnets))
		return nil, err
	}
	e.deleteInterfaces(ctx, rg, dropped(old, made))
	return &elbv2types.SetSubnetsOutput{AvailabilityZones: toZones(lb), IpAddressType: awsapi.String(lb.IPAddressType)}, nil
}

// dropped are the subnets of from that keep is without.
func dropped(from, keep []elbv2state.LoadBalancerSubnet) []elbv2state.LoadBalancerSubnet {
	var out []elbv2state.LoadBalancerSubnet
	for _, s := range from {
		if !slices.ContainsFunc(keep, func(k elbv2state.LoadBalancerSubnet) bool { return k.SubnetID == s.SubnetID }) {
			out = append(out, s)
		}
	}
	return out
}

func (e *ELBv2) setIPAddressType(ctx context.Context, in *elbv2types.SetIpAddressTypeInput) (*elbv2types.SetIpAddressTypeOutput, error) {
	if err := checkIPAddressType(in.IpAddressType); err != nil {
		return nil, err
	}
	lb, err := e.readLoadBalancer(ctx, awsapi.Deref(in.LoadBalancerArn))
	if err != nil {
		return nil, err
	}
	return &elbv2types.SetIpAddressTypeOutput{IpAddressType: awsapi.String(lb.IPAddressType)}, nil
}
