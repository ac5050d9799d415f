package elbv2

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/ec2/ec2state"
	"github.com/berth/berth/internal/ecs/ecsstate"
	"github.com/berth/berth/internal/elbv2/elbv2state"
	"github.com/berth/berth/internal/elbv2/elbv2types"
	"github.com/berth/berth/internal/store"
)

// targetsOf are a request's targets as elbv2state names them.
func targetsOf(in []elbv2types.TargetDescription) ([]elbv2state.Target, error) {
	out := make([]elbv2state.Target, len(in))
	for i, t := range in {
		if t.QuicServerId != nil {
			return nil, unsupported("QUIC server ids (a network load balancer's)")
		}
		out[i] = elbv2state.Target{ID: awsapi.Deref(t.Id), Port: awsapi.Deref(t.Port), AvailabilityZone: awsapi.Deref(t.AvailabilityZone)}
	}
	return out, nil
}

func (e *ELBv2) registerTargets(ctx context.Context, in *elbv2types.RegisterTargetsInput) (*elbv2types.RegisterTargetsOutput, error) {
	targets, err := targetsOf(in.Targets)
	if err != nil {
		return nil, err
	}
	if err := elbv2state.RegisterTargets(ctx, e.store, region(ctx), awsapi.Deref(in.TargetGroupArn), targets, e.now()); err != nil {
		return nil, err
	}
	return &elbv2types.RegisterTargetsOutput{}, nil
}

func (e *ELBv2) deregisterTargets(ctx context.Context, in *elbv2types.DeregisterTargetsInput) (*elbv2types.DeregisterTargetsOutput, error) {
	targets, err := targetsOf(in.Targets)
	if err != nil {
		return nil, err
	}
	if err := elbv2state.DeregisterTargets(ctx, e.store, region(ctx), awsapi.Deref(in.TargetGroupArn), targets, e.now()); err != nil {
		return nil, err
	}
	return &elbv2types.DeregisterTargetsOutput{}, nil
}

// Target health as DescribeTargetHealth words what the control plane
// knows itself.
var (
	healthRegistering   = elbv2state.TargetHealth{State: "initial", Reason: "Elb.RegistrationInProgress", Description: "Target registration is in progress"}
	healthDraining      = elbv2state.TargetHealth{State: "draining", Reason: "Target.DeregistrationInProgress", Description: "Target deregistration is in progress"}
	healthNotInUse      = elbv2state.TargetHealth{State: "unused", Reason: "Target.NotInUse", Description: "Target group is not configured to receive traffic from the load balancer"}
	healthNotRegistered = elbv2state.TargetHealth{State: "unused", Reason: "Target.NotRegistered", Description: "Target is not registered to the target group"}
	healthStopped       = elbv2state.TargetHealth{State: "unused", Reason: "Target.InvalidState", Description: "Target is in the stopped state"}
	healthTerminated    = elbv2state.TargetHealth{State: "unused", Reason: "Target.InvalidState", Description: "Target is in the terminated state"}
)

// targetHealth is a registered target's health at now: draining once
// deregistered; unused while no load balancer sends the group traffic, or
// while its instance's node is not connected; else what the data plane
// recorded (recorded is nil before its first check: the target is still
// being registered).
func targetHealth(tg elbv2state.TargetGroup, reg elbv2state.Registration, recorded *elbv2state.TargetHealth, nodes map[string]ecsstate.Node, now time.Time) elbv2state.TargetHealth {
	switch {
	case reg.Draining(now):
		return healthDraining
	case !tg.InUse():
		return healthNotInUse
	case tg.TargetType == elbv2state.TargetTypeInstance:
		node, ok := nodes[reg.Target.ID]
		if !ok {
			return healthTerminated
		}
		if !node.Connected {
			return healthStopped
		}
	}
	if recorded == nil {
		return healthRegistering
	}
	return *recorded
}

func (e *ELBv2) describeTargetHealth(ctx context.Context, in *elbv2types.DescribeTargetHealthInput) (*elbv2types.DescribeTargetHealthOutput, error) {
	tg, err := e.readTargetGroup(ctx, awsapi.Deref(in.TargetGroupArn))
	if err != nil {
		return nil, err
	}
	asked, err := targetsOf(in.Targets)
	if err != nil {
		return nil, err
	}
	now := e.now()
	regs, health, err := elbv2state.Targets(ctx, e.store, tg.Region, tg.ID, now)
	if err != nil {
		return nil, err
	}
	var nodes map[string]ecsstate.Node
	if tg.TargetType == elbv2state.TargetTypeInstance {
		if nodes, err = e.nodes(ctx); err != nil {
			return nil, err
		}
	}
	out := &elbv2types.DescribeTargetHealthOutput{TargetHealthDescriptions: []elbv2types.TargetHealthDescription{}}
	describe := func(reg elbv2state.Registration) {
		var recorded *elbv2state.TargetHealth
		if h, ok := health[reg.Target.Identity()]; ok {
			recorded = &h
		}
		out.TargetHealthDescriptions = append(out.TargetHealthDescriptions,
			toHealthDescription(tg, reg.Target, targetHealth(tg, reg, recorded, nodes, now)))
	}
	if len(asked) == 0 {
		for _, reg := range regs {
			describe(reg)
		}
		return out, nil
	}
	for _, t := range asked {
		matches := slices.DeleteFunc(slices.Clone(regs), func(r elbv2state.Registration) bool {
			return r.Target.ID != t.ID || (t.Port != 0 && r.Target.Port != t.Port)
		})
		for _, reg := range matches {
			describe(reg)
		}
		if len(matches) == 0 {
			if t.Port == 0 {
				t.Port = tg.Port
			}
			out.TargetHealthDescriptions = append(out.TargetHealthDescriptions, toHealthDescription(tg, t, healthNotRegistered))
		}
	}
	return out, nil
}

func toHealthDescription(tg elbv2state.TargetGroup, t elbv2state.Target, h elbv2state.TargetHealth) elbv2types.TargetHealthDescription {
	return elbv2types.TargetHealthDescription{
		HealthCheckPort: awsapi.String(tg.HealthCheckPort(t)),
		Target: &elbv2types.TargetDescription{
			Id: awsapi.String(t.ID), Port: awsapi.Int32(t.Port), AvailabilityZone: awsapi.OptionalString(t.AvailabilityZone),
		},
		TargetHealth: &elbv2types.TargetHealth{
			State: awsapi.String(h.State), Reason: awsapi.OptionalString(h.Reason), Description: awsapi.OptionalString(h.Description),
		},
	}
}

// nodes are berth's nodes by their EC2 instance id.
func (e *ELBv2) nodes(ctx context.Context) (map[string]ecsstate.Node, error) {
	records, _, err := store.List[ecsstate.Node](ctx, e.store, ecsstate.NodePrefix, store.ListOptions{})
	if err != nil {
		return nil, err
	}
	out := make(map[string]ecsstate.Node, len(records))
	for _, n := range records {
		out[ecsstate.EC2InstanceID(n.Value.ID)] = n.Value
	}
	return out, nil
}

// DefaultDrainSweepInterval is how often the drain sweep runs unless told
// otherwise. DescribeTargetHealth stops showing a target whose drain ended
// at once; the sweep only frees its records.
const DefaultDrainSweepInterval = 15 * time.Second

// interfaceGrace is how old a load balancer's interface must be before the
// sweep may remove it as its load balancer's no longer: one being made is
// made before its load balancer's record is written.
const interfaceGrace = time.Minute

// RunDrainSweep removes, every interval (0: DefaultDrainSweepInterval)
// until ctx ends, the targets of every region whose drain ended, with
// their health; the targets and health of groups deleted; and the network
// interfaces of load balancers (or of their subnets) that are gone.
func (e *ELBv2) RunDrainSweep(ctx context.Context, interval time.Duration) error {
	if interval <= 0 {
		interval = DefaultDrainSweepInterval
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := e.sweep(ctx); err != nil && ctx.Err() == nil {
			e.log.Warn("ELBv2 drain sweep failed; it runs again", "err", err, "in", interval)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (e *ELBv2) sweep(ctx context.Context) error {
	now := e.now()
	if err := elbv2state.SweepTargets(ctx, e.store, now); err != nil {
		return err
	}
	return e.sweepInterfaces(ctx, now)
}

// sweepInterfaces removes the load balancers' interfaces that no load
// balancer has: left by a deletion or a change of subnets that stopped
// half way.
func (e *ELBv2) sweepInterfaces(ctx context.Context, now time.Time) error {
	enis, _, err := store.List[ec2state.NetworkInterface](ctx, e.store, ec2state.InterfacePrefix, store.ListOptions{})
	if err != nil {
		return err
	}
	lbs, err := elbv2state.LoadBalancers(ctx, e.store, "")
	if err != nil {
		return err
	}
	for _, r := range enis {
		eni := r.Value
		if eni.RequesterID != ec2state.RequesterELB || now.Sub(eni.Created) < interfaceGrace {
			continue
		}
		owned := slices.ContainsFunc(lbs, func(lb elbv2state.LoadBalancer) bool {
			return lb.ARN == eni.Owner && slices.ContainsFunc(lb.Subnets, func(s elbv2state.LoadBalancerSubnet) bool { return s.InterfaceID == eni.ID })
		})
		if owned {
			continue
		}
		if err := ec2state.DeleteInterface(ctx, e.store, eni.Region, eni.ID); err != nil && !errors.Is(err, store.ErrConflict) {
			return err
		}
	}
	return nil
}
