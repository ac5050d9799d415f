// Package ststypes holds the AWS Security Token Service API's request,
// response and data shapes, generated from the botocore model.
package ststypes

//go:generate go run ../../awsapi/apigen -model sts -package ststypes -out types_gen.go
