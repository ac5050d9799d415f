package ecr

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/ecr/ecrstate"
	"github.com/berth/berth/internal/ecr/ecrtypes"
	"github.com/berth/berth/internal/ecr/lifecycle"
	"github.com/berth/berth/internal/store"
)

// Lifecycle policy previews. StartLifecyclePolicyPreview records a preview
// of a policy (the one given, or the repository's) IN_PROGRESS, one per
// repository, and answers at once, as ECR does; the lifecycle controller's
// preview runner evaluates it over the repository's images with the
// controller's own code (lifecycle.Preview), so it shows exactly what the
// controller would do at the moment it was asked, and records the result
// for GetLifecyclePolicyPreview.

// loadPreview reads repo's preview and its revision (0: none).
func (s *service) loadPreview(ctx context.Context, repo ecrstate.RepositoryID) (*ecrstate.LifecyclePreview, int64, error) {
	v, err := store.Get[ecrstate.LifecyclePreview](ctx, s.store, ecrstate.LifecyclePreviewKey(repo))
	if errors.Is(err, store.ErrNotFound) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	return &v.Value, v.ModRevision, nil
}

// putPreview writes repo's preview if it is still at revision rev, and
// returns the new revision; store.ErrConflict if another writer came first.
func (s *service) putPreview(ctx context.Context, repo ecrstate.RepositoryID, rev int64, p *ecrstate.LifecyclePreview) (int64, error) {
	put, err := store.PutJSON(ecrstate.LifecyclePreviewKey(repo), p)
	if err != nil {
		return 0, err
	}
	return s.store.Txn(ctx, store.Txn{
		If:   []store.Compare{{Key: put.Key, ModRevision: rev}},
		Then: []store.Op{put},
	})
}

func (s *service) startLifecyclePolicyPreview(ctx context.Context, in *ecrtypes.StartLifecyclePolicyPreviewRequest) (*ecrtypes.StartLifecyclePolicyPreviewResponse, error) {
	repo, err := s.repositoryIn(ctx, in.RegistryId, in.RepositoryName)
	if err != nil {
		return nil, err
	}
	r, err := s.catalog.GetRepository(ctx, repo)
	if err != nil {
		return nil, subject{repo: repo.Name}.wrap(err)
	}
	var text string
	if in.LifecyclePolicyText != nil {
		text = *in.LifecyclePolicyText
		if _, err := checkLifecyclePolicyText(text); err != nil {
			return nil, err
		}
	} else {
		if r.LifecyclePolicy == "" {
			return nil, subject{repo: repo.Name}.wrap(errLifecyclePolicyNotFound)
		}
		text = r.LifecyclePolicy
	}

	now := s.now()
	old, rev, err := s.loadPreview(ctx, repo)
	if err != nil {
		return nil, subject{repo: repo.Name}.wrap(err)
	}
	if old != nil && old.RepositoryCreatedAt.Equal(r.CreatedAt) && old.StatusAt(now) == ecrtypes.LifecyclePolicyPreviewStatusInProgress {
		return nil, subject{repo: repo.Name}.wrap(errPreviewInProgress)
	}
	preview := &ecrstate.LifecyclePreview{RepositoryCreatedAt: r.CreatedAt, PolicyText: text, Status: ecrtypes.LifecyclePolicyPreviewStatusInProgress, StartedAt: now}
	if _, err := s.putPreview(ctx, repo, rev, preview); errors.Is(err, store.ErrConflict) {
		return nil, subject{repo: repo.Name}.wrap(errPreviewInProgress)
	} else if err != nil {
		return nil, subject{repo: repo.Name}.wrap(err)
	}
	s.log.InfoContext(ctx, "ecr: lifecycle policy preview started", "region", repo.Region, "repository", repo.Name)
	return &ecrtypes.StartLifecyclePolicyPreviewResponse{
		RegistryId:          awsapi.String(s.account),
		RepositoryName:      awsapi.String(repo.Name),
		LifecyclePolicyText: awsapi.String(text),
		Status:              awsapi.String(preview.Status),
	}, nil
}

func (s *service) getLifecyclePolicyPreview(ctx context.Context, in *ecrtypes.GetLifecyclePolicyPreviewRequest) (*ecrtypes.GetLifecyclePolicyPreviewResponse, error) {
	const op = "GetLifecyclePolicyPreview"
	repo, err := s.repositoryIn(ctx, in.RegistryId, in.RepositoryName)
	if err != nil {
		return nil, err
	}
	tagStatus := ""
	if in.Filter != nil {
		tagStatus = awsapi.Deref(in.Filter.TagStatus)
	}
	if err := checkTagStatus("filter.tagStatus", tagStatus); err != nil {
		return nil, err
	}
	if err := checkMaxResults(in.MaxResults); err != nil {
		return nil, err
	}
	if len(in.ImageIds) > 0 && (in.MaxResults != nil || in.NextToken != nil) {
		// UNVERIFIED wording.
		return nil, invalidParameter("maxResults", "maxResults and nextToken cannot be specified together with imageIds")
	}
	r, err := s.catalog.GetRepository(ctx, repo)
	if err != nil {
		return nil, subject{repo: repo.Name}.wrap(err)
	}
	preview, _, err := s.loadPreview(ctx, repo)
	if err != nil {
		return nil, subject{repo: repo.Name}.wrap(err)
	}
	if preview == nil || !preview.RepositoryCreatedAt.Equal(r.CreatedAt) {
		return nil, subject{repo: repo.Name}.wrap(errPreviewNotFound)
	}
	// The token names the preview it pages through, so a page of a newer
	// preview is never served after one of an older.
	started := preview.StartedAt.Format(time.RFC3339Nano)
	after, err := decodeToken(in.NextToken, op, repo.Name, 2)
	if err != nil {
		return nil, err
	}
	if after != nil && after[0] != started {
		return nil, invalidParameter("nextToken", "Invalid NextToken")
	}

	status := preview.StatusAt(s.now())
	out := &ecrtypes.GetLifecyclePolicyPreviewResponse{
		RegistryId:          awsapi.String(s.account),
		RepositoryName:      awsapi.String(repo.Name),
		LifecyclePolicyText: awsapi.String(preview.PolicyText),
		Status:              awsapi.String(status),
		PreviewResults:      []ecrtypes.LifecyclePolicyPreviewResult{},
	}
	if status != ecrtypes.LifecyclePolicyPreviewStatusComplete {
		return out, nil
	}
	out.Summary = previewSummary(preview.Results)

	results := slices.DeleteFunc(slices.Clone(preview.Results), func(p ecrstate.PreviewResult) bool {
		return !previewMatches(p, tagStatus, in.ImageIds)
	})
	if len(in.ImageIds) > 0 {
		for _, p := range results {
			out.PreviewResults = append(out.PreviewResults, previewOutput(p))
		}
		return out, nil
	}
	start := 0
	if after != nil {
		i := slices.IndexFunc(results, func(p ecrstate.PreviewResult) bool { return p.Digest == after[1] })
		if i < 0 {
			return nil, invalidParameter("nextToken", "Invalid NextToken")
		}
		start = i + 1
	}
	end := min(start+pageSize(in.MaxResults), len(results))
	for _, p := range results[start:end] {
		out.PreviewResults = append(out.PreviewResults, previewOutput(p))
	}
	if end < len(results) {
		out.NextToken = encodeToken(op, repo.Name, started, results[end-1].Digest)
	}
	return out, nil
}

// previewMatches applies GetLifecyclePolicyPreview's filter and imageIds.
func previewMatches(p ecrstate.PreviewResult, tagStatus string, ids []ecrtypes.ImageIdentifier) bool {
	switch tagStatus {
	case ecrtypes.TagStatusTagged:
		if len(p.Tags) == 0 {
			return false
		}
	case ecrtypes.TagStatusUntagged:
		if len(p.Tags) > 0 {
			return false
		}
	}
	if len(ids) == 0 {
		return true
	}
	return slices.ContainsFunc(ids, func(id ecrtypes.ImageIdentifier) bool {
		if id.ImageDigest == nil && id.ImageTag == nil {
			return false
		}
		return (id.ImageDigest == nil || *id.ImageDigest == p.Digest) &&
			(id.ImageTag == nil || slices.Contains(p.Tags, *id.ImageTag))
	})
}

// previewSummary counts the whole preview, whatever the filter.
func previewSummary(results []ecrstate.PreviewResult) *ecrtypes.LifecyclePolicyPreviewSummary {
	var expiring, transitioning int32
	for _, p := range results {
		if p.Action == lifecycle.ActionTransition {
			transitioning++
		} else {
			expiring++
		}
	}
	summary := &ecrtypes.LifecyclePolicyPreviewSummary{ExpiringImageTotalCount: awsapi.Int32(expiring)}
	if transitioning > 0 {
		summary.TransitioningImageTotalCounts = []ecrtypes.TransitioningImageTotalCount{{
			TargetStorageClass: awsapi.String(ecrtypes.LifecyclePolicyTargetStorageClassArchive),
			ImageTotalCount:    awsapi.Int32(transitioning),
		}}
	}
	return summary
}

func previewOutput(p ecrstate.PreviewResult) ecrtypes.LifecyclePolicyPreviewResult {
	action := &ecrtypes.LifecyclePolicyRuleAction{Type: awsapi.String(ecrtypes.ImageActionTypeExpire)}
	if p.Action == lifecycle.ActionTransition {
		action = &ecrtypes.LifecyclePolicyRuleAction{Type: awsapi.String(ecrtypes.ImageActionTypeTransition), TargetStorageClass: awsapi.String(ecrtypes.LifecyclePolicyTargetStorageClassArchive)}
	}
	return ecrtypes.LifecyclePolicyPreviewResult{
		ImageDigest:         awsapi.String(p.Digest),
		ImageTags:           p.Tags,
		ImagePushedAt:       awsapi.Time(p.PushedAt),
		Action:              action,
		AppliedRulePriority: awsapi.Int32(int32(p.RulePriority)),
		// Every berth image is in the standard storage class.
		StorageClass: awsapi.String(ecrtypes.LifecyclePolicyStorageClassStandard),
	}
}
