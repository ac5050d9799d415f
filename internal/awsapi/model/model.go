// Package model loads the AWS API models (botocore's service-2.json, embedded
// compressed under data/) that give every service its shapes, member names,
// required fields, enums and limits. The gateway's codecs and validation and
// the type generator (apigen) read them from here.
package model

import (
	"bytes"
	"compress/gzip"
	"embed"
	"encoding/json"
	"fmt"
	"io"
	"sync"
)

//go:embed data/*.json.gz
var data embed.FS

// API is one service's model.
type API struct {
	// Name is the model's botocore name (data/<name>.json.gz), which is
	// also the aws CLI's command for the service: ecr, ecs, elbv2.
	Name       string                `json:"-"`
	Metadata   Metadata              `json:"metadata"`
	Operations map[string]*Operation `json:"operations"`
	Shapes     map[string]*Shape     `json:"shapes"`
}

// Metadata is the model's service metadata.
type Metadata struct {
	APIVersion     string `json:"apiVersion"`
	EndpointPrefix string `json:"endpointPrefix"`
	JSONVersion    string `json:"jsonVersion"`
	Protocol       string `json:"protocol"` // json | query | ec2 | rest-json | rest-xml
	ServiceID      string `json:"serviceId"`
	SigningName    string `json:"signingName"`
	TargetPrefix   string `json:"targetPrefix"`
	XMLNamespace   string `json:"xmlNamespace"`
	UID            string `json:"uid"`
}

// Operation is one API operation.
type Operation struct {
	Name   string     `json:"name"`
	Input  *ShapeRef  `json:"input"`
	Output *ShapeRef  `json:"output"`
	Errors []ShapeRef `json:"errors"`
}

// ShapeRef refers to a shape, with the reference's own serialisation traits.
type ShapeRef struct {
	Shape         string `json:"shape"`
	LocationName  string `json:"locationName"`
	QueryName     string `json:"queryName"`
	Flattened     bool   `json:"flattened"`
	ResultWrapper string `json:"resultWrapper"`
	Deprecated    bool   `json:"deprecated"`
	XMLAttribute  bool   `json:"xmlAttribute"`
	// IdempotencyToken marks a member the SDKs fill with a fresh UUID
	// when the caller leaves it out.
	IdempotencyToken bool `json:"idempotencyToken"`
}

// Shape is a botocore shape: structure, list, map or a scalar type.
type Shape struct {
	Type      string               `json:"type"` // structure list map string integer long boolean double float timestamp blob
	Members   map[string]*ShapeRef `json:"members"`
	Required  []string             `json:"required"`
	Member    *ShapeRef            `json:"member"`
	Key       *ShapeRef            `json:"key"`
	Value     *ShapeRef            `json:"value"`
	Enum      []string             `json:"enum"`
	Min       *float64             `json:"min"`
	Max       *float64             `json:"max"`
	Pattern   string               `json:"pattern"`
	Flattened bool                 `json:"flattened"`
	Exception bool                 `json:"exception"`
	Fault     bool                 `json:"fault"`
	Error     *ErrorTrait          `json:"error"`
	// TimestampFormat overrides the protocol's default (iso8601, unixTimestamp, rfc822).
	TimestampFormat string `json:"timestampFormat"`
	// Sensitive members are never logged.
	Sensitive bool `json:"sensitive"`
	// Document marks a structure that holds free-form JSON, not members.
	Document bool `json:"document"`
}

// ErrorTrait is the awsQueryError trait: the wire code and HTTP status.
type ErrorTrait struct {
	Code           string `json:"code"`
	HTTPStatusCode int    `json:"httpStatusCode"`
	SenderFault    bool   `json:"senderFault"`
}

var (
	mu     sync.Mutex
	loaded = map[string]*API{}
)

// Load returns the embedded model data/<name>.json.gz, parsed once.
func Load(name string) (*API, error) {
	mu.Lock()
	defer mu.Unlock()
	if api, ok := loaded[name]; ok {
		return api, nil
	}
	raw, err := data.ReadFile("data/" + name + ".json.gz")
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", name, err)
	}
	api, err := Parse(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", name, err)
	}
	api.Name = name
	loaded[name] = api
	return api, nil
}

// MustLoad is Load for models that are embedded in the binary: a missing or
// broken one is a build error, so it panics at start-up.
func MustLoad(name string) *API {
	api, err := Load(name)
	if err != nil {
		panic(err)
	}
	return api
}

// Parse reads a gzip-compressed botocore service-2.json.
func Parse(r io.Reader) (*API, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	var api API
	if err := json.NewDecoder(zr).Decode(&api); err != nil {
		return nil, err
	}
	for name, op := range api.Operations {
		if op.Name == "" {
			op.Name = name
		}
	}
	return &api, nil
}

// Shape returns the named shape, or nil.
func (a *API) Shape(name string) *Shape { return a.Shapes[name] }
