package ecs

import "github.com/berth/berth/internal/awsapi"

// capacityProviderOperations are the capacity provider APIs.
func (s *service) capacityProviderOperations() map[string]awsapi.Operation {
	return map[string]awsapi.Operation{}
}
