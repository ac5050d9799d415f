// Package ecstypes holds the Amazon ECS API's request, response and data
// shapes, generated from the botocore model. The API service, the state
// records, the agent protocol and the agent all speak in these shapes, as
// ECS's own agent does.
package ecstypes

//go:generate go run ../../awsapi/apigen -model ecs -package ecstypes -out types_gen.go
