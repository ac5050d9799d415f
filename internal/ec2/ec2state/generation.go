package ec2state

import (
	"context"
	"errors"

	"github.com/berth/berth/internal/store"
)

// Generation is a record kept for its revision (see the package comment):
// N only changes so that each write is a new revision.
type Generation struct {
	N uint64 `json:"n"`
}

// ReadGeneration reads the generation at key, with its revision (0 when
// it was never written).
func ReadGeneration(ctx context.Context, s store.Store, key string) (Generation, int64, error) {
	g, err := store.Get[Generation](ctx, s, key)
	if errors.Is(err, store.ErrNotFound) {
		return Generation{}, 0, nil
	}
	return g.Value, g.ModRevision, err
}

// Next is the write that advances g, read at key.
func (g Generation) Next(key string) (store.Op, error) {
	return store.PutJSON(key, Generation{N: g.N + 1})
}

// DefaultVPCWrites returns a new default VPC for spec and the writes that
// make it (its default subnets and security group, and the region's
// DefaultVPC record), for a caller that commits them in a transaction of
// its own: the EC2 API's CreateDefaultVpc, after the user deleted the
// region's default VPC.
func DefaultVPCWrites(spec DefaultVPCSpec) (VPC, []store.Op, error) {
	return newDefaultVPC(spec)
}
