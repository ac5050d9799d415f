// Package ec2types holds the shapes of the EC2 operations berth serves,
// generated from the trimmed botocore model (scripts/trim-model.py).
package ec2types

//go:generate go run ../../awsapi/apigen -model ec2 -package ec2types -out types_gen.go
