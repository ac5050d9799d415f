package ssm

import (
	"context"
	"strings"
)

// ResolveValue returns the value of the parameter nameOrARN names,
// decrypted, and the parameter's ARN: what ECS reads for a container's
// secrets and credentials when it starts a task. nameOrARN is a
// parameter's ARN, of any region, or the name of a parameter in region,
// written "/api/key" or, as ECS also takes it, "api/key"; either may end in
// a ":<version>" or ":<label>" selector.
//
// It returns an error wrapping ErrParameterNotFound for a parameter (or a
// label) that does not exist, ErrParameterVersionNotFound for a version
// that does not, and ErrInvalidName for a reference that can name no
// parameter. No error quotes the value.
func (m *SSM) ResolveValue(ctx context.Context, region, nameOrARN string) (value, arn string, err error) {
	s := m.s
	r, err := s.parseRef(region, nameOrARN)
	if err != nil {
		return "", "", err
	}
	if name := r.names[0]; len(r.names) == 1 && !strings.HasPrefix(name, "/") && strings.Contains(name, "/") {
		r.names[0] = "/" + name
	}
	got, err := s.read(ctx, r)
	if err != nil {
		return "", "", err
	}
	id := got.param.ID()
	if value, err = s.value(id, got.version, true); err != nil {
		return "", "", err
	}
	return value, s.arn(id), nil
}
