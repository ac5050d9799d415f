package registry

import (
	"context"
	"errors"
	"net/http"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/ecr/ecrstate"
)

// Authorizer decides registry requests as IAM would: the password names
// the access key GetAuthorizationToken was called with, and each request
// needs the ECR action docker's step maps to. The IAM directory
// implements it.
type Authorizer interface {
	Caller(accessKeyID string) (awsapi.Caller, bool)
	Authorize(ctx context.Context, caller awsapi.Caller, accesses []awsapi.Access) error
}

// registryAction is the ECR action a registry request performs, as ECR's
// documentation lists them for docker push and pull; "" for the base
// endpoint, which only authenticates.
func registryAction(ep endpoint, method string) string {
	read := isRead(method)
	switch {
	case ep == epManifest && read, ep == epReferrers && read:
		return "ecr:BatchGetImage"
	case ep == epManifest && method == http.MethodPut:
		return "ecr:PutImage"
	case ep == epManifest && method == http.MethodDelete:
		return "ecr:BatchDeleteImage"
	case ep == epBlob && method == http.MethodHead:
		// docker push asks whether each layer is there.
		return "ecr:BatchCheckLayerAvailability"
	case ep == epBlob && method == http.MethodGet:
		return "ecr:GetDownloadUrlForLayer"
	case ep == epBlob && method == http.MethodDelete:
		return "ecr:BatchDeleteImage" // UNVERIFIED: ECR has no blob delete of its own
	case ep == epUploadStart:
		return "ecr:InitiateLayerUpload"
	case ep == epUpload && method == http.MethodPatch:
		return "ecr:UploadLayerPart"
	case ep == epUpload && method == http.MethodPut:
		return "ecr:CompleteLayerUpload"
	case ep == epUpload:
		return "ecr:UploadLayerPart" // status and cancel of an upload in progress
	case ep == epTags:
		return "ecr:ListImages"
	}
	return ""
}

// authorize decides action on repo for the request's caller; a denial is
// ECR's 403 DENIED with IAM's sentence, which docker prints after
// "denied: ".
func (h *handler) authorize(ctx context.Context, repo ecrstate.RepositoryID, action string) *apiError {
	caller := awsapi.RequestFrom(ctx).Caller
	if h.authorizer == nil || caller.Admin || action == "" {
		return nil
	}
	access := awsapi.Access{Action: action, Resource: repo.ARN(h.account)}
	// The repository's policy may grant what the caller's own policies
	// don't; a repository that does not exist has none, and the handler
	// answers its not-found error once the caller may ask.
	if record, err := h.cat.GetRepository(ctx, repo); err == nil {
		access.ResourcePolicy, access.Context = record.Policy, record.TagConditions()
	} else if !errors.Is(err, ErrRepositoryNotFound) {
		return internal(err)
	}
	err := h.authorizer.Authorize(ctx, caller, []awsapi.Access{access})
	var denied *awsapi.AccessDenied
	switch {
	case errors.As(err, &denied):
		return errorf(http.StatusForbidden, codeDenied, "%s", denied.Message)
	case err != nil:
		return internal(err)
	}
	return nil
}

// mayReadAnyRepository reports whether a mount naming no source may take
// a blob from whichever repository of the region has it: only when every
// caller may read everything, or the caller is the admin. Anyone else's
// mount falls back to uploading the bytes, so a push never copies a blob
// out of a repository the caller may not read.
func (h *handler) mayReadAnyRepository(ctx context.Context) bool {
	if h.authorizer == nil {
		return true
	}
	return awsapi.RequestFrom(ctx).Caller.Admin
}
