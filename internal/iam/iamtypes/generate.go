// Package iamtypes holds the AWS Identity and Access Management API's
// request, response and data shapes, generated from the botocore model.
package iamtypes

//go:generate go run ../../awsapi/apigen -model iam -package iamtypes -out types_gen.go
