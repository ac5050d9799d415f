// Package e2e drives a real `berth server` with the real clients: the aws CLI
// (v1 on PATH, v2 at /usr/bin/aws), aws-sdk-go-v2 and the docker CLI. The
// harness lives in the _test.go files: StartServer, Server's methods, Run,
// Docker and BuildAppImage.
//
// Docker-dependent tests skip when Docker is unavailable, except under CI=true,
// where they fail. BERTH_BIN names a prebuilt berth binary; without it
// TestMain builds ./cmd/berth.
package e2e
