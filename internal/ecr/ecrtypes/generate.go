// Package ecrtypes holds the Amazon ECR API's request, response and data
// shapes, generated from the botocore model. The API service and its tests
// speak in these shapes.
package ecrtypes

//go:generate go run ../../awsapi/apigen -model ecr -package ecrtypes -out types_gen.go
