package logs

import (
	"context"
	"encoding/base64"
	"errors"
	"maps"
	"slices"
	"strings"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/logs/logdata"
	"github.com/berth/berth/internal/logs/logsstate"
	"github.com/berth/berth/internal/logs/logstypes"
	"github.com/berth/berth/internal/store"
)

// retentionDays are the retention periods CloudWatch Logs accepts.
var retentionDays = []int32{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}

const (
	defaultGroupClass = "STANDARD"
	maxTags           = 50
	defaultDescribe   = 50
)

func (s *service) createLogGroup(ctx context.Context, in *logstypes.CreateLogGroupRequest) (*struct{}, error) {
	id := logsstate.GroupID{Region: region(ctx), Name: awsapi.Deref(in.LogGroupName)}
	if strings.HasPrefix(id.Name, "aws/") {
		// UNVERIFIED wording; the rule is CreateLogGroup's documented one.
		return nil, invalidParameter("Log group names can't start with the string aws/.")
	}
	if len(in.Tags) > maxTags {
		return nil, invalidParameter("A resource can have at most %d tags.", maxTags) // UNVERIFIED wording
	}
	g := logsstate.LogGroup{
		Region:             id.Region,
		Name:               id.Name,
		CreationTime:       millis(s.now()),
		LogGroupClass:      awsapi.Deref(in.LogGroupClass),
		KmsKeyID:           awsapi.Deref(in.KmsKeyId),
		DeletionProtection: awsapi.Deref(in.DeletionProtectionEnabled),
		Tags:               maps.Clone(in.Tags),
	}
	if g.LogGroupClass == "" {
		g.LogGroupClass = defaultGroupClass
	}
	return nil, s.putNewGroup(ctx, g)
}

// putNewGroup creates g, or errGroupExists.
func (s *service) putNewGroup(ctx context.Context, g logsstate.LogGroup) error {
	key := logsstate.GroupKey(g.ID())
	op, err := store.PutJSON(key, g)
	if err != nil {
		return err
	}
	if _, err := s.store.Txn(ctx, store.Txn{If: []store.Compare{{Key: key}}, Then: []store.Op{op}}); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return errGroupExists
		}
		return err
	}
	return nil
}

// group reads a group's record, or errGroupNotFound.
func (s *service) group(ctx context.Context, id logsstate.GroupID) (store.Versioned[logsstate.LogGroup], error) {
	g, err := store.Get[logsstate.LogGroup](ctx, s.store, logsstate.GroupKey(id))
	if errors.Is(err, store.ErrNotFound) {
		return g, errGroupNotFound
	}
	return g, err
}

func (s *service) deleteLogGroup(ctx context.Context, in *logstypes.DeleteLogGroupRequest) (*struct{}, error) {
	id := logsstate.GroupID{Region: region(ctx), Name: awsapi.Deref(in.LogGroupName)}
	var gone []logsstate.LogStream
	err := store.Retry(ctx, func() error {
		g, err := s.group(ctx, id)
		if err != nil {
			return err
		}
		if g.Value.DeletionProtection {
			// UNVERIFIED wording.
			return invalidOperation("Log group %s has deletion protection enabled. Disable it before deleting the log group.", id.Name)
		}
		streams, _, err := store.List[logsstate.LogStream](ctx, s.store, logsstate.GroupStreams(id), store.ListOptions{})
		if err != nil {
			return err
		}
		txn := store.Txn{If: []store.Compare{{Key: logsstate.GroupKey(id), ModRevision: g.ModRevision}},
			Then: []store.Op{store.Delete(logsstate.GroupKey(id))}}
		gone = gone[:0]
		for _, st := range streams {
			// A stream created meanwhile is deleted with its group, or the
			// guard on it fails and the deletion is decided again.
			txn.If = append(txn.If, store.Compare{Key: logsstate.StreamKey(id, st.Value.Name), ModRevision: st.ModRevision})
			txn.Then = append(txn.Then, store.Delete(logsstate.StreamKey(id, st.Value.Name)))
			gone = append(gone, st.Value)
		}
		_, err = s.store.Txn(ctx, txn)
		return err
	})
	if err != nil {
		return nil, err
	}
	for _, st := range gone {
		s.dropData(st)
	}
	return nil, nil
}

// dropData removes a deleted stream's events. A failure leaves files no
// record names, which the retention sweep removes later.
func (s *service) dropData(st logsstate.LogStream) {
	if err := s.data.Delete(logdata.StreamID(st.DataID)); err != nil {
		s.log.Warn("removing a deleted log stream's events failed; the retention sweep retries",
			"group", st.Group, "stream", st.Name, "err", err)
	}
}

func (s *service) describeLogGroups(ctx context.Context, in *logstypes.DescribeLogGroupsRequest) (*logstypes.DescribeLogGroupsResponse, error) {
	prefix, pattern := awsapi.Deref(in.LogGroupNamePrefix), awsapi.Deref(in.LogGroupNamePattern)
	if prefix != "" && pattern != "" {
		// UNVERIFIED wording.
		return nil, invalidParameter("LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters.")
	}
	var idents map[string]bool
	if len(in.LogGroupIdentifiers) > 0 {
		if prefix != "" || pattern != "" {
			// UNVERIFIED wording.
			return nil, invalidParameter("logGroupIdentifiers cannot be combined with logGroupNamePrefix or logGroupNamePattern.")
		}
		idents = map[string]bool{}
		for _, ref := range in.LogGroupIdentifiers {
			id, err := s.groupRef(ctx, nil, &ref)
			if errors.Is(err, errGroupNotFound) {
				continue
			}
			if err != nil {
				return nil, err
			}
			if id.Region == region(ctx) {
				idents[id.Name] = true
			}
		}
	}
	after, err := decodePageToken(in.NextToken)
	if err != nil {
		return nil, err
	}
	limit := int(awsapi.Deref(in.Limit))
	if limit == 0 {
		limit = defaultDescribe
	}
	class := awsapi.Deref(in.LogGroupClass)
	out := &logstypes.DescribeLogGroupsResponse{LogGroups: []logstypes.LogGroup{}}
	groups, _, err := store.List[logsstate.LogGroup](ctx, s.store, logsstate.RegionGroups(region(ctx))+prefix, store.ListOptions{})
	if err != nil {
		return nil, err
	}
	lowered := strings.ToLower(pattern)
	for _, g := range groups {
		name := g.Value.Name
		if name <= after || (class != "" && g.Value.LogGroupClass != class) ||
			(pattern != "" && !strings.Contains(strings.ToLower(name), lowered)) ||
			(idents != nil && !idents[name]) {
			continue
		}
		if len(out.LogGroups) == limit {
			out.NextToken = pageToken(out.LogGroups[limit-1].LogGroupName)
			break
		}
		lg, err := s.groupOutput(ctx, g.Value)
		if err != nil {
			return nil, err
		}
		out.LogGroups = append(out.LogGroups, lg)
	}
	return out, nil
}

// groupOutput describes a group as DescribeLogGroups does.
func (s *service) groupOutput(ctx context.Context, g logsstate.LogGroup) (logstypes.LogGroup, error) {
	var stored int64
	streams, _, err := store.List[logsstate.LogStream](ctx, s.store, logsstate.GroupStreams(g.ID()), store.ListOptions{})
	if err != nil {
		return logstypes.LogGroup{}, err
	}
	for _, st := range streams {
		stats, err := s.data.Stats(logdata.StreamID(st.Value.DataID))
		if err != nil {
			return logstypes.LogGroup{}, err
		}
		stored += stats.StoredBytes
	}
	arn := s.groupARN(g.ID())
	out := logstypes.LogGroup{
		LogGroupName:              awsapi.String(g.Name),
		CreationTime:              awsapi.Int64(g.CreationTime),
		MetricFilterCount:         awsapi.Int32(0),
		Arn:                       awsapi.String(arn + ":*"),
		LogGroupArn:               awsapi.String(arn),
		StoredBytes:               awsapi.Int64(stored),
		LogGroupClass:             awsapi.String(g.LogGroupClass),
		DeletionProtectionEnabled: awsapi.Bool(g.DeletionProtection),
	}
	if g.RetentionInDays > 0 {
		out.RetentionInDays = awsapi.Int32(g.RetentionInDays)
	}
	if g.KmsKeyID != "" {
		out.KmsKeyId = awsapi.String(g.KmsKeyID)
	}
	return out, nil
}

func (s *service) listLogGroups(ctx context.Context, in *logstypes.ListLogGroupsRequest) (*logstypes.ListLogGroupsResponse, error) {
	re, err := compileGroupPattern(awsapi.Deref(in.LogGroupNamePattern))
	if err != nil {
		return nil, err
	}
	after, err := decodePageToken(in.NextToken)
	if err != nil {
		return nil, err
	}
	limit := int(awsapi.Deref(in.Limit))
	if limit == 0 {
		limit = 1000
	}
	class := awsapi.Deref(in.LogGroupClass)
	groups, _, err := store.List[logsstate.LogGroup](ctx, s.store, logsstate.RegionGroups(region(ctx)), store.ListOptions{})
	if err != nil {
		return nil, err
	}
	out := &logstypes.ListLogGroupsResponse{LogGroups: []logstypes.LogGroupSummary{}}
	for _, g := range groups {
		name := g.Value.Name
		if name <= after || (class != "" && g.Value.LogGroupClass != class) || (re != nil && !re.MatchString(name)) ||
			!tagsMatch(g.Value.Tags, in.LogGroupTags) {
			continue
		}
		if len(out.LogGroups) == limit {
			out.NextToken = pageToken(out.LogGroups[limit-1].LogGroupName)
			break
		}
		out.LogGroups = append(out.LogGroups, logstypes.LogGroupSummary{
			LogGroupName:  awsapi.String(name),
			LogGroupArn:   awsapi.String(s.groupARN(g.Value.ID())),
			LogGroupClass: awsapi.String(g.Value.LogGroupClass),
		})
	}
	return out, nil
}

// tagsMatch reports whether tags hold every filter's key with one of its
// values (any value when it lists none).
func tagsMatch(tags map[string]string, filters []logstypes.TagFilter) bool {
	for _, f := range filters {
		v, ok := tags[awsapi.Deref(f.Key)]
		if !ok || (len(f.Values) > 0 && !slices.Contains(f.Values, v)) {
			return false
		}
	}
	return true
}

func (s *service) putRetentionPolicy(ctx context.Context, in *logstypes.PutRetentionPolicyRequest) (*struct{}, error) {
	days := awsapi.Deref(in.RetentionInDays)
	if !slices.Contains(retentionDays, days) {
		list := make([]string, len(retentionDays))
		for i, d := range retentionDays {
			list[i] = itoa(int64(d))
		}
		return nil, validationError("retentionInDays", itoa(int64(days)),
			"Member must satisfy enum value set: ["+strings.Join(list, ", ")+"]")
	}
	return nil, s.updateGroup(ctx, logsstate.GroupID{Region: region(ctx), Name: awsapi.Deref(in.LogGroupName)},
		func(g *logsstate.LogGroup) error { g.RetentionInDays = days; return nil })
}

func (s *service) deleteRetentionPolicy(ctx context.Context, in *logstypes.DeleteRetentionPolicyRequest) (*struct{}, error) {
	return nil, s.updateGroup(ctx, logsstate.GroupID{Region: region(ctx), Name: awsapi.Deref(in.LogGroupName)},
		func(g *logsstate.LogGroup) error { g.RetentionInDays = 0; return nil })
}

func (s *service) putLogGroupDeletionProtection(ctx context.Context, in *logstypes.PutLogGroupDeletionProtectionRequest) (*struct{}, error) {
	id, err := s.groupRef(ctx, nil, in.LogGroupIdentifier)
	if err != nil {
		return nil, err
	}
	on := awsapi.Deref(in.DeletionProtectionEnabled)
	return nil, s.updateGroup(ctx, id,
		func(g *logsstate.LogGroup) error { g.DeletionProtection = on; return nil })
}

// updateGroup changes an existing group's record.
func (s *service) updateGroup(ctx context.Context, id logsstate.GroupID, change func(*logsstate.LogGroup) error) error {
	_, err := store.Update(ctx, s.store, logsstate.GroupKey(id), func(g *logsstate.LogGroup, found bool) error {
		if !found {
			return errGroupNotFound
		}
		return change(g)
	})
	return err
}

func (s *service) tagResource(ctx context.Context, in *logstypes.TagResourceRequest) (*struct{}, error) {
	id, err := s.groupFromARN(awsapi.Deref(in.ResourceArn))
	if err != nil {
		return nil, err
	}
	return nil, s.addTags(ctx, id, in.Tags)
}

func (s *service) tagLogGroup(ctx context.Context, in *logstypes.TagLogGroupRequest) (*struct{}, error) {
	return nil, s.addTags(ctx, logsstate.GroupID{Region: region(ctx), Name: awsapi.Deref(in.LogGroupName)}, in.Tags)
}

func (s *service) addTags(ctx context.Context, id logsstate.GroupID, tags map[string]string) error {
	return s.updateGroup(ctx, id, func(g *logsstate.LogGroup) error {
		merged := maps.Clone(g.Tags)
		if merged == nil {
			merged = map[string]string{}
		}
		maps.Copy(merged, tags)
		if len(merged) > maxTags {
			return invalidParameter("A resource can have at most %d tags.", maxTags) // UNVERIFIED wording
		}
		g.Tags = merged
		return nil
	})
}

func (s *service) untagResource(ctx context.Context, in *logstypes.UntagResourceRequest) (*struct{}, error) {
	id, err := s.groupFromARN(awsapi.Deref(in.ResourceArn))
	if err != nil {
		return nil, err
	}
	return nil, s.removeTags(ctx, id, in.TagKeys)
}

func (s *service) untagLogGroup(ctx context.Context, in *logstypes.UntagLogGroupRequest) (*struct{}, error) {
	return nil, s.removeTags(ctx, logsstate.GroupID{Region: region(ctx), Name: awsapi.Deref(in.LogGroupName)}, in.Tags)
}

func (s *service) removeTags(ctx context.Context, id logsstate.GroupID, keys []string) error {
	return s.updateGroup(ctx, id, func(g *logsstate.LogGroup) error {
		for _, k := range keys {
			delete(g.Tags, k)
		}
		return nil
	})
}

func (s *service) listTagsForResource(ctx context.Context, in *logstypes.ListTagsForResourceRequest) (*logstypes.ListTagsForResourceResponse, error) {
	id, err := s.groupFromARN(awsapi.Deref(in.ResourceArn))
	if err != nil {
		return nil, err
	}
	g, err := s.group(ctx, id)
	if err != nil {
		return nil, err
	}
	return &logstypes.ListTagsForResourceResponse{Tags: nonNilTags(g.Value.Tags)}, nil
}

func (s *service) listTagsLogGroup(ctx context.Context, in *logstypes.ListTagsLogGroupRequest) (*logstypes.ListTagsLogGroupResponse, error) {
	g, err := s.group(ctx, logsstate.GroupID{Region: region(ctx), Name: awsapi.Deref(in.LogGroupName)})
	if err != nil {
		return nil, err
	}
	return &logstypes.ListTagsLogGroupResponse{Tags: nonNilTags(g.Value.Tags)}, nil
}

func nonNilTags(tags map[string]string) map[string]string {
	if tags == nil {
		return map[string]string{}
	}
	return tags
}

// pageToken is the nextToken of a page ending at name.
func pageToken(name *string) *string {
	return awsapi.String(base64.RawURLEncoding.EncodeToString([]byte(awsapi.Deref(name))))
}

// decodePageToken returns the name a page token ends at ("" for none).
func decodePageToken(token *string) (string, error) {
	if token == nil {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(*token)
	if err != nil || len(b) == 0 {
		return "", invalidParameter("The specified nextToken is invalid.") // UNVERIFIED wording
	}
	return string(b), nil
}
