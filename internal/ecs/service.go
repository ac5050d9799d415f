// Package ecs is berth's Amazon ECS API: clusters, task definitions, tasks
// and container instances. Handlers validate and write intent to the store
// through ecsstate; the agent hub and the agents make it happen.
package ecs

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"maps"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/awsapi/model"
	"github.com/berth/berth/internal/ecs/ecsstate"
	"github.com/berth/berth/internal/ecs/placement"
	"github.com/berth/berth/internal/scheduler"
	"github.com/berth/berth/internal/secretfile"
	"github.com/berth/berth/internal/store"
)

// Config wires the ECS API.
type Config struct {
	Store store.Store
	// AccountID goes into ARNs; the region is each request's (and each
	// record's for background work).
	AccountID string
	// Now is the clock (nil: time.Now).
	Now    func() time.Time
	Logger *slog.Logger
	// Placer places new tasks; RunTask, StartTask and the Launcher of one
	// server share it (nil: a placer of its own under a new id, as another
	// server's would be: correct, only with caches of its own, and its
	// placements compared with the others' in the store).
	Placer *placement.Placer
	// Roles, if set, refuses launches with a task or execution role ECS
	// could not assume; nil accepts any role ARN (IAM not enforced).
	Roles RoleTrust
}

// NewPlacer returns a placer over st named id, counting tasks'
// reservations as ECS does.
func NewPlacer(st store.Store, id string, registerer prometheus.Registerer) *placement.Placer {
	return placement.New(placement.Config{Store: st, ID: id, Reserves: reserves, Registerer: registerer})
}

// reserves is what a task of spec holds on its container instance, in the
// scheduler's terms.
func reserves(spec ecsstate.TaskSpec) scheduler.Resources {
	return schedulerResources(taskReservation(spec))
}

// newService returns the operations' shared state; component names the
// part of ECS it serves in logs ("" for the API).
func newService(cfg Config, component string) *service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Placer == nil {
		cfg.Placer = NewPlacer(cfg.Store, hex.EncodeToString(secretfile.RandomBytes(16)), nil)
	}
	log := cfg.Logger.With("service", "ecs")
	if component != "" {
		log = log.With("component", component)
	}
	return &service{
		store:   cfg.Store,
		placer:  cfg.Placer,
		roles:   cfg.Roles,
		tags:    &resourceTagCache{},
		account: cfg.AccountID,
		now:     func() time.Time { return cfg.Now().UTC() },
		log:     log,
	}
}

// NewService returns the ECS API service.
func NewService(cfg Config) *awsapi.Service {
	s := newService(cfg, "")
	ops := map[string]awsapi.Operation{}
	maps.Copy(ops, s.clusterOperations())
	maps.Copy(ops, s.taskDefinitionOperations())
	maps.Copy(ops, s.taskOperations())
	maps.Copy(ops, s.containerInstanceOperations())
	maps.Copy(ops, s.tagOperations())
	maps.Copy(ops, s.serviceOperations())
	maps.Copy(ops, s.capacityProviderOperations())
	maps.Copy(ops, s.accountSettingOperations())
	errs := newErrorTable(s.log)
	// The gateway's hooks run before any handler, outside a request's
	// context; Map needs one only to log errors it does not know.
	return &awsapi.Service{
		SigningName:  "ecs",
		TargetPrefix: "AmazonEC2ContainerServiceV20141113",
		Protocol:     awsapi.JSON11,
		Model:        model.MustLoad("ecs"),
		Operations:   errs.Bind(ops),
		ValidationError: func(path, value, constraint string) *awsapi.Error {
			return errs.Map(context.Background(), validationError(path, value, constraint))
		},
		Unsupported: func(op string) *awsapi.Error { return errs.Map(context.Background(), unsupported(op)) },
		Access:      s.access,
	}
}

type service struct {
	store  store.Store
	placer *placement.Placer
	roles  RoleTrust
	// tags caches resources' tags for authorization.
	tags    *resourceTagCache
	account string
	now     func() time.Time
	log     *slog.Logger
}

// requestRegion is the region an API call works in: its request's (the
// gateway gives unsigned requests the server's default region).
func requestRegion(ctx context.Context) string { return awsapi.RequestFrom(ctx).Region }

// arnsIn builds and reads the ARNs of region.
func (s *service) arnsIn(region string) ecsstate.ARNs {
	return ecsstate.ARNs{Region: region, Account: s.account}
}

// requestARNs are the ARNs of the request's region: ARNs naming another
// region refer to nothing in this one.
func (s *service) requestARNs(ctx context.Context) ecsstate.ARNs {
	return s.arnsIn(requestRegion(ctx))
}

// cluster returns the cluster of the request's region a name or ARN
// (empty: "default") refers to, ACTIVE or not; errClusterNotFound if there
// is none.
func (s *service) cluster(ctx context.Context, ref *string) (store.Versioned[ecsstate.Cluster], error) {
	name, ok := s.requestARNs(ctx).ClusterName(awsapi.Deref(ref))
	if !ok {
		return store.Versioned[ecsstate.Cluster]{}, errClusterNotFound
	}
	c, err := store.Get[ecsstate.Cluster](ctx, s.store, ecsstate.ClusterKey(requestRegion(ctx), name))
	if errors.Is(err, store.ErrNotFound) {
		return c, errClusterNotFound
	}
	return c, err
}

// activeCluster is cluster for calls that need an ACTIVE cluster (running
// tasks, registering): ECS answers an INACTIVE one as a missing one.
func (s *service) activeCluster(ctx context.Context, ref *string) (store.Versioned[ecsstate.Cluster], error) {
	c, err := s.cluster(ctx, ref)
	if err == nil && c.Value.Status != ecsstate.ClusterActive {
		return c, errClusterNotFound
	}
	return c, err
}

// Pagination. A nextToken is opaque to clients: it names the operation it
// belongs to and the store key after which the next page starts.
type pageToken struct {
	Op    string `json:"o"`
	After string `json:"a"`
}

func encodeToken(op, after string) *string {
	b, err := json.Marshal(pageToken{Op: op, After: after})
	if err != nil {
		panic(err) // a struct of strings always marshals
	}
	return awsapi.String(base64.RawURLEncoding.EncodeToString(b))
}

// decodeToken returns the key a nextToken issued by op continues after (""
// for no token).
func decodeToken(token *string, op string) (string, error) {
	if token == nil || *token == "" {
		return "", nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(*token)
	var t pageToken
	if err == nil {
		err = json.Unmarshal(raw, &t)
	}
	if err != nil || t.Op != op {
		return "", invalidParameter("Invalid token %s", *token)
	}
	return t.After, nil
}

// pageSize applies ECS's default page size of 100 and its limit of 100.
func pageSize(maxResults *int32) (int, error) {
	if maxResults == nil {
		return 100, nil
	}
	if *maxResults < 1 || *maxResults > 100 {
		return 0, invalidParameter("maxResults must be between 1 and 100.")
	}
	return int(*maxResults), nil
}
