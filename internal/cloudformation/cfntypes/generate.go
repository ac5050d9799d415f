// Package cfntypes holds the AWS CloudFormation API's request, response
// and data shapes, generated from the botocore model.
package cfntypes

//go:generate go run ../../awsapi/apigen -model cloudformation -package cfntypes -out types_gen.go
