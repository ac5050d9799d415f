package logs

import (
	"cmp"
	"context"
	"errors"
	"maps"
	"slices"
	"strings"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/logs/logsstate"
	"github.com/berth/berth/internal/logs/logstypes"
)

// accessRule adds what a call with input needs to a.
type accessRule func(a *accessRequest, input any)

func forInput[In any](fn func(a *accessRequest, in *In)) accessRule {
	return func(a *accessRequest, input any) { fn(a, input.(*In)) }
}

// inGroup is the rule of the operations on one log group, named by a name
// or an identifier (a name or an ARN), either of which may be absent.
func inGroup[In any](ref func(in *In) (name, identifier *string)) accessRule {
	return forInput(func(a *accessRequest, in *In) {
		a.need(a.group(ref(in)))
	})
}

// accessRules are the operations that name resources, set condition keys
// or pass roles. The others need "logs:<operation>" on "*", the gateway's
// default: the Service Authorization Reference gives them no resource
// type (GetLogObject it does not list: UNVERIFIED).
var accessRules = map[string]accessRule{
	// One log group.
	"AssociateKmsKey": inGroup(func(in *logstypes.AssociateKmsKeyRequest) (*string, *string) {
		return in.LogGroupName, in.ResourceIdentifier
	}),
	"CreateExportTask": inGroup(func(in *logstypes.CreateExportTaskRequest) (*string, *string) {
		return in.LogGroupName, nil
	}),
	"DeleteDataProtectionPolicy": inGroup(func(in *logstypes.DeleteDataProtectionPolicyRequest) (*string, *string) {
		return nil, in.LogGroupIdentifier
	}),
	"DeleteLogGroup": inGroup(func(in *logstypes.DeleteLogGroupRequest) (*string, *string) {
		return in.LogGroupName, nil
	}),
	"DeleteMetricFilter": inGroup(func(in *logstypes.DeleteMetricFilterRequest) (*string, *string) {
		return in.LogGroupName, nil
	}),
	"DeleteRetentionPolicy": inGroup(func(in *logstypes.DeleteRetentionPolicyRequest) (*string, *string) {
		return in.LogGroupName, nil
	}),
	"DeleteSubscriptionFilter": inGroup(func(in *logstypes.DeleteSubscriptionFilterRequest) (*string, *string) {
		return in.LogGroupName, nil
	}),
	"DeleteTransformer": inGroup(func(in *logstypes.DeleteTransformerRequest) (*string, *string) {
		return nil, in.LogGroupIdentifier
	}),
	"DescribeLogStreams": inGroup(func(in *logstypes.DescribeLogStreamsRequest) (*string, *string) {
		return in.LogGroupName, in.LogGroupIdentifier
	}),
	"DescribeSubscriptionFilters": inGroup(func(in *logstypes.DescribeSubscriptionFiltersRequest) (*string, *string) {
		return in.LogGroupName, nil
	}),
	"DisassociateKmsKey": inGroup(func(in *logstypes.DisassociateKmsKeyRequest) (*string, *string) {
		return in.LogGroupName, in.ResourceIdentifier
	}),
	"FilterLogEvents": inGroup(func(in *logstypes.FilterLogEventsRequest) (*string, *string) {
		return in.LogGroupName, in.LogGroupIdentifier
	}),
	"GetDataProtectionPolicy": inGroup(func(in *logstypes.GetDataProtectionPolicyRequest) (*string, *string) {
		return nil, in.LogGroupIdentifier
	}),
	"GetLogGroupFields": inGroup(func(in *logstypes.GetLogGroupFieldsRequest) (*string, *string) {
		return in.LogGroupName, in.LogGroupIdentifier
	}),
	"GetTransformer": inGroup(func(in *logstypes.GetTransformerRequest) (*string, *string) {
		return nil, in.LogGroupIdentifier
	}),
	"ListTagsLogGroup": inGroup(func(in *logstypes.ListTagsLogGroupRequest) (*string, *string) {
		return in.LogGroupName, nil
	}),
	"PutBearerTokenAuthentication": inGroup(func(in *logstypes.PutBearerTokenAuthenticationRequest) (*string, *string) {
		return nil, in.LogGroupIdentifier
	}),
	"PutDataProtectionPolicy": inGroup(func(in *logstypes.PutDataProtectionPolicyRequest) (*string, *string) {
		return nil, in.LogGroupIdentifier
	}),
	"PutLogGroupDeletionProtection": inGroup(func(in *logstypes.PutLogGroupDeletionProtectionRequest) (*string, *string) {
		return nil, in.LogGroupIdentifier
	}),
	"PutMetricFilter": inGroup(func(in *logstypes.PutMetricFilterRequest) (*string, *string) {
		return in.LogGroupName, nil
	}),
	"PutRetentionPolicy": inGroup(func(in *logstypes.PutRetentionPolicyRequest) (*string, *string) {
		return in.LogGroupName, nil
	}),
	"PutTransformer": inGroup(func(in *logstypes.PutTransformerRequest) (*string, *string) {
		return nil, in.LogGroupIdentifier
	}),
	// Without a group, every group's metric filters.
	"DescribeMetricFilters": forInput(func(a *accessRequest, in *logstypes.DescribeMetricFiltersRequest) {
		if in.LogGroupName == nil {
			a.need(a.everyGroup(), nil) // UNVERIFIED: as DescribeLogGroups
			return
		}
		a.need(a.group(in.LogGroupName, nil))
	}),
	"PutSubscriptionFilter": forInput(func(a *accessRequest, in *logstypes.PutSubscriptionFilterRequest) {
		a.need(a.group(in.LogGroupName, nil))
		// A subscription's other destinations (Kinesis, Firehose, Lambda)
		// are not CloudWatch Logs resources.
		if dest := strings.SplitN(awsapi.Deref(in.DestinationArn), ":", 7); len(dest) == 7 && dest[2] == "logs" && dest[5] == "destination" {
			a.need(awsapi.Deref(in.DestinationArn), nil)
		}
		a.passRole(in.RoleArn)
	}),

	// Log groups' creation and tags.
	"CreateLogGroup": forInput(func(a *accessRequest, in *logstypes.CreateLogGroupRequest) {
		resource := a.groupResource(logsstate.GroupID{Region: a.region, Name: awsapi.Deref(in.LogGroupName)})
		a.need(resource, requestTags(in.Tags))
		a.tagOnCreate(resource, in.Tags)
	}),
	"TagLogGroup": forInput(func(a *accessRequest, in *logstypes.TagLogGroupRequest) {
		resource, c := a.group(in.LogGroupName, nil)
		a.need(resource, merge(c, requestTags(in.Tags)))
	}),
	"UntagLogGroup": forInput(func(a *accessRequest, in *logstypes.UntagLogGroupRequest) {
		resource, c := a.group(in.LogGroupName, nil)
		a.need(resource, merge(c, tagKeys(in.Tags)))
	}),
	"ListTagsForResource": forInput(func(a *accessRequest, in *logstypes.ListTagsForResourceRequest) {
		a.need(a.tagged(awsapi.Deref(in.ResourceArn)))
	}),
	"TagResource": forInput(func(a *accessRequest, in *logstypes.TagResourceRequest) {
		resource, c := a.tagged(awsapi.Deref(in.ResourceArn))
		a.need(resource, merge(c, requestTags(in.Tags)))
	}),
	"UntagResource": forInput(func(a *accessRequest, in *logstypes.UntagResourceRequest) {
		resource, c := a.tagged(awsapi.Deref(in.ResourceArn))
		a.need(resource, merge(c, tagKeys(in.TagKeys)))
	}),

	// Every group, as CloudWatch Logs names them in its denials.
	"DescribeLogGroups": forInput(func(a *accessRequest, _ *logstypes.DescribeLogGroupsRequest) {
		a.need(a.everyGroup(), nil)
	}),
	"ListLogGroups": forInput(func(a *accessRequest, _ *logstypes.ListLogGroupsRequest) {
		a.need(a.everyGroup(), nil) // UNVERIFIED: as DescribeLogGroups
	}),

	// Log streams.
	"CreateLogStream": forInput(func(a *accessRequest, in *logstypes.CreateLogStreamRequest) {
		a.need(a.stream(in.LogGroupName, nil, awsapi.Deref(in.LogStreamName)))
	}),
	"DeleteLogStream": forInput(func(a *accessRequest, in *logstypes.DeleteLogStreamRequest) {
		a.need(a.stream(in.LogGroupName, nil, awsapi.Deref(in.LogStreamName)))
	}),
	"GetLogEvents": forInput(func(a *accessRequest, in *logstypes.GetLogEventsRequest) {
		a.need(a.stream(in.LogGroupName, in.LogGroupIdentifier, awsapi.Deref(in.LogStreamName)))
	}),
	"PutLogEvents": forInput(func(a *accessRequest, in *logstypes.PutLogEventsRequest) {
		a.need(a.stream(in.LogGroupName, nil, awsapi.Deref(in.LogStreamName)))
	}),

	// Several log groups.
	"CreateLogAnomalyDetector": forInput(func(a *accessRequest, in *logstypes.CreateLogAnomalyDetectorRequest) {
		for _, arn := range in.LogGroupArnList {
			resource, c := a.group(nil, &arn)
			a.need(resource, merge(c, requestTags(in.Tags)))
		}
		// UNVERIFIED: the resource CloudWatch Logs names for the detector to come.
		a.tagOnCreate(a.arn("anomaly-detector", "*"), in.Tags)
	}),
	"GetLogRecord": forInput(func(a *accessRequest, in *logstypes.GetLogRecordRequest) {
		if p, ok := parsePointer(awsapi.Deref(in.LogRecordPointer)); ok {
			id := logsstate.GroupID{Region: p.Region, Name: p.Group}
			a.need(a.groupResource(id), a.groupTags(id))
		}
	}),
	// UNVERIFIED: the query's groups are the resources of its results.
	"GetQueryResults": forInput(func(a *accessRequest, in *logstypes.GetQueryResultsRequest) {
		if q, ok := a.s.queries.get(awsapi.Deref(in.QueryId)); ok {
			for _, id := range q.groups {
				a.need(a.groupResource(id), a.groupTags(id))
			}
		}
	}),
	"StartLiveTail": forInput(func(a *accessRequest, in *logstypes.StartLiveTailRequest) {
		for _, ident := range in.LogGroupIdentifiers {
			a.need(a.group(nil, &ident))
		}
	}),
	"StartQuery": forInput(func(a *accessRequest, in *logstypes.StartQueryRequest) {
		if in.LogGroupName != nil {
			a.need(a.group(in.LogGroupName, nil))
		}
		for _, name := range in.LogGroupNames {
			a.need(a.group(&name, nil))
		}
		for _, ident := range in.LogGroupIdentifiers {
			a.need(a.group(nil, &ident))
		}
	}),

	// Anomaly detectors, deliveries, destinations, lookup tables and
	// scheduled queries, which berth does not store: they carry no tags
	// here.
	"DeleteLogAnomalyDetector": forInput(func(a *accessRequest, in *logstypes.DeleteLogAnomalyDetectorRequest) {
		a.need(awsapi.Deref(in.AnomalyDetectorArn), nil)
	}),
	"GetLogAnomalyDetector": forInput(func(a *accessRequest, in *logstypes.GetLogAnomalyDetectorRequest) {
		a.need(awsapi.Deref(in.AnomalyDetectorArn), nil)
	}),
	"ListAnomalies": forInput(func(a *accessRequest, in *logstypes.ListAnomaliesRequest) {
		a.need(cmp.Or(awsapi.Deref(in.AnomalyDetectorArn), "*"), nil)
	}),
	"UpdateAnomaly": forInput(func(a *accessRequest, in *logstypes.UpdateAnomalyRequest) {
		a.need(awsapi.Deref(in.AnomalyDetectorArn), nil)
	}),
	"UpdateLogAnomalyDetector": forInput(func(a *accessRequest, in *logstypes.UpdateLogAnomalyDetectorRequest) {
		a.need(awsapi.Deref(in.AnomalyDetectorArn), nil)
	}),

	"CreateDelivery": forInput(func(a *accessRequest, in *logstypes.CreateDeliveryRequest) {
		// UNVERIFIED: the resource CloudWatch Logs names for the delivery to come.
		delivery := a.arn("delivery", "*")
		for _, resource := range []string{delivery, awsapi.Deref(in.DeliveryDestinationArn), a.arn("delivery-source", awsapi.Deref(in.DeliverySourceName))} {
			a.need(resource, requestTags(in.Tags))
		}
		a.tagOnCreate(delivery, in.Tags)
	}),
	"DeleteDelivery": forInput(func(a *accessRequest, in *logstypes.DeleteDeliveryRequest) {
		a.need(a.arn("delivery", awsapi.Deref(in.Id)), nil)
	}),
	"GetDelivery": forInput(func(a *accessRequest, in *logstypes.GetDeliveryRequest) {
		a.need(a.arn("delivery", awsapi.Deref(in.Id)), nil)
	}),
	// UNVERIFIED: the reference has the delivery's source and destination
	// authorized as well; the call names neither.
	"UpdateDeliveryConfiguration": forInput(func(a *accessRequest, in *logstypes.UpdateDeliveryConfigurationRequest) {
		a.need(a.arn("delivery", awsapi.Deref(in.Id)), nil)
	}),
	"DeleteDeliveryDestination": forInput(func(a *accessRequest, in *logstypes.DeleteDeliveryDestinationRequest) {
		a.need(a.arn("delivery-destination", awsapi.Deref(in.Name)), nil)
	}),
	"DeleteDeliveryDestinationPolicy": forInput(func(a *accessRequest, in *logstypes.DeleteDeliveryDestinationPolicyRequest) {
		a.need(a.arn("delivery-destination", awsapi.Deref(in.DeliveryDestinationName)), nil)
	}),
	"GetDeliveryDestination": forInput(func(a *accessRequest, in *logstypes.GetDeliveryDestinationRequest) {
		a.need(a.arn("delivery-destination", awsapi.Deref(in.Name)), nil)
	}),
	"GetDeliveryDestinationPolicy": forInput(func(a *accessRequest, in *logstypes.GetDeliveryDestinationPolicyRequest) {
		a.need(a.arn("delivery-destination", awsapi.Deref(in.DeliveryDestinationName)), nil)
	}),
	"PutDeliveryDestination": forInput(func(a *accessRequest, in *logstypes.PutDeliveryDestinationRequest) {
		a.create(a.arn("delivery-destination", awsapi.Deref(in.Name)), in.Tags)
	}),
	"PutDeliveryDestinationPolicy": forInput(func(a *accessRequest, in *logstypes.PutDeliveryDestinationPolicyRequest) {
		a.need(a.arn("delivery-destination", awsapi.Deref(in.DeliveryDestinationName)), nil)
	}),
	// UNVERIFIED: the reference names the delivery destination type here,
	// which the call does not name; its source is authorized.
	"DeleteDeliverySource": forInput(func(a *accessRequest, in *logstypes.DeleteDeliverySourceRequest) {
		a.need(a.arn("delivery-source", awsapi.Deref(in.Name)), nil)
	}),
	"GetDeliverySource": forInput(func(a *accessRequest, in *logstypes.GetDeliverySourceRequest) {
		a.need(a.arn("delivery-source", awsapi.Deref(in.Name)), nil)
	}),
	"PutDeliverySource": forInput(func(a *accessRequest, in *logstypes.PutDeliverySourceRequest) {
		a.create(a.arn("delivery-source", awsapi.Deref(in.Name)), in.Tags)
	}),

	"DeleteDestination": forInput(func(a *accessRequest, in *logstypes.DeleteDestinationRequest) {
		a.need(a.arn("destination", awsapi.Deref(in.DestinationName)), nil)
	}),
	"PutDestination": forInput(func(a *accessRequest, in *logstypes.PutDestinationRequest) {
		a.create(a.arn("destination", awsapi.Deref(in.DestinationName)), in.Tags)
		a.passRole(in.RoleArn)
	}),
	"PutDestinationPolicy": forInput(func(a *accessRequest, in *logstypes.PutDestinationPolicyRequest) {
		a.need(a.arn("destination", awsapi.Deref(in.DestinationName)), nil)
	}),

	"CreateLookupTable": forInput(func(a *accessRequest, in *logstypes.CreateLookupTableRequest) {
		a.create(a.arn("lookup-table", awsapi.Deref(in.LookupTableName)), in.Tags)
	}),
	"DeleteLookupTable": forInput(func(a *accessRequest, in *logstypes.DeleteLookupTableRequest) {
		a.need(awsapi.Deref(in.LookupTableArn), nil)
	}),
	"GetLookupTable": forInput(func(a *accessRequest, in *logstypes.GetLookupTableRequest) {
		a.need(awsapi.Deref(in.LookupTableArn), nil)
	}),
	"UpdateLookupTable": forInput(func(a *accessRequest, in *logstypes.UpdateLookupTableRequest) {
		a.need(awsapi.Deref(in.LookupTableArn), nil)
	}),

	"CreateScheduledQuery": forInput(func(a *accessRequest, in *logstypes.CreateScheduledQueryRequest) {
		// UNVERIFIED: the resource CloudWatch Logs names for the query to
		// come, whose id it makes.
		a.create(a.arn("scheduled-query", "*"), in.Tags)
		a.passRole(in.ExecutionRoleArn)
	}),
	"DeleteScheduledQuery": forInput(func(a *accessRequest, in *logstypes.DeleteScheduledQueryRequest) {
		a.need(a.scheduledQuery(in.Identifier), nil)
	}),
	"GetScheduledQuery": forInput(func(a *accessRequest, in *logstypes.GetScheduledQueryRequest) {
		a.need(a.scheduledQuery(in.Identifier), nil)
	}),
	"GetScheduledQueryHistory": forInput(func(a *accessRequest, in *logstypes.GetScheduledQueryHistoryRequest) {
		a.need(a.scheduledQuery(in.Identifier), nil)
	}),
	"UpdateScheduledQuery": forInput(func(a *accessRequest, in *logstypes.UpdateScheduledQueryRequest) {
		a.need(a.scheduledQuery(in.Identifier), nil)
		a.passRole(in.ExecutionRoleArn)
	}),

	"CreateImportTask": forInput(func(a *accessRequest, in *logstypes.CreateImportTaskRequest) {
		a.need("*", nil)
		a.passRole(in.ImportRoleArn)
	}),
}

// access is the service's awsapi.Service.Access: what a call needs in
// IAM's terms, as the Service Authorization Reference for Amazon
// CloudWatch Logs gives the actions, resource types and condition keys.
//
// CloudWatch Logs authorizes what it does to a log group on the group's
// log-stream ARN with an empty stream name
// (arn:aws:logs:<region>:<account>:log-group:<name>:log-stream:), and
// DescribeLogGroups on the same with an empty group name, as its denials
// name them: a policy's "log-group:<name>:*" covers both a group and its
// streams. (Seen for CreateLogGroup, DescribeMetricFilters and
// DescribeLogGroups; UNVERIFIED for the other actions.) A group that does
// not exist is authorized by the name the call gives it; the handler then
// answers that it is missing.
func (s *service) access(ctx context.Context, operation string, input any) ([]awsapi.Access, error) {
	rule, ok := accessRules[operation]
	if !ok {
		return nil, nil
	}
	a := &accessRequest{s: s, ctx: ctx, operation: operation, region: region(ctx)}
	rule(a, input)
	return a.accesses, a.err
}

// accessRequest collects what one call needs.
type accessRequest struct {
	s         *service
	ctx       context.Context
	operation string
	region    string
	accesses  []awsapi.Access
	// err is the first store read that failed.
	err error
}

// need adds the call's own action on resource.
func (a *accessRequest) need(resource string, c map[string][]string) {
	a.accesses = append(a.accesses, awsapi.Access{Action: "logs:" + a.operation, Resource: resource, Context: c})
}

// arn is the ARN of a resource of the request's account and region of a
// type the service has no builder for ("destination").
func (a *accessRequest) arn(kind, name string) string {
	return "arn:aws:logs:" + a.region + ":" + a.s.account + ":" + kind + ":" + name
}

// groupResource is the resource a log group's actions are authorized on.
func (a *accessRequest) groupResource(id logsstate.GroupID) string { return a.s.streamARN(id, "") }

// everyGroup is the resource actions on all of the region's groups are
// authorized on.
func (a *accessRequest) everyGroup() string {
	return a.groupResource(logsstate.GroupID{Region: a.region})
}

// group is the resource of the log group a call names, with the group's
// tags; a reference that names no group here is authorized as given.
func (a *accessRequest) group(name, identifier *string) (string, map[string][]string) {
	return a.stream(name, identifier, "")
}

// stream is the resource of a log stream (of its group, for ""), with the
// group's tags: streams have none of their own.
func (a *accessRequest) stream(name, identifier *string, stream string) (string, map[string][]string) {
	id, err := a.s.groupRef(a.ctx, name, identifier)
	if err != nil {
		return cmp.Or(awsapi.Deref(identifier), awsapi.Deref(name)), nil
	}
	return a.s.streamARN(id, stream), a.groupTags(id)
}

// groupTags are a group's tags as resource tag conditions, none when it
// does not exist.
func (a *accessRequest) groupTags(id logsstate.GroupID) map[string][]string {
	g, err := a.s.group(a.ctx, id)
	if err != nil {
		if !errors.Is(err, errGroupNotFound) && a.err == nil {
			a.err = err
		}
		return nil
	}
	if len(g.Value.Tags) == 0 {
		return nil
	}
	c := map[string][]string{}
	for k, v := range g.Value.Tags {
		c["aws:ResourceTag/"+k] = []string{v}
	}
	return c
}

// tagged is the resource a tagging call's ARN names, with its tags when
// it is a log group of this account.
func (a *accessRequest) tagged(arn string) (string, map[string][]string) {
	id, err := a.s.groupFromARN(arn)
	if err != nil {
		return arn, nil
	}
	return a.groupResource(id), a.groupTags(id)
}

// scheduledQuery is the ARN a scheduled query's identifier (its ARN or
// id) names.
func (a *accessRequest) scheduledQuery(identifier *string) string {
	ref := awsapi.Deref(identifier)
	if strings.HasPrefix(ref, "arn:") {
		return ref
	}
	return a.arn("scheduled-query", ref)
}

// create adds the call's action on a resource it creates with tags, and
// logs:TagResource for them.
func (a *accessRequest) create(resource string, tags map[string]string) {
	a.need(resource, requestTags(tags))
	a.tagOnCreate(resource, tags)
}

// tagOnCreate adds logs:TagResource on a resource a call creates with
// tags, which CloudWatch Logs authorizes as well as the call's action.
func (a *accessRequest) tagOnCreate(resource string, tags map[string]string) {
	if len(tags) > 0 {
		a.accesses = append(a.accesses, awsapi.Access{Action: "logs:TagResource", Resource: resource, Context: requestTags(tags)})
	}
}

// passRole adds iam:PassRole on role, if the call gives one. UNVERIFIED:
// the service the role is passed to, which the reference does not name.
func (a *accessRequest) passRole(role *string) {
	if arn := awsapi.Deref(role); arn != "" {
		a.accesses = append(a.accesses, awsapi.Access{Action: "iam:PassRole", Resource: arn})
	}
}

// requestTags are the condition keys of tags a call gives, nil for none.
func requestTags(tags map[string]string) map[string][]string {
	if len(tags) == 0 {
		return nil
	}
	c := map[string][]string{}
	for k, v := range tags {
		c["aws:RequestTag/"+k] = []string{v}
		c["aws:TagKeys"] = append(c["aws:TagKeys"], k)
	}
	slices.Sort(c["aws:TagKeys"])
	return c
}

// tagKeys is aws:TagKeys for the keys a call removes, nil for none.
func tagKeys(keys []string) map[string][]string {
	if len(keys) == 0 {
		return nil
	}
	return map[string][]string{"aws:TagKeys": keys}
}

// merge adds the keys of add, a map of the caller's, to c.
func merge(c, add map[string][]string) map[string][]string {
	if c == nil {
		return add
	}
	maps.Copy(c, add)
	return c
}
