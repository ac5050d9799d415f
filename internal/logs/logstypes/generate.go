// Package logstypes holds the Amazon CloudWatch Logs API's request, response
// and data shapes, generated from the botocore model. The API service, its
// state and its tests speak in these shapes.
package logstypes

//go:generate go run ../../awsapi/apigen -model logs -package logstypes -out types_gen.go
