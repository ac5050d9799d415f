// Package smtypes holds the AWS Secrets Manager API's request, response and
// data shapes, generated from the botocore model.
package smtypes

//go:generate go run ../../awsapi/apigen -model secretsmanager -package smtypes -out types_gen.go
