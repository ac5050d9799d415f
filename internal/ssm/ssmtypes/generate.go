// Package ssmtypes holds the AWS Systems Manager API's request, response and
// data shapes, generated from the botocore model. berth serves its Parameter
// Store operations and Session Manager's session operations.
package ssmtypes

//go:generate go run ../../awsapi/apigen -model ssm -package ssmtypes -out types_gen.go
