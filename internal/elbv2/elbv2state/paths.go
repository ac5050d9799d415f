// Package elbv2state holds Elastic Load Balancing v2's records in berth's
// store: application load balancers, their listeners and rules, target
// groups, the targets registered with them and the health berth's load
// balancer data plane observes. The ELBv2 API (internal/elbv2) writes them;
// the data plane watches "elbv2/" and rebuilds its routing from them
// (LoadSnapshot, Snapshot.Apply); ECS registers its tasks' addresses with
// RegisterTargets and DeregisterTargets.
//
// The layout (every key starts "elbv2/"). Regions never contain '|', nor do
// names (alphanumerics and hyphens), ids (hex) or target ids (instance ids,
// IP addresses), so '|' separates them. Each kind's prefix lists every
// region; <prefix><region>| lists one region's.
//
//	elbv2/lb/<region>|<name>                              LoadBalancer
//	elbv2/tg/<region>|<name>                              TargetGroup
//	elbv2/listener/<region>|<lb id>|<listener id>         Listener
//	elbv2/rule/<region>|<listener id>|<rule id>           Rule (not the default rule: its listener holds it)
//	elbv2/target/<region>|<tg id>|<target id>|<port>      Registration: a target registered with a group
//	elbv2/health/<region>|<tg id>|<target id>|<port>      TargetHealth: what the data plane last observed
//
// Load balancers and target groups are keyed by name, which is unique in a
// region; their ARNs also carry a random id, so an ARN of one deleted and
// made again under its name finds nothing. Listeners, rules, targets and
// health are keyed by their parent's id for the same reason.
//
// A change to a child rewrites its parent in the same transaction (a
// listener or rule its load balancer's or listener's record, a target its
// group's), so a parent's deletion, which reads its children and compares
// its own revision, never misses a child made meanwhile. A target group
// lists the listeners and rules that forward to it (UsedBy), written with
// them, so a group in use cannot be deleted and one load balancer's group
// cannot be taken by another.
package elbv2state

import (
	"strconv"
	"strings"
)

const (
	Prefix             = "elbv2/"
	LoadBalancerPrefix = "elbv2/lb/"
	TargetGroupPrefix  = "elbv2/tg/"
	ListenerPrefix     = "elbv2/listener/"
	RulePrefix         = "elbv2/rule/"
	TargetPrefix       = "elbv2/target/"
	HealthPrefix       = "elbv2/health/"
)

// RegionPrefix lists one region's records of the kind prefix names.
func RegionPrefix(prefix, region string) string { return prefix + region + "|" }

func LoadBalancerKey(region, name string) string {
	return RegionPrefix(LoadBalancerPrefix, region) + name
}

func TargetGroupKey(region, name string) string {
	return RegionPrefix(TargetGroupPrefix, region) + name
}

func ListenerKey(region, lbID, listenerID string) string {
	return LoadBalancerListeners(region, lbID) + listenerID
}

// LoadBalancerListeners lists a load balancer's listeners.
func LoadBalancerListeners(region, lbID string) string {
	return RegionPrefix(ListenerPrefix, region) + lbID + "|"
}

func RuleKey(region, listenerID, ruleID string) string {
	return ListenerRules(region, listenerID) + ruleID
}

// ListenerRules lists a listener's rules (its default rule aside).
func ListenerRules(region, listenerID string) string {
	return RegionPrefix(RulePrefix, region) + listenerID + "|"
}

func TargetKey(region, tgID string, t Target) string {
	return GroupTargets(region, tgID) + targetSuffix(t)
}

// GroupTargets lists a target group's registrations.
func GroupTargets(region, tgID string) string {
	return RegionPrefix(TargetPrefix, region) + tgID + "|"
}

func HealthKey(region, tgID string, t Target) string {
	return GroupHealth(region, tgID) + targetSuffix(t)
}

// GroupHealth lists the health recorded for a target group's targets.
func GroupHealth(region, tgID string) string {
	return RegionPrefix(HealthPrefix, region) + tgID + "|"
}

func targetSuffix(t Target) string { return t.ID + "|" + strconv.Itoa(int(t.Port)) }

// ARN prefixes and resource types.
const (
	arnPrefix = "arn:aws:elasticloadbalancing:"
	// LoadBalancerTypeApplication is the only type berth serves; its ARNs
	// name it "app".
	LoadBalancerTypeApplication = "application"
	appSegment                  = "app"
)

// LoadBalancerARN is the ARN of an application load balancer.
func LoadBalancerARN(region, account, name, id string) string {
	return arnPrefix + region + ":" + account + ":loadbalancer/app/" + name + "/" + id
}

// TargetGroupARN is the ARN of a target group.
func TargetGroupARN(region, account, name, id string) string {
	return arnPrefix + region + ":" + account + ":targetgroup/" + name + "/" + id
}

// ListenerARN is the ARN of a listener of the load balancer lb.
func ListenerARN(lb Ref, listenerID string) string {
	return arnPrefix + lb.Region + ":" + lb.Account + ":listener/app/" + lb.Name + "/" + lb.ID + "/" + listenerID
}

// RuleARN is the ARN of a rule of the listener l.
func RuleARN(l Ref, ruleID string) string {
	return arnPrefix + l.Region + ":" + l.Account + ":listener-rule/app/" + l.Name + "/" + l.ID + "/" + l.ListenerID + "/" + ruleID
}

// Ref is what an ELBv2 ARN names. Name and ID are the load balancer's (or
// the target group's); ListenerID and RuleID are set for the ARNs of
// listeners and rules.
type Ref struct {
	Kind            string // one of the Kind constants
	Region, Account string
	Name, ID        string
	ListenerID      string
	RuleID          string
}

// Kinds of ELBv2 resources, as their ARNs name them.
const (
	KindLoadBalancer = "loadbalancer"
	KindTargetGroup  = "targetgroup"
	KindListener     = "listener"
	KindRule         = "listener-rule"
)

// LoadBalancerARN is the ARN of the load balancer a listener's or rule's
// ref belongs to (the load balancer's own for a load balancer's).
func (r Ref) LoadBalancerARN() string { return LoadBalancerARN(r.Region, r.Account, r.Name, r.ID) }

// ListenerARN is the ARN of the listener a rule's ref belongs to (the
// listener's own for a listener's).
func (r Ref) ListenerARN() string { return ListenerARN(r, r.ListenerID) }

// ParseARN splits an ELBv2 ARN of berth's forms: a load balancer's of type
// application, a target group's, a listener's or a rule's of one. It
// reports false for anything else (another service, a network load
// balancer's, a malformed id).
func ParseARN(arn string) (Ref, bool) {
	rest, ok := strings.CutPrefix(arn, arnPrefix)
	if !ok {
		return Ref{}, false
	}
	parts := strings.SplitN(rest, ":", 3)
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" {
		return Ref{}, false
	}
	r := Ref{Region: parts[0], Account: parts[1]}
	path := strings.Split(parts[2], "/")
	switch {
	case len(path) == 3 && path[0] == KindTargetGroup:
		r.Kind, r.Name, r.ID = KindTargetGroup, path[1], path[2]
	case len(path) == 4 && path[0] == KindLoadBalancer && path[1] == appSegment:
		r.Kind, r.Name, r.ID = KindLoadBalancer, path[2], path[3]
	case len(path) == 5 && path[0] == KindListener && path[1] == appSegment:
		r.Kind, r.Name, r.ID, r.ListenerID = KindListener, path[2], path[3], path[4]
		if !ValidID(r.ListenerID) {
			return Ref{}, false
		}
	case len(path) == 6 && path[0] == KindRule && path[1] == appSegment:
		r.Kind, r.Name, r.ID, r.ListenerID, r.RuleID = KindRule, path[2], path[3], path[4], path[5]
		if !ValidID(r.ListenerID) || !ValidID(r.RuleID) {
			return Ref{}, false
		}
	default:
		return Ref{}, false
	}
	if r.Name == "" || !ValidID(r.ID) {
		return Ref{}, false
	}
	return r, true
}

// ValidID reports whether id has the form of ELBv2's resource ids: 16
// lower-case hex digits.
func ValidID(id string) bool {
	if len(id) != 16 {
		return false
	}
	for _, c := range id {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
