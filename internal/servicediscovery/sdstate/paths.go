// Package sdstate holds AWS Cloud Map's records in berth's store:
// namespaces, services, service instances and the operations that change
// them. The Cloud Map API (internal/servicediscovery) writes them; berth's
// DNS server (internal/dnsserver) follows "servicediscovery/" and answers
// from them (LoadSnapshot, Snapshot.Apply); ECS registers and deregisters
// its service tasks with Run, as a user's RegisterInstance does.
//
// The layout (every key starts "servicediscovery/"). Regions never contain
// '|', nor do ids (lower-case letters and digits), so '|' separates them.
// Each kind's prefix lists every region; <prefix><region>| lists one
// region's.
//
//	servicediscovery/namespace/<region>|<namespace id>              Namespace
//	servicediscovery/nsname/<region>|<lower-case HTTP name>         NameClaim: the namespace of an HTTP name
//	servicediscovery/service/<region>|<service id>                  Service
//	servicediscovery/svcname/<region>|<namespace id>|<lower name>   NameClaim: the service of a name in a namespace
//	servicediscovery/instance/<region>|<service id>|<instance id>   Instance
//	servicediscovery/operation/<region>|<operation id>              Operation
//
// Instance ids are the user's (up to 64 characters of [0-9a-zA-Z_/:.@-]);
// '|' is not among them.
//
// A namespace's HTTP name is unique in its region (DiscoverInstances finds
// a namespace by it), a service's name in its namespace; the claims are written
// with what they name, required absent. A service's creation or deletion
// rewrites its namespace (ServiceCount), an instance's registration or
// deregistration its service (InstanceCount, InstancesRevision), so a
// parent's deletion, which compares its own revision, never misses a child
// made meanwhile.
package sdstate

import "strings"

const (
	Prefix          = "servicediscovery/"
	NamespacePrefix = "servicediscovery/namespace/"
	NSNamePrefix    = "servicediscovery/nsname/"
	ServicePrefix   = "servicediscovery/service/"
	SvcNamePrefix   = "servicediscovery/svcname/"
	InstancePrefix  = "servicediscovery/instance/"
	OperationPrefix = "servicediscovery/operation/"
)

// RegionPrefix lists one region's records of the kind prefix names.
func RegionPrefix(prefix, region string) string { return prefix + region + "|" }

func NamespaceKey(region, id string) string { return RegionPrefix(NamespacePrefix, region) + id }

// NamespaceNameKey is the claim of a namespace HTTP name in a region.
func NamespaceNameKey(region, httpName string) string {
	return RegionPrefix(NSNamePrefix, region) + strings.ToLower(httpName)
}

func ServiceKey(region, id string) string { return RegionPrefix(ServicePrefix, region) + id }

// ServiceNameKey is the claim of a service name in a namespace.
func ServiceNameKey(region, namespaceID, name string) string {
	return RegionPrefix(SvcNamePrefix, region) + namespaceID + "|" + strings.ToLower(name)
}

func InstanceKey(region, serviceID, instanceID string) string {
	return ServiceInstances(region, serviceID) + instanceID
}

// ServiceInstances is the prefix of every instance of a service.
func ServiceInstances(region, serviceID string) string {
	return RegionPrefix(InstancePrefix, region) + serviceID + "|"
}

func OperationKey(region, id string) string { return RegionPrefix(OperationPrefix, region) + id }

// Id prefixes.
const (
	NamespaceIDPrefix = "ns-"
	ServiceIDPrefix   = "srv-"
)

// NamespaceARN and ServiceARN are Cloud Map's resource ARNs.
func NamespaceARN(region, account, id string) string {
	return "arn:aws:servicediscovery:" + region + ":" + account + ":namespace/" + id
}

func ServiceARN(region, account, id string) string {
	return "arn:aws:servicediscovery:" + region + ":" + account + ":service/" + id
}

// ParseARN splits a Cloud Map ARN,
// arn:aws:servicediscovery:<region>:<account>:<kind>/<id>.
func ParseARN(arn string) (region, account, kind, id string, ok bool) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[1] != "aws" || parts[2] != "servicediscovery" || parts[3] == "" || parts[4] == "" {
		return "", "", "", "", false
	}
	kind, id, ok = strings.Cut(parts[5], "/")
	if !ok || id == "" || strings.ContainsAny(id, "/|") {
		return "", "", "", "", false
	}
	return parts[3], parts[4], kind, id, true
}
