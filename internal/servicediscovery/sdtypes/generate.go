// Package sdtypes holds the AWS Cloud Map (servicediscovery) API's request,
// response and data shapes, generated from the botocore model.
package sdtypes

//go:generate go run ../../awsapi/apigen -model servicediscovery -package sdtypes -out types_gen.go
