package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
)

// The AWS endpoints let the tests see what an AWS SDK inside a task can
// do with the default credential chain and no other setup:
//
//	GET /env/{name}            the variable's value (404 when unset)
//	GET /aws/whoami            sts GetCallerIdentity, as JSON
//	GET /aws/ecr/repositories  ecr DescribeRepositories: the names, as JSON
//
// An AWS error answers 502 with {"code": ..., "message": ...}.
func awsRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /env/{name}", func(w http.ResponseWriter, r *http.Request) {
		v, ok := os.LookupEnv(r.PathValue("name"))
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte(v))
	})
	mux.HandleFunc("GET /aws/whoami", func(w http.ResponseWriter, r *http.Request) {
		cfg, err := config.LoadDefaultConfig(r.Context())
		if err != nil {
			awsFailure(w, err)
			return
		}
		out, err := sts.NewFromConfig(cfg).GetCallerIdentity(r.Context(), &sts.GetCallerIdentityInput{})
		if err != nil {
			awsFailure(w, err)
			return
		}
		writeJSONBody(w, http.StatusOK, map[string]string{"Arn": aws.ToString(out.Arn), "Account": aws.ToString(out.Account), "UserId": aws.ToString(out.UserId)})
	})
	mux.HandleFunc("GET /aws/ecr/repositories", func(w http.ResponseWriter, r *http.Request) {
		names, err := repositories(r.Context())
		if err != nil {
			awsFailure(w, err)
			return
		}
		writeJSONBody(w, http.StatusOK, names)
	})
}

func repositories(ctx context.Context) ([]string, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, err
	}
	out, err := ecr.NewFromConfig(cfg).DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{})
	if err != nil {
		return nil, err
	}
	names := []string{}
	for _, repo := range out.Repositories {
		names = append(names, aws.ToString(repo.RepositoryName))
	}
	return names, nil
}

func awsFailure(w http.ResponseWriter, err error) {
	body := map[string]string{"code": "", "message": err.Error()}
	var api smithy.APIError
	if errors.As(err, &api) {
		body["code"], body["message"] = api.ErrorCode(), api.ErrorMessage()
	}
	writeJSONBody(w, http.StatusBadGateway, body)
}

func writeJSONBody(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
