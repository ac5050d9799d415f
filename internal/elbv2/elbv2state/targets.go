package elbv2state

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	json "github.com/go-json-experiment/json/v1"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/ec2/ec2state"
	"github.com/berth/berth/internal/ecs/ecsstate"
	"github.com/berth/berth/internal/store"
)

// Target types berth serves.
const (
	TargetTypeInstance = "instance"
	TargetTypeIP       = "ip"
)

// RegisterTargets registers targets with the group tgARN names, as
// ELBv2's RegisterTargets does: a target without a port takes the group's;
// an IP target takes the zone of its subnet in the group's VPC, or needs
// AvailabilityZone "all" (or a zone of the region) when no subnet holds it
// and the address is private; an instance target names a berth node
// (ecsstate.EC2InstanceID). A target registered already stays as it is
// (its health too); one draining is registered again, its health
// forgotten. Errors: ErrTargetGroupNotFound, ErrValidation and
// ErrInvalidTarget with ELBv2's sentence.
func RegisterTargets(ctx context.Context, s store.Store, region, tgARN string, targets []Target, now time.Time) error {
	return Run(ctx, s, func(tx *Tx) error {
		tg, err := ReadTargetGroup(ctx, tx, region, tgARN)
		if err != nil {
			return err
		}
		resolved, err := resolveTargets(ctx, s, tg, targets)
		if err != nil {
			return err
		}
		changed := false
		for _, t := range resolved {
			key := TargetKey(region, tg.ID, t)
			reg, found, err := Read[Registration](ctx, tx, key)
			if err != nil {
				return err
			}
			if found && reg.DrainUntil.IsZero() {
				continue
			}
			reg = Registration{Region: region, TargetGroupID: tg.ID, Target: t, Registered: now}
			if err := tx.Put(key, reg); err != nil {
				return err
			}
			tx.Delete(HealthKey(region, tg.ID, t))
			changed = true
		}
		if !changed {
			return nil
		}
		return touchTargetGroup(tx, tg)
	})
}

// DeregisterTargets deregisters targets from the group tgARN names: each
// drains for the group's deregistration delay from now (DrainUntil), and
// goes at once when the delay is 0. A target without a port means the
// group's port. A target that is not registered, or draining already, is
// left as it is (UNVERIFIED: ELBv2 may answer InvalidTarget for one never
// registered). Errors: ErrTargetGroupNotFound, and ErrValidation for a
// target id of the wrong kind.
func DeregisterTargets(ctx context.Context, s store.Store, region, tgARN string, targets []Target, now time.Time) error {
	return Run(ctx, s, func(tx *Tx) error {
		tg, err := ReadTargetGroup(ctx, tx, region, tgARN)
		if err != nil {
			return err
		}
		changed := false
		for _, t := range targets {
			if err := checkTargetID(tg, t.ID); err != nil {
				return err
			}
			if t.Port == 0 {
				t.Port = tg.Port
			}
			key := TargetKey(region, tg.ID, t)
			reg, found, err := Read[Registration](ctx, tx, key)
			if err != nil {
				return err
			}
			if !found || !reg.DrainUntil.IsZero() {
				continue
			}
			changed = true
			if delay := tg.DeregistrationDelay(); delay > 0 {
				reg.DrainUntil = now.Add(delay)
				if err := tx.Put(key, reg); err != nil {
					return err
				}
				continue
			}
			tx.Delete(key)
			tx.Delete(HealthKey(region, tg.ID, t))
		}
		if !changed {
			return nil
		}
		return touchTargetGroup(tx, tg)
	})
}

// touchTargetGroup rewrites the group's record with a change of its
// targets, so that the group's deletion, which compares it, never misses a
// target registered meanwhile.
func touchTargetGroup(tx *Tx, tg TargetGroup) error {
	return tx.Put(TargetGroupKey(tg.Region, tg.Name), tg)
}

// RecordHealth records h as the health of target (its ID and Port) in the
// group of region with id tgID, for DescribeTargetHealth to show. A result
// equal to the one recorded (State, Reason, Description) writes nothing,
// so steady targets cost no writes. ErrNotRegistered when the group has no
// such target, or it is gone.
func RecordHealth(ctx context.Context, s store.Store, region, tgID string, target Target, h TargetHealth) error {
	return Run(ctx, s, func(tx *Tx) error {
		reg, found, err := Read[Registration](ctx, tx, TargetKey(region, tgID, target))
		if err != nil {
			return err
		}
		if !found || reg.Gone(h.CheckedAt) {
			return ErrNotRegistered
		}
		key := HealthKey(region, tgID, target)
		cur, found, err := Read[TargetHealth](ctx, tx, key)
		if err != nil {
			return err
		}
		if found && cur.State == h.State && cur.Reason == h.Reason && cur.Description == h.Description {
			return nil
		}
		return tx.Put(key, h)
	})
}

// Targets lists the registrations of the group of region with id tgID
// that are not gone at now, in key order, with the health recorded for each
// that has some, by its id and port.
func Targets(ctx context.Context, s store.Store, region, tgID string, now time.Time) ([]Registration, map[Target]TargetHealth, error) {
	regs, _, err := store.List[Registration](ctx, s, GroupTargets(region, tgID), store.ListOptions{})
	if err != nil {
		return nil, nil, err
	}
	kvs, _, err := s.List(ctx, GroupHealth(region, tgID), store.ListOptions{})
	if err != nil {
		return nil, nil, err
	}
	byKey := make(map[string][]byte, len(kvs))
	for _, kv := range kvs {
		byKey[kv.Key] = kv.Value
	}
	var out []Registration
	health := map[Target]TargetHealth{}
	for _, r := range regs {
		reg := r.Value
		if reg.Gone(now) {
			continue
		}
		out = append(out, reg)
		b, ok := byKey[HealthKey(region, tgID, reg.Target)]
		if !ok {
			continue
		}
		var h TargetHealth
		if err := json.Unmarshal(b, &h); err != nil {
			return nil, nil, fmt.Errorf("elbv2state: decode health of %s: %w", reg.Target.ID, err)
		}
		health[reg.Target.Identity()] = h
	}
	return out, health, nil
}

// SweepTargets removes, in every region, the registrations whose drain
// ended by now with their health, and the registrations and health records
// whose group is gone. A record changed since it was read is left to the
// next sweep.
func SweepTargets(ctx context.Context, s store.Store, now time.Time) error {
	groups, err := TargetGroups(ctx, s, "")
	if err != nil {
		return err
	}
	live := map[string]bool{}
	for _, tg := range groups {
		live[tg.Region+"|"+tg.ID] = true
	}
	regs, _, err := store.List[Registration](ctx, s, TargetPrefix, store.ListOptions{})
	if err != nil {
		return err
	}
	registered := map[string]bool{}
	for _, r := range regs {
		reg := r.Value
		key := TargetKey(reg.Region, reg.TargetGroupID, reg.Target)
		if live[reg.Region+"|"+reg.TargetGroupID] && !reg.Gone(now) {
			registered[HealthKey(reg.Region, reg.TargetGroupID, reg.Target)] = true
			continue
		}
		_, err := s.Txn(ctx, store.Txn{
			If:   []store.Compare{{Key: key, ModRevision: r.ModRevision}},
			Then: []store.Op{store.Delete(key), store.Delete(HealthKey(reg.Region, reg.TargetGroupID, reg.Target))},
		})
		if err != nil && !errors.Is(err, store.ErrConflict) {
			return err
		}
	}
	// Health recorded for a target that went meanwhile (RecordHealth
	// compares the target's record, but a drain's end does not change it).
	kvs, _, err := s.List(ctx, HealthPrefix, store.ListOptions{})
	if err != nil {
		return err
	}
	for _, kv := range kvs {
		if registered[kv.Key] {
			continue
		}
		_, err := s.Txn(ctx, store.Txn{If: []store.Compare{{Key: kv.Key, ModRevision: kv.ModRevision}}, Then: []store.Op{store.Delete(kv.Key)}})
		if err != nil && !errors.Is(err, store.ErrConflict) {
			return err
		}
	}
	return nil
}

// resolveTargets checks targets against the group and completes them: the
// group's port when they name none, an IP target's zone. Repeated targets
// count once.
func resolveTargets(ctx context.Context, s store.Store, tg TargetGroup, targets []Target) ([]Target, error) {
	var out []Target
	var invalid []string
	var nodes map[string]bool
	for _, t := range targets {
		if err := checkTargetID(tg, t.ID); err != nil {
			return nil, err
		}
		if t.Port == 0 {
			t.Port = tg.Port
		}
		switch tg.TargetType {
		case TargetTypeInstance:
			if t.AvailabilityZone != "" {
				// UNVERIFIED wording.
				return nil, validation("An Availability Zone cannot be specified for targets of target groups with target type '%s'", tg.TargetType)
			}
			if nodes == nil {
				var err error
				if nodes, err = instanceIDs(ctx, s); err != nil {
					return nil, err
				}
			}
			if !nodes[t.ID] {
				if !slices.Contains(invalid, t.ID) {
					invalid = append(invalid, t.ID)
				}
				continue
			}
		case TargetTypeIP:
			zone, err := ipTargetZone(ctx, s, tg, t)
			if err != nil {
				return nil, err
			}
			t.AvailabilityZone = zone
		}
		if !slices.ContainsFunc(out, func(o Target) bool { return o.ID == t.ID && o.Port == t.Port }) {
			out = append(out, t)
		}
	}
	if len(invalid) > 0 {
		return nil, awsapi.WithMessage(ErrInvalidTarget, "The following targets are not valid instances: '%s'", strings.Join(invalid, "', '"))
	}
	return out, nil
}

// checkTargetID refuses an id that is not of the group's target type.
func checkTargetID(tg TargetGroup, id string) error {
	switch tg.TargetType {
	case TargetTypeInstance:
		if !strings.HasPrefix(id, "i-") {
			return validation("Instance ID '%s' is not valid", id)
		}
	case TargetTypeIP:
		if a, err := netip.ParseAddr(id); err != nil || !a.Is4() {
			return validation("The IP address '%s' is not a valid IPv4 address", id) // UNVERIFIED wording
		}
	}
	return nil
}

// instanceIDs are the EC2 instance ids of berth's nodes.
func instanceIDs(ctx context.Context, s store.Store) (map[string]bool, error) {
	nodes, _, err := store.List[ecsstate.Node](ctx, s, ecsstate.NodePrefix, store.ListOptions{})
	if err != nil {
		return nil, err
	}
	ids := map[string]bool{}
	for _, n := range nodes {
		ids[ecsstate.EC2InstanceID(n.Value.ID)] = true
	}
	return ids, nil
}

// privateRanges are the addresses outside a group's VPC an IP target may
// have: RFC 1918's and RFC 6598's.
var privateRanges = []netip.Prefix{
	netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("192.168.0.0/16"),
	netip.MustParsePrefix("100.64.0.0/10"),
}

// ipTargetZone is the zone an IP target gets: its subnet's, when a subnet
// of the group's VPC holds it; else the zone it names, which must be
// "all" or one of the region's, for a private address.
func ipTargetZone(ctx context.Context, s store.Store, tg TargetGroup, t Target) (string, error) {
	addr := netip.MustParseAddr(t.ID) // checkTargetID parsed it
	subnets, _, err := store.List[ec2state.Subnet](ctx, s, ec2state.RegionPrefix(ec2state.SubnetPrefix, tg.Region), store.ListOptions{})
	if err != nil {
		return "", err
	}
	for _, sub := range subnets {
		p, err := netip.ParsePrefix(sub.Value.CIDR)
		if err != nil || sub.Value.VPCID != tg.VPCID || !p.Contains(addr) {
			continue
		}
		switch t.AvailabilityZone {
		case "", sub.Value.AvailabilityZone:
			return sub.Value.AvailabilityZone, nil
		case AllZones:
			return "", validation("The IP address '%s' is within the VPC, and cannot have its Availability Zone overridden to '%s' from '%s'",
				t.ID, AllZones, sub.Value.AvailabilityZone)
		default:
			// UNVERIFIED wording.
			return "", validation("The IP address '%s' is in Availability Zone '%s', not '%s'", t.ID, sub.Value.AvailabilityZone, t.AvailabilityZone)
		}
	}
	if !slices.ContainsFunc(privateRanges, func(p netip.Prefix) bool { return p.Contains(addr) }) {
		// UNVERIFIED wording.
		return "", validation("The IP address '%s' is not a valid private IP address", t.ID)
	}
	switch _, ok := ec2state.ZoneByName(tg.Region, t.AvailabilityZone); {
	case t.AvailabilityZone == "":
		return "", validation("The Availability Zone is required for IP address '%s' because it is not in the VPC", t.ID)
	case t.AvailabilityZone != AllZones && !ok:
		return "", validation("The Availability Zone '%s' is not valid", t.AvailabilityZone) // UNVERIFIED wording
	}
	return t.AvailabilityZone, nil
}
