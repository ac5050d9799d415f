// Command apigen turns an embedded AWS API model (botocore service-2.json,
// see package model) into the Go request, response and member structs a
// service package's handlers take and return, plus the model's enum values
// and operation list:
//
//	go run ./internal/awsapi/apigen -model ecr -package ecrtypes -out internal/ecr/ecrtypes/types_gen.go
//
// Naming and type rules are in gen.go.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/berth/berth/internal/awsapi/model"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "apigen:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("apigen", flag.ContinueOnError)
	name := fs.String("model", "", "embedded model name (data/<name>.json.gz)")
	pkg := fs.String("package", "", "Go package name of the output")
	out := fs.String("out", "", "output file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *name == "" || *pkg == "" || *out == "" || fs.NArg() > 0 {
		return errors.New("usage: apigen -model NAME -package PKG -out FILE")
	}
	api, err := model.Load(*name)
	if err != nil {
		return err
	}
	src, err := generate(api, *name, *pkg)
	if err != nil {
		return fmt.Errorf("model %s: %w", *name, err)
	}
	return os.WriteFile(*out, src, 0o644)
}
