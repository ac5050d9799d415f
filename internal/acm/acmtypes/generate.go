// Package acmtypes holds the AWS Certificate Manager API's request,
// response and data shapes, generated from the botocore model.
package acmtypes

//go:generate go run ../../awsapi/apigen -model acm -package acmtypes -out types_gen.go
