package sdstate

import (
	"context"
	"errors"
	"fmt"
	"time"

	json "github.com/go-json-experiment/json/v1"

	"github.com/berth/berth/internal/store"
)

// Failure is why an operation failed, as GetOperation shows it: Cloud
// Map's error code and message.
type Failure struct {
	Code    string
	Message string
}

func (f *Failure) Error() string { return f.Code + ": " + f.Message }

func fail(code, format string, args ...any) error {
	return &Failure{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Submit writes a new operation, SUBMITTED, for the operations worker to
// carry out (Execute). work is its Work.
func Submit(ctx context.Context, s store.Store, op Operation, work Work, now time.Time) (Operation, error) {
	raw, err := json.Marshal(work)
	if err != nil {
		return Operation{}, err
	}
	op.Status, op.Work = OpSubmitted, raw
	op.CreateDate, op.UpdateDate = now, now
	put, err := store.PutJSON(OperationKey(op.Region, op.ID), op)
	if err != nil {
		return Operation{}, err
	}
	_, err = s.Txn(ctx, store.Txn{If: []store.Compare{{Key: put.Key}}, Then: []store.Op{put}})
	return op, err
}

// Execute carries out the operation key names, if it has not ended: it
// moves it to PENDING, makes its change and records SUCCESS in the same
// transaction, or FAIL with the reason. Several workers may call it for
// the same operation: the compare-and-swap lets one through.
func Execute(ctx context.Context, s store.Store, key string, now func() time.Time) error {
	return store.Retry(ctx, func() error {
		cur, err := store.Get[Operation](ctx, s, key)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		op := cur.Value
		if op.Done() {
			return nil
		}
		rev := cur.ModRevision
		if op.Status == OpSubmitted {
			op.Status, op.UpdateDate = OpPending, now().UTC()
			put, err := store.PutJSON(key, op)
			if err != nil {
				return err
			}
			if rev, err = s.Txn(ctx, store.Txn{If: []store.Compare{{Key: key, ModRevision: cur.ModRevision}}, Then: []store.Op{put}}); err != nil {
				return err
			}
		}
		var work Work
		if err := json.Unmarshal(op.Work, &work); err != nil {
			return fmt.Errorf("sdstate: operation %s: %w", op.ID, err)
		}
		compares, ops, err := change(ctx, s, op, work, now().UTC())
		var failure *Failure
		switch {
		case errors.As(err, &failure):
			op.Status, op.ErrorCode, op.ErrorMessage = OpFail, failure.Code, failure.Message
			compares, ops = nil, nil
		case err != nil:
			return err
		default:
			op.Status = OpSuccess
		}
		op.UpdateDate = now().UTC()
		op.Work = nil
		put, err := store.PutJSON(key, op)
		if err != nil {
			return err
		}
		_, err = s.Txn(ctx, store.Txn{
			If:   append(compares, store.Compare{Key: key, ModRevision: rev}),
			Then: append(ops, put),
		})
		return err
	})
}

// change is what an operation writes, guarded by what it read; a
// *Failure ends the operation as FAIL.
func change(ctx context.Context, s store.Store, op Operation, w Work, now time.Time) ([]store.Compare, []store.Op, error) {
	switch op.Type {
	case OpCreateNamespace:
		return createNamespace(ctx, s, w.Namespace)
	case OpDeleteNamespace:
		return deleteNamespace(ctx, s, op.Region, w.NamespaceID)
	case OpUpdateNamespace:
		return updateNamespace(ctx, s, op.Region, w)
	case OpUpdateService:
		return updateService(ctx, s, op.Region, w)
	case OpRegisterInstance:
		return registerInstance(ctx, s, op.Region, w.ServiceID, w.Instance, now)
	case OpDeregisterInstance:
		return deregisterInstance(ctx, s, op.Region, w.ServiceID, w.InstanceID, now)
	}
	return nil, nil, fail("InvalidInput", "Unknown operation type %s.", op.Type)
}

// createNamespace writes a namespace and the claim of its name, which
// another namespace made since the request may hold.
func createNamespace(ctx context.Context, s store.Store, ns *Namespace) ([]store.Compare, []store.Op, error) {
	if ns == nil {
		return nil, nil, fail("InvalidInput", "The operation names no namespace.")
	}
	claimKey := NamespaceNameKey(ns.Region, ns.HTTPName)
	claimed, err := store.Get[NameClaim](ctx, s, claimKey)
	switch {
	case err == nil:
		// UNVERIFIED wording.
		return nil, nil, fail("NAMESPACE_ALREADY_EXISTS", "Namespace %s already exists: %s.", ns.Name, claimed.Value.ID)
	case !errors.Is(err, store.ErrNotFound):
		return nil, nil, err
	}
	put, err := store.PutJSON(NamespaceKey(ns.Region, ns.ID), ns)
	if err != nil {
		return nil, nil, err
	}
	claim, err := store.PutJSON(claimKey, NameClaim{ID: ns.ID})
	if err != nil {
		return nil, nil, err
	}
	return []store.Compare{{Key: put.Key}, {Key: claim.Key}}, []store.Op{put, claim}, nil
}

// existing reads the record at key, or fails the operation with code
// when it is gone (what names it, in the message).
func existing[T any](ctx context.Context, s store.Store, key, code, what string) (store.Versioned[T], error) {
	cur, err := store.Get[T](ctx, s, key)
	if errors.Is(err, store.ErrNotFound) {
		return cur, fail(code, "%s not found.", what) // UNVERIFIED code and wording
	}
	return cur, err
}

// rewrite is the write of the record at key changed by edit, guarded by
// the revision read.
func rewrite[T any](ctx context.Context, s store.Store, key, code, what string, edit func(*T)) ([]store.Compare, []store.Op, error) {
	cur, err := existing[T](ctx, s, key, code, what)
	if err != nil {
		return nil, nil, err
	}
	v := cur.Value
	edit(&v)
	put, err := store.PutJSON(key, v)
	if err != nil {
		return nil, nil, err
	}
	return []store.Compare{{Key: key, ModRevision: cur.ModRevision}}, []store.Op{put}, nil
}

func deleteNamespace(ctx context.Context, s store.Store, region, id string) ([]store.Compare, []store.Op, error) {
	key := NamespaceKey(region, id)
	cur, err := existing[Namespace](ctx, s, key, "NAMESPACE_NOT_FOUND", "Namespace "+id)
	if err != nil {
		return nil, nil, err
	}
	if cur.Value.ServiceCount > 0 {
		return nil, nil, fail("RESOURCE_IN_USE", "Namespace %s has associated services.", id) // UNVERIFIED code and wording
	}
	return []store.Compare{{Key: key, ModRevision: cur.ModRevision}},
		[]store.Op{store.Delete(key), store.Delete(NamespaceNameKey(region, cur.Value.HTTPName))}, nil
}

func updateNamespace(ctx context.Context, s store.Store, region string, w Work) ([]store.Compare, []store.Op, error) {
	return rewrite(ctx, s, NamespaceKey(region, w.NamespaceID), "NAMESPACE_NOT_FOUND", "Namespace "+w.NamespaceID, func(ns *Namespace) {
		if w.Description != nil {
			ns.Description = *w.Description
		}
		if w.SOATTL != nil {
			ns.SOATTL = *w.SOATTL
		}
	})
}

func updateService(ctx context.Context, s store.Store, region string, w Work) ([]store.Compare, []store.Op, error) {
	return rewrite(ctx, s, ServiceKey(region, w.ServiceID), "SERVICE_NOT_FOUND", "Service "+w.ServiceID, func(svc *Service) {
		if w.Description != nil {
			svc.Description = *w.Description
		}
		if len(w.Records) > 0 && svc.DNS != nil {
			svc.DNS.Records = w.Records
		}
		if w.HealthCheck != nil {
			svc.HealthCheck = w.HealthCheck
		}
	})
}

// registerInstance writes an instance, or replaces the attributes of the
// one of its id (keeping its health), and counts it in its service.
func registerInstance(ctx context.Context, s store.Store, region, serviceID string, inst *Instance, now time.Time) ([]store.Compare, []store.Op, error) {
	if inst == nil {
		return nil, nil, fail("InvalidInput", "The operation names no instance.")
	}
	svcKey := ServiceKey(region, serviceID)
	svc, err := existing[Service](ctx, s, svcKey, "SERVICE_NOT_FOUND", "Service "+serviceID)
	if err != nil {
		return nil, nil, err
	}
	key := InstanceKey(region, serviceID, inst.ID)
	old, err := store.Get[Instance](ctx, s, key)
	found := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, nil, err
	}
	next := *inst
	if found {
		next.Health, next.Pending, next.PendingSince = old.Value.Health, old.Value.Pending, old.Value.PendingSince
	} else {
		next.Health = InitialHealth(svc.Value, inst.Attributes)
	}
	put, err := store.PutJSON(key, next)
	if err != nil {
		return nil, nil, err
	}
	service := svc.Value
	if !found {
		service.InstanceCount++
	}
	service.InstancesRevision = nextRevision(service.InstancesRevision, now)
	putSvc, err := store.PutJSON(svcKey, service)
	if err != nil {
		return nil, nil, err
	}
	return []store.Compare{{Key: svcKey, ModRevision: svc.ModRevision}, {Key: key, ModRevision: old.ModRevision}},
		[]store.Op{put, putSvc}, nil
}

func deregisterInstance(ctx context.Context, s store.Store, region, serviceID, instanceID string, now time.Time) ([]store.Compare, []store.Op, error) {
	svcKey := ServiceKey(region, serviceID)
	svc, err := existing[Service](ctx, s, svcKey, "SERVICE_NOT_FOUND", "Service "+serviceID)
	if err != nil {
		return nil, nil, err
	}
	key := InstanceKey(region, serviceID, instanceID)
	old, err := existing[Instance](ctx, s, key, "INSTANCE_NOT_FOUND", "Instance "+instanceID)
	if err != nil {
		return nil, nil, err
	}
	service := svc.Value
	service.InstanceCount = max(service.InstanceCount-1, 0)
	service.InstancesRevision = nextRevision(service.InstancesRevision, now)
	putSvc, err := store.PutJSON(svcKey, service)
	if err != nil {
		return nil, nil, err
	}
	return []store.Compare{{Key: svcKey, ModRevision: svc.ModRevision}, {Key: key, ModRevision: old.ModRevision}},
		[]store.Op{store.Delete(key), putSvc}, nil
}

// nextRevision is a service's next InstancesRevision: larger than the last
// and than any before a restart (it follows the clock, in microseconds).
func nextRevision(last int64, now time.Time) int64 { return max(last+1, now.UnixMicro()) }

// Run submits an operation and carries it out at once, as a user's call
// and the worker would: what ECS does for its service tasks, which must
// be registered or deregistered before it goes on. A failure of the
// operation is a *Failure.
func Run(ctx context.Context, s store.Store, op Operation, work Work, now func() time.Time) error {
	op.ID = NewOperationID()
	op, err := Submit(ctx, s, op, work, now().UTC())
	if err != nil {
		return err
	}
	key := OperationKey(op.Region, op.ID)
	if err := Execute(ctx, s, key, now); err != nil {
		return err
	}
	done, err := store.Get[Operation](ctx, s, key)
	if err != nil {
		return err
	}
	if done.Value.Status == OpFail {
		return &Failure{Code: done.Value.ErrorCode, Message: done.Value.ErrorMessage}
	}
	return nil
}

// AskHealth records a custom health status asked for an instance (see
// Instance.AskHealth); ErrNotFound if it is not registered.
func AskHealth(ctx context.Context, s store.Store, region, serviceID, instanceID, status string, now time.Time) error {
	found := true
	_, err := store.Update(ctx, s, InstanceKey(region, serviceID, instanceID), func(inst *Instance, ok bool) error {
		if found = ok; !ok || !inst.AskHealth(status, now) {
			return store.ErrUnchanged
		}
		return nil
	})
	if err == nil && !found {
		return ErrNotFound
	}
	return err
}
