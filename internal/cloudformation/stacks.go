package cloudformation

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/cloudformation/cfnstate"
	"github.com/berth/berth/internal/cloudformation/cfntypes"
	"github.com/berth/berth/internal/cloudformation/resourcespec"
	"github.com/berth/berth/internal/cloudformation/template"
	"github.com/berth/berth/internal/store"
)

// stackNamePattern is the form of a stack name.
var stackNamePattern = regexp.MustCompile(`^[a-zA-Z][-a-zA-Z0-9]*$`)

// pageSize is how many items a page of stacks, events or resources holds.
const pageSize = 100

func (c *CloudFormation) createStack(ctx context.Context, in *cfntypes.CreateStackInput) (*cfntypes.CreateStackOutput, error) {
	info := awsapi.RequestFrom(ctx)
	name := awsapi.Deref(in.StackName)
	if !stackNamePattern.MatchString(name) || len(name) > 128 {
		return nil, validation("1 validation error detected: Value '%s' at 'stackName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z][-a-zA-Z0-9]*", name)
	}
	t, err := templateBody(in.TemplateBody, in.TemplateURL)
	if err != nil {
		return nil, err
	}
	if err := checkTypes(t); err != nil {
		return nil, err
	}
	switch {
	case awsapi.Deref(in.StackPolicyBody) != "" || awsapi.Deref(in.StackPolicyURL) != "":
		return nil, unsupported("stack policies")
	case in.RollbackConfiguration != nil && len(in.RollbackConfiguration.RollbackTriggers) > 0:
		return nil, unsupported("rollback triggers")
	}
	disableRollback := awsapi.Deref(in.DisableRollback)
	switch awsapi.Deref(in.OnFailure) {
	case "":
	case "DO_NOTHING":
		if in.DisableRollback != nil {
			return nil, validation("You cannot specify both OnFailure and DisableRollback.") // UNVERIFIED
		}
		disableRollback = true
	case "ROLLBACK":
		if in.DisableRollback != nil {
			return nil, validation("You cannot specify both OnFailure and DisableRollback.") // UNVERIFIED
		}
	default:
		return nil, unsupported("OnFailure " + awsapi.Deref(in.OnFailure))
	}

	id := uuid.NewString()
	arn := cfnstate.ARN(info.Region, c.account, name, id)
	params, err := c.checkParameters(ctx, t, in.Parameters, nil, template.PseudoParameters{
		Region: info.Region, AccountID: c.account, StackName: name, StackID: arn, NotificationARNs: in.NotificationARNs})
	if err != nil {
		return nil, err
	}
	if err := checkCapabilities(t, in.Capabilities); err != nil {
		return nil, err
	}
	now := c.now().UTC()
	s := &cfnstate.Stack{
		Region: info.Region, UUID: id, ID: arn, Name: name,
		Description: t.Description, Created: now,
		Template: awsapi.Deref(in.TemplateBody), Parameters: params,
		Capabilities: in.Capabilities, Tags: stackTags(in.Tags),
		NotificationARNs: in.NotificationARNs, RoleARN: awsapi.Deref(in.RoleARN),
		DisableRollback: disableRollback, TimeoutInMinutes: int(awsapi.Deref(in.TimeoutInMinutes)),
		TerminationProtection: awsapi.Deref(in.EnableTerminationProtection),
		Resources:             map[string]*cfnstate.Resource{},
		Caller:                info.Caller,
		Pass:                  1,
		Operation: &cfnstate.Operation{Template: awsapi.Deref(in.TemplateBody), Parameters: params,
			ClientRequestToken: awsapi.Deref(in.ClientRequestToken), Started: now},
	}
	s.SetStatus(now, cfnstate.CreateInProgress, "User Initiated")
	ops, err := s.Ops()
	if err != nil {
		return nil, err
	}
	claim, err := store.PutJSON(cfnstate.StackNameKey(info.Region, name), cfnstate.NameClaim{UUID: id})
	if err != nil {
		return nil, err
	}
	_, err = c.store.Txn(ctx, store.Txn{
		If:   []store.Compare{{Key: cfnstate.StackNameKey(info.Region, name)}},
		Then: append(ops, claim),
	})
	if errors.Is(err, store.ErrConflict) {
		return nil, awsapi.WithMessage(errAlreadyExists, "Stack [%s] already exists", name)
	}
	if err != nil {
		return nil, err
	}
	return &cfntypes.CreateStackOutput{StackId: awsapi.String(arn)}, nil
}

// checkTypes refuses resource types CloudFormation does not know, and
// attributes a provisioned type does not have, as CloudFormation checks
// them before it makes anything.
func checkTypes(t *template.Template) error {
	if err := t.UnrecognizedResourceTypes(resourcespec.Known); err != nil {
		return err
	}
	return t.UnsupportedAttributes(func(resourceType, attribute string) (bool, bool) {
		spec, ok := resourcespec.Lookup(resourceType)
		if !ok {
			return false, false
		}
		return true, spec.HasAttribute(attribute)
	})
}

// checkCapabilities refuses a template whose IAM resources the call did
// not acknowledge.
func checkCapabilities(t *template.Template, given []string) error {
	needed, _ := requiredCapabilities(t)
	for _, capability := range needed {
		if slices.Contains(given, capability) {
			continue
		}
		// CAPABILITY_NAMED_IAM also covers what CAPABILITY_IAM does.
		if capability == capabilityIAM && slices.Contains(given, capabilityNamedIAM) {
			continue
		}
		return awsapi.WithMessage(errInsufficientCapabilities, "Requires capabilities : [%s]", capability)
	}
	return nil
}

func stackTags(tags []cfntypes.Tag) []cfnstate.Tag {
	var out []cfnstate.Tag
	for _, t := range tags {
		out = append(out, cfnstate.Tag{Key: awsapi.Deref(t.Key), Value: awsapi.Deref(t.Value)})
	}
	return out
}

// checkParameters resolves and checks the parameters a call gives for a
// template: previous holds the values UsePreviousValue refers to.
func (c *CloudFormation) checkParameters(ctx context.Context, t *template.Template, given []cfntypes.Parameter,
	previous []cfnstate.Parameter, pseudo template.PseudoParameters) ([]cfnstate.Parameter, error) {
	values := map[string]string{}
	for _, p := range given {
		key := awsapi.Deref(p.ParameterKey)
		if awsapi.Deref(p.UsePreviousValue) {
			i := slices.IndexFunc(previous, func(prev cfnstate.Parameter) bool { return prev.Key == key })
			if i < 0 {
				return nil, validation("Invalid input for parameter key %s. Cannot specify usePreviousValue as true for a parameter key not in the previous template", key)
			}
			values[key] = previous[i].Value
			continue
		}
		values[key] = awsapi.Deref(p.ParameterValue)
	}
	scope, err := t.NewScope(values, pseudo, &parameterChecker{ctx: ctx, api: c.api})
	if err != nil {
		return nil, err
	}
	var out []cfnstate.Parameter
	for _, p := range t.Parameters {
		v := scope.Parameters[p.Name]
		out = append(out, cfnstate.Parameter{Key: p.Name, Value: v.ParameterValue, ResolvedValue: v.ResolvedValue, NoEcho: v.NoEcho})
	}
	return out, nil
}

// parameterChecker answers whether an AWS-specific parameter's value
// exists, and what an SSM parameter holds, by asking berth's APIs as the
// caller.
type parameterChecker struct {
	ctx context.Context
	api Invoker
}

func (p *parameterChecker) Exists(parameterType, value string) bool {
	var service, operation string
	var input map[string]any
	switch parameterType {
	case "AWS::EC2::VPC::Id":
		service, operation, input = "ec2", "DescribeVpcs", map[string]any{"VpcIds": []any{value}}
	case "AWS::EC2::Subnet::Id":
		service, operation, input = "ec2", "DescribeSubnets", map[string]any{"SubnetIds": []any{value}}
	case "AWS::EC2::SecurityGroup::Id":
		service, operation, input = "ec2", "DescribeSecurityGroups", map[string]any{"GroupIds": []any{value}}
	case "AWS::EC2::SecurityGroup::GroupName":
		service, operation, input = "ec2", "DescribeSecurityGroups", map[string]any{"GroupNames": []any{value}}
	case "AWS::EC2::AvailabilityZone::Name":
		service, operation, input = "ec2", "DescribeAvailabilityZones", map[string]any{"ZoneNames": []any{value}}
	default:
		// Instances, images, volumes, key pairs and hosted zones: berth
		// has none.
		return false
	}
	_, err := p.api.Invoke(p.ctx, service, operation, input)
	return err == nil
}

func (p *parameterChecker) SSMParameter(name string) (string, bool) {
	out, err := p.api.Invoke(p.ctx, "ssm", "GetParameter", map[string]any{"Name": name})
	if err != nil {
		return "", false
	}
	tree, err := toTree(out)
	if err != nil {
		return "", false
	}
	param, _ := tree["Parameter"].(map[string]any)
	v, ok := param["Value"].(string)
	return v, ok
}

// findStack finds a stack by name (a live stack) or by id (any, deleted
// ones too).
func (c *CloudFormation) findStack(ctx context.Context, region, nameOrID string) (store.Versioned[cfnstate.Stack], error) {
	id := ""
	if strings.HasPrefix(nameOrID, "arn:") {
		parts := strings.Split(nameOrID, "/")
		id = parts[len(parts)-1]
		region = awsapi.ARNRegion(nameOrID, region)
	} else {
		claim, err := store.Get[cfnstate.NameClaim](ctx, c.store, cfnstate.StackNameKey(region, nameOrID))
		if errors.Is(err, store.ErrNotFound) {
			return store.Versioned[cfnstate.Stack]{}, stackNotFound(nameOrID)
		}
		if err != nil {
			return store.Versioned[cfnstate.Stack]{}, err
		}
		id = claim.Value.UUID
	}
	s, err := store.Get[cfnstate.Stack](ctx, c.store, cfnstate.StackKey(region, id))
	if errors.Is(err, store.ErrNotFound) {
		return s, stackNotFound(nameOrID)
	}
	return s, err
}

func stackNotFound(nameOrID string) error {
	return validation("Stack with id %s does not exist", nameOrID)
}

func (c *CloudFormation) describeStacks(ctx context.Context, in *cfntypes.DescribeStacksInput) (*cfntypes.DescribeStacksOutput, error) {
	region := awsapi.RequestFrom(ctx).Region
	out := &cfntypes.DescribeStacksOutput{Stacks: []cfntypes.Stack{}}
	if name := awsapi.Deref(in.StackName); name != "" {
		s, err := c.findStack(ctx, region, name)
		if err != nil {
			return nil, err
		}
		out.Stacks = append(out.Stacks, describeStack(&s.Value))
		return out, nil
	}
	stacks, err := c.liveStacks(ctx, region)
	if err != nil {
		return nil, err
	}
	page, next, err := paginate(stacks, in.NextToken)
	if err != nil {
		return nil, err
	}
	for _, s := range page {
		out.Stacks = append(out.Stacks, describeStack(s))
	}
	out.NextToken = next
	return out, nil
}

// liveStacks lists a region's stacks that are not deleted, newest first.
func (c *CloudFormation) liveStacks(ctx context.Context, region string) ([]*cfnstate.Stack, error) {
	all, err := c.allStacks(ctx, region)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(all, func(s *cfnstate.Stack) bool { return s.Status == cfnstate.DeleteComplete }), nil
}

// allStacks lists a region's stacks, deleted ones too, newest first.
func (c *CloudFormation) allStacks(ctx context.Context, region string) ([]*cfnstate.Stack, error) {
	records, _, err := store.List[cfnstate.Stack](ctx, c.store, cfnstate.RegionPrefix(cfnstate.StackPrefix, region), store.ListOptions{})
	if err != nil {
		return nil, err
	}
	out := make([]*cfnstate.Stack, len(records))
	for i := range records {
		out[i] = &records[i].Value
	}
	slices.SortFunc(out, func(a, b *cfnstate.Stack) int { return b.Created.Compare(a.Created) })
	return out, nil
}

// paginate cuts a page of pageSize items from the offset a NextToken
// holds.
func paginate[T any](items []T, token *string) ([]T, *string, error) {
	start := 0
	if t := awsapi.Deref(token); t != "" {
		n, err := strconv.Atoi(t)
		if err != nil || n < 0 || n > len(items) {
			return nil, nil, validation("Invalid NextToken") // UNVERIFIED
		}
		start = n
	}
	end := min(start+pageSize, len(items))
	var next *string
	if end < len(items) {
		next = awsapi.String(strconv.Itoa(end))
	}
	return items[start:end], next, nil
}

func describeStack(s *cfnstate.Stack) cfntypes.Stack {
	out := cfntypes.Stack{
		StackId:                     awsapi.String(s.ID),
		StackName:                   awsapi.String(s.Name),
		Description:                 awsapi.OptionalString(s.Description),
		CreationTime:                awsapi.Time(s.Created),
		StackStatus:                 awsapi.String(s.Status),
		StackStatusReason:           awsapi.OptionalString(s.StatusReason),
		DisableRollback:             awsapi.Bool(s.DisableRollback),
		NotificationARNs:            orEmpty(s.NotificationARNs),
		Capabilities:                s.Capabilities,
		RoleARN:                     awsapi.OptionalString(s.RoleARN),
		Tags:                        []cfntypes.Tag{},
		EnableTerminationProtection: awsapi.Bool(s.TerminationProtection),
		DriftInformation:            &cfntypes.StackDriftInformation{StackDriftStatus: awsapi.String("NOT_CHECKED")},
		RollbackConfiguration:       &cfntypes.RollbackConfiguration{},
	}
	if s.LastUpdated != nil {
		out.LastUpdatedTime = awsapi.Time(*s.LastUpdated)
	}
	if s.Deleted != nil {
		out.DeletionTime = awsapi.Time(*s.Deleted)
	}
	if s.TimeoutInMinutes > 0 {
		out.TimeoutInMinutes = awsapi.Int32(int32(s.TimeoutInMinutes))
	}
	params := s.Parameters
	if s.Operation != nil && s.Operation.Parameters != nil {
		params = s.Operation.Parameters
	}
	for _, p := range params {
		out.Parameters = append(out.Parameters, describeParameter(p))
	}
	for _, o := range s.Outputs {
		out.Outputs = append(out.Outputs, cfntypes.Output{OutputKey: awsapi.String(o.Key), OutputValue: awsapi.String(o.Value),
			Description: awsapi.OptionalString(o.Description), ExportName: awsapi.OptionalString(o.ExportName)})
	}
	for _, t := range s.Tags {
		out.Tags = append(out.Tags, cfntypes.Tag{Key: awsapi.String(t.Key), Value: awsapi.String(t.Value)})
	}
	return out
}

// describeParameter shows a parameter; a NoEcho one's value is masked.
func describeParameter(p cfnstate.Parameter) cfntypes.Parameter {
	out := cfntypes.Parameter{ParameterKey: awsapi.String(p.Key), ParameterValue: awsapi.String(p.Value),
		ResolvedValue: awsapi.OptionalString(p.ResolvedValue)}
	if p.NoEcho {
		out.ParameterValue = awsapi.String("****")
		out.ResolvedValue = nil
	}
	return out
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func (c *CloudFormation) describeStackEvents(ctx context.Context, in *cfntypes.DescribeStackEventsInput) (*cfntypes.DescribeStackEventsOutput, error) {
	region := awsapi.RequestFrom(ctx).Region
	s, err := c.findStack(ctx, region, awsapi.Deref(in.StackName))
	if err != nil {
		return nil, err
	}
	records, _, err := store.List[cfnstate.Event](ctx, c.store, cfnstate.StackEventsPrefix(s.Value.Region, s.Value.UUID), store.ListOptions{})
	if err != nil {
		return nil, err
	}
	slices.Reverse(records) // newest first
	page, next, err := paginate(records, in.NextToken)
	if err != nil {
		return nil, err
	}
	out := &cfntypes.DescribeStackEventsOutput{StackEvents: []cfntypes.StackEvent{}, NextToken: next}
	for _, r := range page {
		e := r.Value
		out.StackEvents = append(out.StackEvents, cfntypes.StackEvent{
			StackId: awsapi.String(e.StackID), StackName: awsapi.String(e.StackName), EventId: awsapi.String(e.EventID),
			LogicalResourceId: awsapi.String(e.LogicalID), PhysicalResourceId: awsapi.String(e.PhysicalID),
			ResourceType: awsapi.String(e.ResourceType), Timestamp: awsapi.Time(e.Timestamp),
			ResourceStatus: awsapi.String(e.Status), ResourceStatusReason: awsapi.OptionalString(e.Reason),
			ResourceProperties: awsapi.OptionalString(e.Properties), ClientRequestToken: awsapi.OptionalString(e.ClientRequestToken),
		})
	}
	return out, nil
}

// resources lists a stack's resources that exist or are being made or
// deleted, in logical id order.
func stackResources(s *cfnstate.Stack) []*cfnstate.Resource {
	var out []*cfnstate.Resource
	for _, r := range s.Resources {
		if r.Status != "" {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b *cfnstate.Resource) int { return strings.Compare(a.LogicalID, b.LogicalID) })
	return out
}

func (c *CloudFormation) describeStackResources(ctx context.Context, in *cfntypes.DescribeStackResourcesInput) (*cfntypes.DescribeStackResourcesOutput, error) {
	region := awsapi.RequestFrom(ctx).Region
	var s *cfnstate.Stack
	switch {
	case awsapi.Deref(in.StackName) != "":
		found, err := c.findStack(ctx, region, *in.StackName)
		if err != nil {
			return nil, err
		}
		s = &found.Value
	case awsapi.Deref(in.PhysicalResourceId) != "":
		stacks, err := c.liveStacks(ctx, region)
		if err != nil {
			return nil, err
		}
		for _, candidate := range stacks {
			for _, r := range candidate.Resources {
				if r.PhysicalID == *in.PhysicalResourceId {
					s = candidate
				}
			}
		}
		if s == nil {
			return nil, validation("Stack for %s does not exist", *in.PhysicalResourceId)
		}
	default:
		return nil, validation("Either StackName or PhysicalResourceId must be specified.")
	}
	out := &cfntypes.DescribeStackResourcesOutput{StackResources: []cfntypes.StackResource{}}
	for _, r := range stackResources(s) {
		if id := awsapi.Deref(in.LogicalResourceId); id != "" && id != r.LogicalID {
			continue
		}
		out.StackResources = append(out.StackResources, cfntypes.StackResource{
			StackName: awsapi.String(s.Name), StackId: awsapi.String(s.ID), LogicalResourceId: awsapi.String(r.LogicalID),
			PhysicalResourceId: awsapi.OptionalString(r.PhysicalID), ResourceType: awsapi.String(r.Type),
			Timestamp: awsapi.Time(r.Updated), ResourceStatus: awsapi.String(r.Status),
			ResourceStatusReason: awsapi.OptionalString(r.StatusReason),
			DriftInformation:     &cfntypes.StackResourceDriftInformation{StackResourceDriftStatus: awsapi.String("NOT_CHECKED")},
		})
	}
	return out, nil
}

func (c *CloudFormation) describeStackResource(ctx context.Context, in *cfntypes.DescribeStackResourceInput) (*cfntypes.DescribeStackResourceOutput, error) {
	found, err := c.findStack(ctx, awsapi.RequestFrom(ctx).Region, awsapi.Deref(in.StackName))
	if err != nil {
		return nil, err
	}
	s := &found.Value
	r := s.Resources[awsapi.Deref(in.LogicalResourceId)]
	if r == nil || r.Status == "" {
		return nil, validation("Resource %s does not exist for stack %s", awsapi.Deref(in.LogicalResourceId), awsapi.Deref(in.StackName))
	}
	return &cfntypes.DescribeStackResourceOutput{StackResourceDetail: &cfntypes.StackResourceDetail{
		StackName: awsapi.String(s.Name), StackId: awsapi.String(s.ID), LogicalResourceId: awsapi.String(r.LogicalID),
		PhysicalResourceId: awsapi.OptionalString(r.PhysicalID), ResourceType: awsapi.String(r.Type),
		LastUpdatedTimestamp: awsapi.Time(r.Updated), ResourceStatus: awsapi.String(r.Status),
		ResourceStatusReason: awsapi.OptionalString(r.StatusReason), Metadata: awsapi.OptionalString(r.Metadata),
		DriftInformation: &cfntypes.StackResourceDriftInformation{StackResourceDriftStatus: awsapi.String("NOT_CHECKED")},
	}}, nil
}

func (c *CloudFormation) listStackResources(ctx context.Context, in *cfntypes.ListStackResourcesInput) (*cfntypes.ListStackResourcesOutput, error) {
	found, err := c.findStack(ctx, awsapi.RequestFrom(ctx).Region, awsapi.Deref(in.StackName))
	if err != nil {
		return nil, err
	}
	page, next, err := paginate(stackResources(&found.Value), in.NextToken)
	if err != nil {
		return nil, err
	}
	out := &cfntypes.ListStackResourcesOutput{StackResourceSummaries: []cfntypes.StackResourceSummary{}, NextToken: next}
	for _, r := range page {
		out.StackResourceSummaries = append(out.StackResourceSummaries, cfntypes.StackResourceSummary{
			LogicalResourceId: awsapi.String(r.LogicalID), PhysicalResourceId: awsapi.OptionalString(r.PhysicalID),
			ResourceType: awsapi.String(r.Type), LastUpdatedTimestamp: awsapi.Time(r.Updated),
			ResourceStatus: awsapi.String(r.Status), ResourceStatusReason: awsapi.OptionalString(r.StatusReason),
			DriftInformation: &cfntypes.StackResourceDriftInformationSummary{StackResourceDriftStatus: awsapi.String("NOT_CHECKED")},
		})
	}
	return out, nil
}

func (c *CloudFormation) listStacks(ctx context.Context, in *cfntypes.ListStacksInput) (*cfntypes.ListStacksOutput, error) {
	stacks, err := c.allStacks(ctx, awsapi.RequestFrom(ctx).Region)
	if err != nil {
		return nil, err
	}
	if len(in.StackStatusFilter) > 0 {
		stacks = slices.DeleteFunc(stacks, func(s *cfnstate.Stack) bool { return !slices.Contains(in.StackStatusFilter, s.Status) })
	}
	page, next, err := paginate(stacks, in.NextToken)
	if err != nil {
		return nil, err
	}
	out := &cfntypes.ListStacksOutput{StackSummaries: []cfntypes.StackSummary{}, NextToken: next}
	for _, s := range page {
		sum := cfntypes.StackSummary{
			StackId: awsapi.String(s.ID), StackName: awsapi.String(s.Name), TemplateDescription: awsapi.OptionalString(s.Description),
			CreationTime: awsapi.Time(s.Created), StackStatus: awsapi.String(s.Status), StackStatusReason: awsapi.OptionalString(s.StatusReason),
			DriftInformation: &cfntypes.StackDriftInformationSummary{StackDriftStatus: awsapi.String("NOT_CHECKED")},
		}
		if s.LastUpdated != nil {
			sum.LastUpdatedTime = awsapi.Time(*s.LastUpdated)
		}
		if s.Deleted != nil {
			sum.DeletionTime = awsapi.Time(*s.Deleted)
		}
		out.StackSummaries = append(out.StackSummaries, sum)
	}
	return out, nil
}

func (c *CloudFormation) getTemplate(ctx context.Context, in *cfntypes.GetTemplateInput) (*cfntypes.GetTemplateOutput, error) {
	if name := awsapi.Deref(in.ChangeSetName); name != "" {
		cs, _, err := c.findChangeSet(ctx, awsapi.RequestFrom(ctx).Region, name, awsapi.Deref(in.StackName))
		if err != nil {
			return nil, err
		}
		return &cfntypes.GetTemplateOutput{TemplateBody: awsapi.String(cs.Template), StagesAvailable: []string{"Original", "Processed"}}, nil
	}
	found, err := c.findStack(ctx, awsapi.RequestFrom(ctx).Region, awsapi.Deref(in.StackName))
	if err != nil {
		return nil, err
	}
	body := found.Value.Template
	if op := found.Value.Operation; op != nil && op.Template != "" {
		body = op.Template
	}
	return &cfntypes.GetTemplateOutput{TemplateBody: awsapi.String(body), StagesAvailable: []string{"Original", "Processed"}}, nil
}

func (c *CloudFormation) deleteStack(ctx context.Context, in *cfntypes.DeleteStackInput) (*struct{}, error) {
	info := awsapi.RequestFrom(ctx)
	name := awsapi.Deref(in.StackName)
	found, err := c.findStack(ctx, info.Region, name)
	if err != nil {
		// Deleting a stack that does not exist succeeds, as in
		// CloudFormation.
		if errors.Is(err, errValidation) {
			return &struct{}{}, nil
		}
		return nil, err
	}
	now := c.now().UTC()
	_, err = cfnstate.UpdateStack(ctx, c.store, found.Value.Region, found.Value.UUID, func(s *cfnstate.Stack) ([]store.Op, error) {
		switch {
		case s.Status == cfnstate.DeleteComplete || s.Status == cfnstate.DeleteInProgress:
			return nil, store.ErrUnchanged
		case s.TerminationProtection:
			return nil, validation("Stack [%s] cannot be deleted while TerminationProtection is enabled", s.Name)
		case len(in.RetainResources) > 0 && s.Status != cfnstate.DeleteFailed:
			return nil, validation("Invalid operation on stack %s. RetainResources can only be specified when stack is in DELETE_FAILED state", s.ID) // UNVERIFIED
		case cfnstate.InProgress(s.Status) && s.Status != cfnstate.ReviewInProgress:
			return nil, validation("Stack %s is in %s state and can not be deleted", s.ID, s.Status) // UNVERIFIED
		}
		for _, id := range in.RetainResources {
			if s.Resources[id] == nil {
				return nil, validation("The specified resources to retain must be in a valid state. Resource %s does not exist in stack", id) // UNVERIFIED
			}
		}
		s.Caller = info.Caller
		if in.RoleARN != nil {
			s.RoleARN = *in.RoleARN
		}
		s.Operation = &cfnstate.Operation{RetainResources: in.RetainResources, ClientRequestToken: awsapi.Deref(in.ClientRequestToken), Started: now}
		for _, r := range s.Resources {
			if r.Status == cfnstate.DeleteFailed {
				r.Status = cfnstate.CreateComplete // asked again
			}
		}
		s.SetStatus(now, cfnstate.DeleteInProgress, "User Initiated")
		return nil, nil
	})
	if err != nil {
		return nil, err
	}
	return &struct{}{}, nil
}

// toTree is a typed output's JSON as a tree.
func toTree(out any) (map[string]any, error) {
	raw, err := json.Marshal(out)
	if err != nil {
		return nil, err
	}
	tree := map[string]any{}
	return tree, json.Unmarshal(raw, &tree)
}
