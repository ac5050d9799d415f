package servicediscovery

import (
	"context"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/servicediscovery/sdstate"
	"github.com/berth/berth/internal/servicediscovery/sdtypes"
)

// access is what a Cloud Map call needs in IAM's terms, as the Service
// Authorization Reference lists it: "servicediscovery:<operation>" on the
// namespace or service the call names (the namespace for CreateService,
// the service for instance calls), with the tags a call sets
// (aws:RequestTag/<key>, aws:TagKeys); DiscoverInstances with the
// servicediscovery:NamespaceName and ServiceName keys; calls that name
// neither on "*".
func (c *CloudMap) access(ctx context.Context, op string, input any) ([]awsapi.Access, error) {
	acc := awsapi.Access{Action: "servicediscovery:" + op, Resource: "*"}
	r := region(ctx)
	namespace := func(ref *string) string { return sdstate.NamespaceARN(r, c.account, namespaceID(awsapi.Deref(ref))) }
	service := func(ref *string) string { return sdstate.ServiceARN(r, c.account, serviceID(awsapi.Deref(ref))) }
	switch in := input.(type) {
	case *sdtypes.CreateHttpNamespaceRequest:
		acc.Context = requestTags(in.Tags)
	case *sdtypes.CreatePrivateDnsNamespaceRequest:
		acc.Context = requestTags(in.Tags)
	case *sdtypes.CreatePublicDnsNamespaceRequest:
		acc.Context = requestTags(in.Tags)
	case *sdtypes.CreateServiceRequest:
		acc.Resource, acc.Context = namespace(in.NamespaceId), requestTags(in.Tags)
		if in.NamespaceId == nil && in.DnsConfig != nil {
			acc.Resource = namespace(in.DnsConfig.NamespaceId)
		}
	case *sdtypes.GetNamespaceRequest:
		acc.Resource = namespace(in.Id)
	case *sdtypes.DeleteNamespaceRequest:
		acc.Resource = namespace(in.Id)
	case *sdtypes.UpdateHttpNamespaceRequest:
		acc.Resource = namespace(in.Id)
	case *sdtypes.UpdatePrivateDnsNamespaceRequest:
		acc.Resource = namespace(in.Id)
	case *sdtypes.UpdatePublicDnsNamespaceRequest:
		acc.Resource = namespace(in.Id)
	case *sdtypes.GetServiceRequest:
		acc.Resource = service(in.Id)
	case *sdtypes.UpdateServiceRequest:
		acc.Resource = service(in.Id)
	case *sdtypes.DeleteServiceRequest:
		acc.Resource = service(in.Id)
	case *sdtypes.GetServiceAttributesRequest:
		acc.Resource = service(in.ServiceId)
	case *sdtypes.UpdateServiceAttributesRequest:
		acc.Resource = service(in.ServiceId)
	case *sdtypes.DeleteServiceAttributesRequest:
		acc.Resource = service(in.ServiceId)
	case *sdtypes.RegisterInstanceRequest:
		acc.Resource = service(in.ServiceId)
	case *sdtypes.DeregisterInstanceRequest:
		acc.Resource = service(in.ServiceId)
	case *sdtypes.GetInstanceRequest:
		acc.Resource = service(in.ServiceId)
	case *sdtypes.ListInstancesRequest:
		acc.Resource = service(in.ServiceId)
	case *sdtypes.GetInstancesHealthStatusRequest:
		acc.Resource = service(in.ServiceId)
	case *sdtypes.UpdateInstanceCustomHealthStatusRequest:
		acc.Resource = service(in.ServiceId)
	case *sdtypes.DiscoverInstancesRequest:
		acc.Context = map[string][]string{
			"servicediscovery:NamespaceName": {awsapi.Deref(in.NamespaceName)},
			"servicediscovery:ServiceName":   {awsapi.Deref(in.ServiceName)},
		}
	case *sdtypes.DiscoverInstancesRevisionRequest:
		acc.Context = map[string][]string{
			"servicediscovery:NamespaceName": {awsapi.Deref(in.NamespaceName)},
			"servicediscovery:ServiceName":   {awsapi.Deref(in.ServiceName)},
		}
	case *sdtypes.TagResourceRequest:
		acc.Resource, acc.Context = awsapi.Deref(in.ResourceARN), requestTags(in.Tags)
	case *sdtypes.UntagResourceRequest:
		acc.Resource = awsapi.Deref(in.ResourceARN)
		if len(in.TagKeys) > 0 {
			acc.Context = map[string][]string{"aws:TagKeys": in.TagKeys}
		}
	case *sdtypes.ListTagsForResourceRequest:
		acc.Resource = awsapi.Deref(in.ResourceARN)
	}
	return []awsapi.Access{acc}, nil
}

// requestTags are the condition keys of the tags a call sets.
func requestTags(tags []sdtypes.Tag) map[string][]string {
	return awsapi.RequestTags(tags, func(t sdtypes.Tag) (*string, *string) { return t.Key, t.Value })
}
