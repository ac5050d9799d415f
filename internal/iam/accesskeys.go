package iam

import (
	"context"
	"errors"
	"slices"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/iam/iamstate"
	"github.com/berth/berth/internal/iam/iamtypes"
	"github.com/berth/berth/internal/store"
)

// accessKeysPerUser is how many access keys an IAM user may have.
const accessKeysPerUser = 2

// secretKeyAlphabet is the alphabet of secret access keys: 40 characters
// of base64's.
const secretKeyAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

// The access key statuses a user sets with UpdateAccessKey.
const (
	accessKeyActive   = "Active"
	accessKeyInactive = "Inactive"
)

func noSuchAccessKey(id string) error {
	return iamError(errNoSuchEntity, "The Access Key with id %s cannot be found.", id) // UNVERIFIED wording
}

// createAccessKey creates a key pair for a user. The secret is shown once,
// in this response; the store keeps it sealed.
func (s *iamService) createAccessKey(ctx context.Context, in *iamtypes.CreateAccessKeyRequest) (*iamtypes.CreateAccessKeyResponse, error) {
	name, err := userName(ctx, in.UserName)
	if err != nil {
		return nil, err
	}
	key := iamstate.AccessKey{
		ID:      "AKIA" + randomString(16, uniqueIDAlphabet),
		Status:  accessKeyActive,
		Created: s.clock(),
	}
	secret := randomString(40, secretKeyAlphabet)
	key.SealedSecret = s.box.Seal([]byte(secret), iamstate.AccessKeyKey(key.ID))
	err = store.Retry(ctx, func() error {
		v, err := userKind.read(ctx, s.store, name)
		if err != nil {
			return err
		}
		u := v.Value
		if len(u.AccessKeys) >= accessKeysPerUser {
			return quotaExceeded("AccessKeysPerUser", accessKeysPerUser)
		}
		u.AccessKeys = append(slices.Clone(u.AccessKeys), key.ID)
		key.UserName = u.Name
		userOp, err := store.PutJSON(iamstate.UserKey(name), u)
		if err != nil {
			return err
		}
		keyOp, err := store.PutJSON(iamstate.AccessKeyKey(key.ID), key)
		if err != nil {
			return err
		}
		_, err = s.store.Txn(ctx, store.Txn{
			If:   []store.Compare{{Key: iamstate.UserKey(name), ModRevision: v.ModRevision}, {Key: iamstate.AccessKeyKey(key.ID)}},
			Then: []store.Op{userOp, keyOp},
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	return &iamtypes.CreateAccessKeyResponse{AccessKey: &iamtypes.AccessKey{
		AccessKeyId:     awsapi.String(key.ID),
		SecretAccessKey: awsapi.String(secret),
		Status:          awsapi.String(key.Status),
		UserName:        awsapi.String(key.UserName),
		CreateDate:      awsapi.Time(key.Created),
	}}, nil
}

// userAccessKey returns the user's access key id, read at its revision.
func (s *iamService) userAccessKey(ctx context.Context, u *iamstate.User, id string) (store.Versioned[iamstate.AccessKey], error) {
	if !slices.Contains(u.AccessKeys, id) {
		return store.Versioned[iamstate.AccessKey]{}, noSuchAccessKey(id)
	}
	return store.Get[iamstate.AccessKey](ctx, s.store, iamstate.AccessKeyKey(id))
}

func (s *iamService) listAccessKeys(ctx context.Context, in *iamtypes.ListAccessKeysRequest) (*iamtypes.ListAccessKeysResponse, error) {
	if in.UserName == nil && callerIsRoot(ctx) {
		// berth's admin key is the root's, and lives outside IAM.
		return &iamtypes.ListAccessKeysResponse{AccessKeyMetadata: []iamtypes.AccessKeyMetadata{}, IsTruncated: awsapi.Bool(false)}, nil
	}
	v, err := s.readUserOrCaller(ctx, in.UserName)
	if err != nil {
		return nil, err
	}
	p, err := paginate(v.Value.AccessKeys, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	out := &iamtypes.ListAccessKeysResponse{AccessKeyMetadata: []iamtypes.AccessKeyMetadata{}, IsTruncated: awsapi.Bool(p.truncated), Marker: p.marker}
	for _, id := range p.items {
		k, err := s.userAccessKey(ctx, &v.Value, id)
		if err != nil {
			return nil, err
		}
		out.AccessKeyMetadata = append(out.AccessKeyMetadata, iamtypes.AccessKeyMetadata{
			AccessKeyId: awsapi.String(k.Value.ID),
			CreateDate:  awsapi.Time(k.Value.Created),
			Status:      awsapi.String(k.Value.Status),
			UserName:    awsapi.String(k.Value.UserName),
		})
	}
	return out, nil
}

func (s *iamService) updateAccessKey(ctx context.Context, in *iamtypes.UpdateAccessKeyRequest) (*struct{}, error) {
	name, err := userName(ctx, in.UserName)
	if err != nil {
		return nil, err
	}
	status, id := awsapi.Deref(in.Status), awsapi.Deref(in.AccessKeyId)
	if status != accessKeyActive && status != accessKeyInactive {
		// The model's statusType also lists Expired, which only IAM sets.
		return nil, iamError(errInvalidInput, "Invalid status %s: must be Active or Inactive.", status) // UNVERIFIED wording
	}
	return nil, store.Retry(ctx, func() error {
		u, err := userKind.read(ctx, s.store, name)
		if err != nil {
			return err
		}
		k, err := s.userAccessKey(ctx, &u.Value, id)
		if err != nil {
			return err
		}
		if k.Value.Status == status {
			return nil
		}
		k.Value.Status = status
		op, err := store.PutJSON(iamstate.AccessKeyKey(id), k.Value)
		if err != nil {
			return err
		}
		_, err = s.store.Txn(ctx, store.Txn{If: []store.Compare{{Key: iamstate.AccessKeyKey(id), ModRevision: k.ModRevision}}, Then: []store.Op{op}})
		return err
	})
}

func (s *iamService) deleteAccessKey(ctx context.Context, in *iamtypes.DeleteAccessKeyRequest) (*struct{}, error) {
	name, err := userName(ctx, in.UserName)
	if err != nil {
		return nil, err
	}
	id := awsapi.Deref(in.AccessKeyId)
	return nil, store.Retry(ctx, func() error {
		v, err := userKind.read(ctx, s.store, name)
		if err != nil {
			return err
		}
		u := v.Value
		i := slices.Index(u.AccessKeys, id)
		if i < 0 {
			return noSuchAccessKey(id)
		}
		u.AccessKeys = slices.Delete(slices.Clone(u.AccessKeys), i, i+1)
		op, err := store.PutJSON(iamstate.UserKey(name), u)
		if err != nil {
			return err
		}
		_, err = s.store.Txn(ctx, store.Txn{
			If:   []store.Compare{{Key: iamstate.UserKey(name), ModRevision: v.ModRevision}},
			Then: []store.Op{op, store.Delete(iamstate.AccessKeyKey(id))},
		})
		return err
	})
}

// notUsed is what GetAccessKeyLastUsed shows for the service and region of
// a key never used.
const notUsed = "N/A"

func (s *iamService) getAccessKeyLastUsed(ctx context.Context, in *iamtypes.GetAccessKeyLastUsedRequest) (*iamtypes.GetAccessKeyLastUsedResponse, error) {
	id := awsapi.Deref(in.AccessKeyId)
	v, err := store.Get[iamstate.AccessKey](ctx, s.store, iamstate.AccessKeyKey(id))
	if errors.Is(err, store.ErrNotFound) {
		return nil, noSuchAccessKey(id)
	}
	if err != nil {
		return nil, err
	}
	k := v.Value
	used := &iamtypes.AccessKeyLastUsed{ServiceName: awsapi.String(notUsed), Region: awsapi.String(notUsed)}
	if k.LastUsed != nil {
		used = &iamtypes.AccessKeyLastUsed{
			LastUsedDate: awsapi.Time(*k.LastUsed),
			ServiceName:  awsapi.String(k.LastUsedService),
			Region:       awsapi.String(k.LastUsedRegion),
		}
	}
	return &iamtypes.GetAccessKeyLastUsedResponse{UserName: awsapi.String(k.UserName), AccessKeyLastUsed: used}, nil
}
