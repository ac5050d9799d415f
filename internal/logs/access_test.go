package logs

import (
	"context"
	"maps"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/google/go-cmp/cmp"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/logs/logsstate"
	"github.com/berth/berth/internal/logs/logstypes"
)

// wildcardOperations need "logs:<operation>" on "*": the Service
// Authorization Reference gives them no resource type, or (GetLogObject)
// does not list them.
var wildcardOperations = []string{
	"AssociateSourceToS3TableIntegration", "CancelExportTask", "CancelImportTask", "DeleteAccountPolicy",
	"DeleteIndexPolicy", "DeleteIntegration", "DeleteQueryDefinition", "DeleteResourcePolicy",
	"DescribeAccountPolicies", "DescribeConfigurationTemplates", "DescribeDeliveries", "DescribeDeliveryDestinations",
	"DescribeDeliverySources", "DescribeDestinations", "DescribeExportTasks", "DescribeFieldIndexes",
	"DescribeImportTaskBatches", "DescribeImportTasks", "DescribeIndexPolicies", "DescribeLookupTables",
	"DescribeQueries", "DescribeQueryDefinitions", "DescribeResourcePolicies", "DisassociateSourceFromS3TableIntegration",
	"GetIntegration", "GetLogFields", "GetLogObject", "ListAggregateLogGroupSummaries", "ListIntegrations",
	"ListLogAnomalyDetectors", "ListLogGroupsForQuery", "ListScheduledQueries", "ListSourcesForS3TableIntegration",
	"PutAccountPolicy", "PutIndexPolicy", "PutIntegration", "PutQueryDefinition", "PutResourcePolicy",
	"StopQuery", "TestMetricFilter", "TestTransformer",
}

type accessCase struct {
	name string
	op   string
	in   any
	want []awsapi.Access
}

func logsARN(resource string) string { return "arn:aws:logs:us-east-1:123456789012:" + resource }

func TestAccess(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	if _, err := e.client.CreateLogGroup(ctx, &sdk.CreateLogGroupInput{LogGroupName: aws.String("/app"), Tags: map[string]string{"team": "a"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.CreateLogGroup(ctx, &sdk.CreateLogGroupInput{LogGroupName: aws.String("/plain")}); err != nil {
		t.Fatal(err)
	}
	query, err := e.client.StartQuery(ctx, &sdk.StartQueryInput{LogGroupNames: []string{"/app", "/plain"}, QueryString: aws.String("fields @message"),
		StartTime: aws.Int64(0), EndTime: aws.Int64(1)})
	if err != nil {
		t.Fatal(err)
	}
	svc := e.logs.Service()
	reqCtx := awsapi.WithRequest(ctx, &awsapi.RequestInfo{Region: testRegion})

	var (
		app      = logsARN("log-group:/app:log-stream:")
		plain    = logsARN("log-group:/plain:log-stream:")
		every    = logsARN("log-group::log-stream:")
		appTags  = map[string][]string{"aws:ResourceTag/team": {"a"}}
		newTags  = map[string][]string{"aws:RequestTag/k": {"v"}, "aws:TagKeys": {"k"}}
		role     = "arn:aws:iam::123456789012:role/logs"
		detector = logsARN("anomaly-detector:d1")
	)
	onApp := func(op string) []awsapi.Access {
		return []awsapi.Access{{Action: "logs:" + op, Resource: app, Context: appTags}}
	}
	on := func(op, resource string) []awsapi.Access {
		return []awsapi.Access{{Action: "logs:" + op, Resource: resource}}
	}
	withTags := func(c map[string][]string) map[string][]string {
		out := maps.Clone(c)
		maps.Copy(out, newTags)
		return out
	}
	tags := map[string]string{"k": "v"}

	tests := []accessCase{
		{"group by ARN", "DescribeLogStreams", &logstypes.DescribeLogStreamsRequest{LogGroupIdentifier: aws.String(logsARN("log-group:/app"))}, onApp("DescribeLogStreams")},
		{"group by ARN with :*", "FilterLogEvents", &logstypes.FilterLogEventsRequest{LogGroupIdentifier: aws.String(logsARN("log-group:/app:*"))}, onApp("FilterLogEvents")},
		{"group without tags", "DeleteLogGroup", &logstypes.DeleteLogGroupRequest{LogGroupName: aws.String("/plain")}, on("DeleteLogGroup", plain)},
		{"missing group", "DeleteLogGroup", &logstypes.DeleteLogGroupRequest{LogGroupName: aws.String("/gone")}, on("DeleteLogGroup", logsARN("log-group:/gone:log-stream:"))},
		{"group of another account", "FilterLogEvents", &logstypes.FilterLogEventsRequest{LogGroupIdentifier: aws.String("arn:aws:logs:us-east-1:210987654321:log-group:/app")},
			on("FilterLogEvents", "arn:aws:logs:us-east-1:210987654321:log-group:/app")},
		{"group named twice", "DescribeLogStreams", &logstypes.DescribeLogStreamsRequest{LogGroupName: aws.String("/app"), LogGroupIdentifier: aws.String("/plain")},
			on("DescribeLogStreams", "/plain")},
		{"every group's metric filters", "DescribeMetricFilters", &logstypes.DescribeMetricFiltersRequest{}, on("DescribeMetricFilters", every)},
		{"subscription to a destination", "PutSubscriptionFilter", &logstypes.PutSubscriptionFilterRequest{LogGroupName: aws.String("/app"),
			DestinationArn: aws.String("arn:aws:logs:us-east-1:210987654321:destination:central"), RoleArn: aws.String(role)},
			[]awsapi.Access{
				{Action: "logs:PutSubscriptionFilter", Resource: app, Context: appTags},
				{Action: "logs:PutSubscriptionFilter", Resource: "arn:aws:logs:us-east-1:210987654321:destination:central"},
				{Action: "iam:PassRole", Resource: role},
			}},
		{"subscription to a function", "PutSubscriptionFilter", &logstypes.PutSubscriptionFilterRequest{LogGroupName: aws.String("/app"),
			DestinationArn: aws.String("arn:aws:lambda:us-east-1:123456789012:function:f")},
			onApp("PutSubscriptionFilter")},

		{"create group", "CreateLogGroup", &logstypes.CreateLogGroupRequest{LogGroupName: aws.String("/new"), Tags: tags},
			[]awsapi.Access{
				{Action: "logs:CreateLogGroup", Resource: logsARN("log-group:/new:log-stream:"), Context: newTags},
				{Action: "logs:TagResource", Resource: logsARN("log-group:/new:log-stream:"), Context: newTags},
			}},
		{"create group without tags", "CreateLogGroup", &logstypes.CreateLogGroupRequest{LogGroupName: aws.String("/new")},
			on("CreateLogGroup", logsARN("log-group:/new:log-stream:"))},
		{"tag group", "TagLogGroup", &logstypes.TagLogGroupRequest{LogGroupName: aws.String("/app"), Tags: tags},
			[]awsapi.Access{{Action: "logs:TagLogGroup", Resource: app, Context: withTags(appTags)}}},
		{"untag group", "UntagLogGroup", &logstypes.UntagLogGroupRequest{LogGroupName: aws.String("/app"), Tags: []string{"team"}},
			[]awsapi.Access{{Action: "logs:UntagLogGroup", Resource: app, Context: map[string][]string{"aws:ResourceTag/team": {"a"}, "aws:TagKeys": {"team"}}}}},
		{"list a group's tags", "ListTagsForResource", &logstypes.ListTagsForResourceRequest{ResourceArn: aws.String(logsARN("log-group:/app"))}, onApp("ListTagsForResource")},
		{"list a destination's tags", "ListTagsForResource", &logstypes.ListTagsForResourceRequest{ResourceArn: aws.String(logsARN("destination:d"))},
			on("ListTagsForResource", logsARN("destination:d"))},
		{"tag resource", "TagResource", &logstypes.TagResourceRequest{ResourceArn: aws.String(logsARN("log-group:/app")), Tags: tags},
			[]awsapi.Access{{Action: "logs:TagResource", Resource: app, Context: withTags(appTags)}}},
		{"untag resource", "UntagResource", &logstypes.UntagResourceRequest{ResourceArn: aws.String(logsARN("log-group:/plain")), TagKeys: []string{"k"}},
			[]awsapi.Access{{Action: "logs:UntagResource", Resource: plain, Context: map[string][]string{"aws:TagKeys": {"k"}}}}},

		{"describe groups", "DescribeLogGroups", &logstypes.DescribeLogGroupsRequest{LogGroupNamePrefix: aws.String("/app")}, on("DescribeLogGroups", every)},
		{"list groups", "ListLogGroups", &logstypes.ListLogGroupsRequest{}, on("ListLogGroups", every)},

		{"create stream", "CreateLogStream", &logstypes.CreateLogStreamRequest{LogGroupName: aws.String("/app"), LogStreamName: aws.String("s1")},
			[]awsapi.Access{{Action: "logs:CreateLogStream", Resource: logsARN("log-group:/app:log-stream:s1"), Context: appTags}}},
		{"delete stream", "DeleteLogStream", &logstypes.DeleteLogStreamRequest{LogGroupName: aws.String("/plain"), LogStreamName: aws.String("s1")},
			on("DeleteLogStream", logsARN("log-group:/plain:log-stream:s1"))},
		{"get events by group ARN", "GetLogEvents", &logstypes.GetLogEventsRequest{LogGroupIdentifier: aws.String(logsARN("log-group:/app")), LogStreamName: aws.String("s1")},
			[]awsapi.Access{{Action: "logs:GetLogEvents", Resource: logsARN("log-group:/app:log-stream:s1"), Context: appTags}}},
		{"put events", "PutLogEvents", &logstypes.PutLogEventsRequest{LogGroupName: aws.String("/app"), LogStreamName: aws.String("ecs/web/1")},
			[]awsapi.Access{{Action: "logs:PutLogEvents", Resource: logsARN("log-group:/app:log-stream:ecs/web/1"), Context: appTags}}},
		{"put events to a missing group", "PutLogEvents", &logstypes.PutLogEventsRequest{LogGroupName: aws.String("/gone"), LogStreamName: aws.String("s")},
			on("PutLogEvents", logsARN("log-group:/gone:log-stream:s"))},

		{"anomaly detector", "CreateLogAnomalyDetector", &logstypes.CreateLogAnomalyDetectorRequest{LogGroupArnList: []string{logsARN("log-group:/app"), logsARN("log-group:/plain")}, Tags: tags},
			[]awsapi.Access{
				{Action: "logs:CreateLogAnomalyDetector", Resource: app, Context: withTags(appTags)},
				{Action: "logs:CreateLogAnomalyDetector", Resource: plain, Context: newTags},
				{Action: "logs:TagResource", Resource: logsARN("anomaly-detector:*"), Context: newTags},
			}},
		{"log record", "GetLogRecord", &logstypes.GetLogRecordRequest{LogRecordPointer: aws.String(pointerPrefix(logsstate.LogStream{Region: testRegion, Group: "/app", Name: "s1"}) + "1")},
			onApp("GetLogRecord")},
		{"malformed log record pointer", "GetLogRecord", &logstypes.GetLogRecordRequest{LogRecordPointer: aws.String("x")}, nil},
		{"query results", "GetQueryResults", &logstypes.GetQueryResultsRequest{QueryId: query.QueryId},
			[]awsapi.Access{{Action: "logs:GetQueryResults", Resource: app, Context: appTags}, {Action: "logs:GetQueryResults", Resource: plain}}},
		{"unknown query's results", "GetQueryResults", &logstypes.GetQueryResultsRequest{QueryId: aws.String("nope")}, nil},
		{"live tail", "StartLiveTail", &logstypes.StartLiveTailRequest{LogGroupIdentifiers: []string{logsARN("log-group:/app"), logsARN("log-group:/plain")}},
			[]awsapi.Access{{Action: "logs:StartLiveTail", Resource: app, Context: appTags}, {Action: "logs:StartLiveTail", Resource: plain}}},
		{"query by name", "StartQuery", &logstypes.StartQueryRequest{LogGroupName: aws.String("/app")}, onApp("StartQuery")},
		{"query by names and identifiers", "StartQuery", &logstypes.StartQueryRequest{LogGroupNames: []string{"/plain"}, LogGroupIdentifiers: []string{logsARN("log-group:/app")}},
			[]awsapi.Access{{Action: "logs:StartQuery", Resource: plain}, {Action: "logs:StartQuery", Resource: app, Context: appTags}}},

		{"delete anomaly detector", "DeleteLogAnomalyDetector", &logstypes.DeleteLogAnomalyDetectorRequest{AnomalyDetectorArn: aws.String(detector)}, on("DeleteLogAnomalyDetector", detector)},
		{"get anomaly detector", "GetLogAnomalyDetector", &logstypes.GetLogAnomalyDetectorRequest{AnomalyDetectorArn: aws.String(detector)}, on("GetLogAnomalyDetector", detector)},
		{"list anomalies", "ListAnomalies", &logstypes.ListAnomaliesRequest{}, on("ListAnomalies", "*")},
		{"list a detector's anomalies", "ListAnomalies", &logstypes.ListAnomaliesRequest{AnomalyDetectorArn: aws.String(detector)}, on("ListAnomalies", detector)},
		{"update anomaly", "UpdateAnomaly", &logstypes.UpdateAnomalyRequest{AnomalyDetectorArn: aws.String(detector)}, on("UpdateAnomaly", detector)},
		{"update anomaly detector", "UpdateLogAnomalyDetector", &logstypes.UpdateLogAnomalyDetectorRequest{AnomalyDetectorArn: aws.String(detector)}, on("UpdateLogAnomalyDetector", detector)},

		{"create delivery", "CreateDelivery", &logstypes.CreateDeliveryRequest{DeliverySourceName: aws.String("src"), DeliveryDestinationArn: aws.String(logsARN("delivery-destination:dst"))},
			[]awsapi.Access{
				{Action: "logs:CreateDelivery", Resource: logsARN("delivery:*")},
				{Action: "logs:CreateDelivery", Resource: logsARN("delivery-destination:dst")},
				{Action: "logs:CreateDelivery", Resource: logsARN("delivery-source:src")},
			}},
		{"delete delivery", "DeleteDelivery", &logstypes.DeleteDeliveryRequest{Id: aws.String("d1")}, on("DeleteDelivery", logsARN("delivery:d1"))},
		{"get delivery", "GetDelivery", &logstypes.GetDeliveryRequest{Id: aws.String("d1")}, on("GetDelivery", logsARN("delivery:d1"))},
		{"update delivery", "UpdateDeliveryConfiguration", &logstypes.UpdateDeliveryConfigurationRequest{Id: aws.String("d1")}, on("UpdateDeliveryConfiguration", logsARN("delivery:d1"))},
		{"delete delivery destination", "DeleteDeliveryDestination", &logstypes.DeleteDeliveryDestinationRequest{Name: aws.String("dst")},
			on("DeleteDeliveryDestination", logsARN("delivery-destination:dst"))},
		{"delete delivery destination policy", "DeleteDeliveryDestinationPolicy", &logstypes.DeleteDeliveryDestinationPolicyRequest{DeliveryDestinationName: aws.String("dst")},
			on("DeleteDeliveryDestinationPolicy", logsARN("delivery-destination:dst"))},
		{"get delivery destination", "GetDeliveryDestination", &logstypes.GetDeliveryDestinationRequest{Name: aws.String("dst")},
			on("GetDeliveryDestination", logsARN("delivery-destination:dst"))},
		{"get delivery destination policy", "GetDeliveryDestinationPolicy", &logstypes.GetDeliveryDestinationPolicyRequest{DeliveryDestinationName: aws.String("dst")},
			on("GetDeliveryDestinationPolicy", logsARN("delivery-destination:dst"))},
		{"put delivery destination", "PutDeliveryDestination", &logstypes.PutDeliveryDestinationRequest{Name: aws.String("dst"), Tags: tags},
			[]awsapi.Access{
				{Action: "logs:PutDeliveryDestination", Resource: logsARN("delivery-destination:dst"), Context: newTags},
				{Action: "logs:TagResource", Resource: logsARN("delivery-destination:dst"), Context: newTags},
			}},
		{"put delivery destination policy", "PutDeliveryDestinationPolicy", &logstypes.PutDeliveryDestinationPolicyRequest{DeliveryDestinationName: aws.String("dst")},
			on("PutDeliveryDestinationPolicy", logsARN("delivery-destination:dst"))},
		{"delete delivery source", "DeleteDeliverySource", &logstypes.DeleteDeliverySourceRequest{Name: aws.String("src")}, on("DeleteDeliverySource", logsARN("delivery-source:src"))},
		{"get delivery source", "GetDeliverySource", &logstypes.GetDeliverySourceRequest{Name: aws.String("src")}, on("GetDeliverySource", logsARN("delivery-source:src"))},
		{"put delivery source", "PutDeliverySource", &logstypes.PutDeliverySourceRequest{Name: aws.String("src")}, on("PutDeliverySource", logsARN("delivery-source:src"))},

		{"delete destination", "DeleteDestination", &logstypes.DeleteDestinationRequest{DestinationName: aws.String("central")}, on("DeleteDestination", logsARN("destination:central"))},
		{"put destination", "PutDestination", &logstypes.PutDestinationRequest{DestinationName: aws.String("central"), RoleArn: aws.String(role)},
			[]awsapi.Access{{Action: "logs:PutDestination", Resource: logsARN("destination:central")}, {Action: "iam:PassRole", Resource: role}}},
		{"put destination policy", "PutDestinationPolicy", &logstypes.PutDestinationPolicyRequest{DestinationName: aws.String("central")},
			on("PutDestinationPolicy", logsARN("destination:central"))},

		{"create lookup table", "CreateLookupTable", &logstypes.CreateLookupTableRequest{LookupTableName: aws.String("t")}, on("CreateLookupTable", logsARN("lookup-table:t"))},
		{"delete lookup table", "DeleteLookupTable", &logstypes.DeleteLookupTableRequest{LookupTableArn: aws.String(logsARN("lookup-table:t"))}, on("DeleteLookupTable", logsARN("lookup-table:t"))},
		{"get lookup table", "GetLookupTable", &logstypes.GetLookupTableRequest{LookupTableArn: aws.String(logsARN("lookup-table:t"))}, on("GetLookupTable", logsARN("lookup-table:t"))},
		{"update lookup table", "UpdateLookupTable", &logstypes.UpdateLookupTableRequest{LookupTableArn: aws.String(logsARN("lookup-table:t"))}, on("UpdateLookupTable", logsARN("lookup-table:t"))},

		{"create scheduled query", "CreateScheduledQuery", &logstypes.CreateScheduledQueryRequest{Name: aws.String("q"), ExecutionRoleArn: aws.String(role)},
			[]awsapi.Access{{Action: "logs:CreateScheduledQuery", Resource: logsARN("scheduled-query:*")}, {Action: "iam:PassRole", Resource: role}}},
		{"delete scheduled query", "DeleteScheduledQuery", &logstypes.DeleteScheduledQueryRequest{Identifier: aws.String("q1")}, on("DeleteScheduledQuery", logsARN("scheduled-query:q1"))},
		{"get scheduled query", "GetScheduledQuery", &logstypes.GetScheduledQueryRequest{Identifier: aws.String(logsARN("scheduled-query:q1"))}, on("GetScheduledQuery", logsARN("scheduled-query:q1"))},
		{"get scheduled query history", "GetScheduledQueryHistory", &logstypes.GetScheduledQueryHistoryRequest{Identifier: aws.String("q1")},
			on("GetScheduledQueryHistory", logsARN("scheduled-query:q1"))},
		{"update scheduled query", "UpdateScheduledQuery", &logstypes.UpdateScheduledQueryRequest{Identifier: aws.String("q1"), ExecutionRoleArn: aws.String(role)},
			[]awsapi.Access{{Action: "logs:UpdateScheduledQuery", Resource: logsARN("scheduled-query:q1")}, {Action: "iam:PassRole", Resource: role}}},

		{"import task", "CreateImportTask", &logstypes.CreateImportTaskRequest{ImportRoleArn: aws.String(role)},
			[]awsapi.Access{{Action: "logs:CreateImportTask", Resource: "*"}, {Action: "iam:PassRole", Resource: role}}},
		{"queries", "DescribeQueries", &logstypes.DescribeQueriesRequest{}, nil},
	}
	// Every operation on one log group it names.
	for op, in := range map[string]any{
		"AssociateKmsKey":               &logstypes.AssociateKmsKeyRequest{LogGroupName: aws.String("/app")},
		"CreateExportTask":              &logstypes.CreateExportTaskRequest{LogGroupName: aws.String("/app")},
		"DeleteDataProtectionPolicy":    &logstypes.DeleteDataProtectionPolicyRequest{LogGroupIdentifier: aws.String("/app")},
		"DeleteLogGroup":                &logstypes.DeleteLogGroupRequest{LogGroupName: aws.String("/app")},
		"DeleteMetricFilter":            &logstypes.DeleteMetricFilterRequest{LogGroupName: aws.String("/app")},
		"DeleteRetentionPolicy":         &logstypes.DeleteRetentionPolicyRequest{LogGroupName: aws.String("/app")},
		"DeleteSubscriptionFilter":      &logstypes.DeleteSubscriptionFilterRequest{LogGroupName: aws.String("/app")},
		"DeleteTransformer":             &logstypes.DeleteTransformerRequest{LogGroupIdentifier: aws.String("/app")},
		"DescribeLogStreams":            &logstypes.DescribeLogStreamsRequest{LogGroupName: aws.String("/app")},
		"DescribeMetricFilters":         &logstypes.DescribeMetricFiltersRequest{LogGroupName: aws.String("/app")},
		"DescribeSubscriptionFilters":   &logstypes.DescribeSubscriptionFiltersRequest{LogGroupName: aws.String("/app")},
		"DisassociateKmsKey":            &logstypes.DisassociateKmsKeyRequest{ResourceIdentifier: aws.String(logsARN("log-group:/app"))},
		"FilterLogEvents":               &logstypes.FilterLogEventsRequest{LogGroupName: aws.String("/app")},
		"GetDataProtectionPolicy":       &logstypes.GetDataProtectionPolicyRequest{LogGroupIdentifier: aws.String("/app")},
		"GetLogGroupFields":             &logstypes.GetLogGroupFieldsRequest{LogGroupName: aws.String("/app")},
		"GetTransformer":                &logstypes.GetTransformerRequest{LogGroupIdentifier: aws.String("/app")},
		"ListTagsLogGroup":              &logstypes.ListTagsLogGroupRequest{LogGroupName: aws.String("/app")},
		"PutBearerTokenAuthentication":  &logstypes.PutBearerTokenAuthenticationRequest{LogGroupIdentifier: aws.String("/app")},
		"PutDataProtectionPolicy":       &logstypes.PutDataProtectionPolicyRequest{LogGroupIdentifier: aws.String("/app")},
		"PutLogGroupDeletionProtection": &logstypes.PutLogGroupDeletionProtectionRequest{LogGroupIdentifier: aws.String(logsARN("log-group:/app"))},
		"PutMetricFilter":               &logstypes.PutMetricFilterRequest{LogGroupName: aws.String("/app")},
		"PutRetentionPolicy":            &logstypes.PutRetentionPolicyRequest{LogGroupName: aws.String("/app")},
		"PutTransformer":                &logstypes.PutTransformerRequest{LogGroupIdentifier: aws.String("/app")},
	} {
		tests = append(tests, accessCase{op, op, in, onApp(op)})
	}
	tested := map[string]bool{}
	for _, tt := range tests {
		tested[tt.op] = true
		t.Run(tt.name, func(t *testing.T) {
			got, err := svc.Access(reqCtx, tt.op, tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("%s (-want +got):\n%s", tt.op, diff)
			}
			if got != nil && !slices.ContainsFunc(got, func(a awsapi.Access) bool { return a.Action == "logs:"+tt.op }) {
				t.Errorf("%s is not asked for", tt.op)
			}
		})
	}
	for op := range accessRules {
		if !tested[op] {
			t.Errorf("no test of %s", op)
		}
	}
}

// TestAccessCoversModel checks that every operation of CloudWatch Logs'
// model is mapped or needs nothing but its action, and that every
// implemented operation's input is the one its mapping takes.
func TestAccessCoversModel(t *testing.T) {
	e := newTestEnv(t)
	svc := e.logs.Service()
	ctx := awsapi.WithRequest(context.Background(), &awsapi.RequestInfo{Region: testRegion})
	for op := range svc.Model.Operations {
		_, mapped := accessRules[op]
		if mapped == slices.Contains(wildcardOperations, op) {
			t.Errorf("%s: mapped %v, listed as wildcard %v", op, mapped, !mapped)
		}
	}
	for op, o := range svc.Operations {
		if _, err := svc.Access(ctx, op, o.NewInput()); err != nil {
			t.Errorf("%s: %v", op, err)
		}
	}
}
