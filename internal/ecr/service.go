// Package ecr is berth's Amazon ECR API: repositories, images and the
// layer-upload operations over the registry's catalog.
package ecr

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"strings"
	"time"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/awsapi/model"
	"github.com/berth/berth/internal/blob"
	"github.com/berth/berth/internal/ecr/ecrstate"
	"github.com/berth/berth/internal/ecr/ecrtypes"
	"github.com/berth/berth/internal/registry"
	"github.com/berth/berth/internal/store"
)

// Config wires the ECR API to berth's registry.
type Config struct {
	// Catalog holds repositories, images, tags and blob links.
	Catalog *registry.Catalog
	// Blobs stores layer content written through the layer-upload API.
	Blobs blob.Store
	// Tokens issues the registry passwords GetAuthorizationToken hands out.
	Tokens *registry.Tokens
	// Store keeps registry-level settings (scanning configuration) and
	// layer-upload sessions.
	Store store.Store
	// AccountID is the registry id. Each request works in its own region
	// (awsapi.RequestFrom); Region, the server's default, is kept only to
	// label logs.
	AccountID, Region string
	// RegistryHost is the host[:port] the registry is reached at; repository
	// URIs are <RegistryHost>/<name>.
	RegistryHost string
	// VulnerabilityDatabase tells the scan APIs whether the database has
	// records (nil: an empty one).
	VulnerabilityDatabase VulnerabilityDatabase
	// Now is the clock (nil: time.Now).
	Now    func() time.Time
	Logger *slog.Logger
}

// NewService returns the ECR API service.
func NewService(cfg Config) *awsapi.Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &service{
		catalog: cfg.Catalog,
		blobs:   cfg.Blobs,
		tokens:  cfg.Tokens,
		store:   cfg.Store,
		account: cfg.AccountID,
		host:    cfg.RegistryHost,
		now:     func() time.Time { return cfg.Now().UTC() },
		log:     cfg.Logger.With("service", "ecr", "defaultRegion", cfg.Region),
		vulnDB:  cfg.VulnerabilityDatabase,
	}
	errs := newErrorTable(s.log, s.account)
	return &awsapi.Service{
		SigningName:  "ecr",
		TargetPrefix: "AmazonEC2ContainerRegistry_V20150921",
		Protocol:     awsapi.JSON11,
		Model:        model.MustLoad("ecr"),
		Operations:   errs.Bind(s.operations()),
		// The hook runs before any handler, outside a request's context;
		// Map needs one only to log errors it does not know.
		ValidationError: func(path, value, constraint string) *awsapi.Error {
			return errs.Map(context.Background(), validationError(path, value, constraint))
		},
		Unsupported: unsupported,
		Access:      s.access,
	}
}

type service struct {
	catalog *registry.Catalog
	blobs   blob.Store
	tokens  *registry.Tokens
	store   store.Store
	account string
	host    string
	now     func() time.Time
	log     *slog.Logger
	vulnDB  VulnerabilityDatabase
}

// operations lists the implemented operations; the gateway answers the
// rest with Unsupported. Handlers return empty output lists as non-nil
// slices, since ECR sends [] rather than leaving them out.
func (s *service) operations() map[string]awsapi.Operation {
	return map[string]awsapi.Operation{
		"CreateRepository":                 awsapi.Op(s.createRepository),
		"DescribeRepositories":             awsapi.Op(s.describeRepositories),
		"DeleteRepository":                 awsapi.Op(s.deleteRepository),
		"PutImageTagMutability":            awsapi.Op(s.putImageTagMutability),
		"PutImageScanningConfiguration":    awsapi.Op(s.putImageScanningConfiguration),
		"SetRepositoryPolicy":              awsapi.Op(s.setRepositoryPolicy),
		"PutRegistryPolicy":                awsapi.Op(s.putRegistryPolicy),
		"GetRegistryPolicy":                awsapi.Op(s.getRegistryPolicy),
		"DeleteRegistryPolicy":             awsapi.Op(s.deleteRegistryPolicy),
		"GetRepositoryPolicy":              awsapi.Op(s.getRepositoryPolicy),
		"DeleteRepositoryPolicy":           awsapi.Op(s.deleteRepositoryPolicy),
		"TagResource":                      awsapi.Op(s.tagResource),
		"UntagResource":                    awsapi.Op(s.untagResource),
		"ListTagsForResource":              awsapi.Op(s.listTagsForResource),
		"PutLifecyclePolicy":               awsapi.Op(s.putLifecyclePolicy),
		"GetLifecyclePolicy":               awsapi.Op(s.getLifecyclePolicy),
		"DeleteLifecyclePolicy":            awsapi.Op(s.deleteLifecyclePolicy),
		"StartLifecyclePolicyPreview":      awsapi.Op(s.startLifecyclePolicyPreview),
		"GetLifecyclePolicyPreview":        awsapi.Op(s.getLifecyclePolicyPreview),
		"DescribeImages":                   awsapi.Op(s.describeImages),
		"ListImages":                       awsapi.Op(s.listImages),
		"BatchGetImage":                    awsapi.Op(s.batchGetImage),
		"BatchDeleteImage":                 awsapi.Op(s.batchDeleteImage),
		"PutImage":                         awsapi.Op(s.putImage),
		"DescribeImageScanFindings":        awsapi.Op(s.describeImageScanFindings),
		"BatchCheckLayerAvailability":      awsapi.Op(s.batchCheckLayerAvailability),
		"InitiateLayerUpload":              awsapi.Op(s.initiateLayerUpload),
		"UploadLayerPart":                  awsapi.Op(s.uploadLayerPart),
		"CompleteLayerUpload":              awsapi.Op(s.completeLayerUpload),
		"GetDownloadUrlForLayer":           awsapi.Op(s.getDownloadURLForLayer),
		"GetAuthorizationToken":            awsapi.Op(s.getAuthorizationToken),
		"DescribeRegistry":                 awsapi.Op(s.describeRegistry),
		"PutRegistryScanningConfiguration": awsapi.Op(s.putRegistryScanningConfiguration),
		"GetRegistryScanningConfiguration": awsapi.Op(s.getRegistryScanningConfiguration),

		// Image scanning (scanning.go).
		"StartImageScan": awsapi.Op(s.startImageScan),
		"BatchGetRepositoryScanningConfiguration": awsapi.Op(s.batchGetRepositoryScanningConfiguration),
	}
}

// repositoryIn checks the registryId of a call that names a repository and
// returns the repository, in the request's region. berth has one registry,
// so a repository in any other is one that does not exist.
func (s *service) repositoryIn(ctx context.Context, registryID, name *string) (ecrstate.RepositoryID, error) {
	repo := repositoryID(ctx, awsapi.Deref(name))
	if id := awsapi.Deref(registryID); id != "" && id != s.account {
		return repo, subject{repo: repo.Name, registry: id}.wrap(registry.ErrRepositoryNotFound)
	}
	return repo, nil
}

// repositoryID is the repository name names in the request's region.
func repositoryID(ctx context.Context, name string) ecrstate.RepositoryID {
	return ecrstate.RepositoryID{Region: awsapi.RequestFrom(ctx).Region, Name: name}
}

// ownRegistry checks the registryId of a call that names no existing
// repository (creating or listing).
func (s *service) ownRegistry(param string, registryID string) error {
	if registryID != "" && registryID != s.account {
		return invalidParameter(param, "berth serves only the registry with id '"+s.account+"', not '"+registryID+"'")
	}
	return nil
}

func (s *service) repositoryARN(repo ecrstate.RepositoryID) string { return repo.ARN(s.account) }

// parseRepositoryARN returns the repository an ARN of this registry names.
// An ARN of another region names a repository that does not exist here,
// in the request's region.
func (s *service) parseRepositoryARN(ctx context.Context, arn string) (ecrstate.RepositoryID, error) {
	// arn:<partition>:ecr:<region>:<account>:repository/<name>
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[1] == "" || parts[2] != "ecr" || parts[4] == "" {
		return ecrstate.RepositoryID{}, invalidARN()
	}
	name, ok := strings.CutPrefix(parts[5], "repository/")
	if !ok || name == "" {
		return ecrstate.RepositoryID{}, invalidARN()
	}
	repo := repositoryID(ctx, name)
	if parts[4] != s.account || parts[3] != repo.Region {
		return repo, subject{repo: name, registry: parts[4]}.wrap(registry.ErrRepositoryNotFound)
	}
	return repo, nil
}

// repositoryOutput describes r, a repository of region.
func (s *service) repositoryOutput(region string, r ecrstate.Repository) *ecrtypes.Repository {
	out := &ecrtypes.Repository{
		RepositoryArn:              awsapi.String(s.repositoryARN(ecrstate.RepositoryID{Region: region, Name: r.Name})),
		RegistryId:                 awsapi.String(s.account),
		RepositoryName:             awsapi.String(r.Name),
		RepositoryUri:              awsapi.String(s.host + "/" + r.Name),
		CreatedAt:                  awsapi.Time(r.CreatedAt),
		ImageTagMutability:         awsapi.String(r.TagMutability),
		ImageScanningConfiguration: &ecrtypes.ImageScanningConfiguration{ScanOnPush: awsapi.Bool(r.ScanOnPush)},
		EncryptionConfiguration:    &ecrtypes.EncryptionConfiguration{EncryptionType: awsapi.String(r.EncryptionType)},
	}
	if r.KMSKey != "" {
		out.EncryptionConfiguration.KmsKey = awsapi.String(r.KMSKey)
	}
	out.ImageTagMutabilityExclusionFilters = exclusionFiltersOutput(r.TagMutabilityExclusions)
	return out
}

// Pagination. A nextToken is opaque to clients: it names the operation and
// repository it belongs to and the position after which the next page starts.
type pageToken struct {
	Op    string   `json:"o"`
	Repo  string   `json:"r,omitempty"`
	After []string `json:"a"`
}

func encodeToken(op, repo string, after ...string) *string {
	b, err := json.Marshal(pageToken{Op: op, Repo: repo, After: after})
	if err != nil {
		panic(err) // a struct of strings always marshals
	}
	return awsapi.String(base64.RawURLEncoding.EncodeToString(b))
}

// decodeToken returns the position in a nextToken (nil for none), which must
// have been issued by the same operation on the same repository.
func decodeToken(token *string, op, repo string, n int) ([]string, error) {
	if token == nil || *token == "" {
		return nil, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(*token)
	var t pageToken
	if err == nil {
		err = json.Unmarshal(raw, &t)
	}
	if err != nil || t.Op != op || t.Repo != repo || len(t.After) != n {
		return nil, invalidParameter("nextToken", "Invalid NextToken")
	}
	return t.After, nil
}

// pageSize applies ECR's default page size of 100.
func pageSize(maxResults *int32) int {
	if maxResults == nil {
		return 100
	}
	return int(*maxResults)
}

func checkMaxResults(maxResults *int32) error {
	if maxResults != nil && (*maxResults < 1 || *maxResults > 1000) {
		return validationError("maxResults", "", "Member must have value between 1 and 1000")
	}
	return nil
}

// storeJSON writes a registry-level record (the scanning configuration,
// an upload session) whatever was there.
func (s *service) storeJSON(ctx context.Context, key string, v any) error {
	put, err := store.PutJSON(key, v)
	if err != nil {
		return err
	}
	_, err = s.store.Txn(ctx, store.Txn{Then: []store.Op{put}})
	return err
}
