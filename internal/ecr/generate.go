// Package ecr is berth's Amazon ECR API: repositories, images and the
// layer-upload operations over the registry's catalog.
package ecr

//go:generate go run ../awsapi/apigen -model ecr -package ecr -out types_gen.go
