// Package elbv2types holds the Elastic Load Balancing v2 API's request,
// response and data shapes, generated from the botocore model.
package elbv2types

//go:generate go run ../../awsapi/apigen -model elbv2 -package elbv2types -out types_gen.go
