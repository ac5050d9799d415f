package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/awsapi/model"
)

// jsonModel exercises what the embedded JSON models barely use: document
// members, locationName, blobs, maps with constrained keys and values, and
// sensitive members.
const jsonModel = `{
 "metadata": {"apiVersion": "2020-01-01", "protocol": "json", "targetPrefix": "Synthetic"},
 "operations": {"Put": {"name": "Put", "input": {"shape": "PutInput"}}},
 "shapes": {
  "PutInput": {"type": "structure", "required": ["Name"], "members": {
    "Name": {"shape": "Name"},
    "Renamed": {"shape": "Name", "locationName": "wire"},
    "Doc": {"shape": "Doc"},
    "When": {"shape": "Time"},
    "Data": {"shape": "Blob"},
    "Ratio": {"shape": "Ratio"},
    "Big": {"shape": "Big"},
    "Labels": {"shape": "Labels"},
    "Secret": {"shape": "Secret"},
    "Secrets": {"shape": "SecretList"}
  }},
  "Name": {"type": "string", "min": 1, "max": 8},
  "Doc": {"type": "structure", "members": {}, "document": true},
  "Time": {"type": "timestamp"},
  "Blob": {"type": "blob", "min": 2},
  "Ratio": {"type": "double", "max": 1.5},
  "Big": {"type": "long"},
  "Labels": {"type": "map", "key": {"shape": "LabelKey"}, "value": {"shape": "Name"}, "max": 2},
  "LabelKey": {"type": "string", "pattern": "[a-z]+"},
  "Secret": {"type": "string", "min": 10, "sensitive": true},
  "SecretList": {"type": "list", "member": {"shape": "Secret"}}
 }
}`

func jsonService(t *testing.T, hook func(path, value, constraint string) *awsapi.Error) *service {
	t.Helper()
	var api model.API
	if err := json.Unmarshal([]byte(jsonModel), &api); err != nil {
		t.Fatal(err)
	}
	svc, err := newService(&awsapi.Service{
		SigningName: "synthetic", TargetPrefix: "Synthetic", Protocol: awsapi.JSON11, Model: &api,
		ValidationError: hook,
		Operations: map[string]awsapi.Operation{
			"Put": awsapi.Op(func(_ context.Context, in *map[string]any) (*struct{}, error) { return nil, nil }),
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

func TestDecodeJSONTraits(t *testing.T) {
	svc := jsonService(t, nil)
	op := svc.Model.Operations["Put"]
	in, err := decodeJSON(svc, op, []byte(`{"Name":"n","wire":"renamed","Renamed":"ignored","Doc":{"any":["thing",1,null]},`+
		`"When":"2026-02-03T04:05:06.789Z","Data":"aGk=","Ratio":1.5,"Big":1e3,"Labels":{"a":"x"}}`))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"Name": "n", "wire": "renamed", "Doc": map[string]any{"any": []any{"thing", float64(1), nil}},
		"When": 1770091506.789, "Data": "aGk=", "Ratio": 1.5, "Big": float64(1000), "Labels": map[string]any{"a": "x"},
	}
	if got := *in.(*map[string]any); !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %#v\nwant %#v", got, want)
	}

	cases := []struct{ body, code, message string }{
		{`{"Name":"n","Labels":{"A":"x","b":"123456789","c":"y"}}`, "ValidationException",
			"3 validation errors detected: Value '{A=x, b=123456789, c=y}' at 'labels' failed to satisfy constraint: Member must have length less than or equal to 2; " +
				"Value '{A=x, b=123456789, c=y}' at 'labels' failed to satisfy constraint: Map keys must satisfy constraint: [Member must satisfy regular expression pattern: [a-z]+]; " +
				"Value '{A=x, b=123456789, c=y}' at 'labels' failed to satisfy constraint: Map value must satisfy constraint: " +
				"[Member must have length less than or equal to 8, Member must have length greater than or equal to 1]"},
		{`{"Name":"n","Secret":"short","Secrets":["ok: long enough","short2"]}`, "ValidationException",
			"2 validation errors detected: Value at 'secret' failed to satisfy constraint: Member must have length greater than or equal to 10; " +
				"Value at 'secrets' failed to satisfy constraint: Member must satisfy constraint: [Member must have length greater than or equal to 10]"},
		{`{"Name":"n","Data":"aA=="}`, "ValidationException",
			"1 validation error detected: Value 'aA==' at 'data' failed to satisfy constraint: Member must have length greater than or equal to 2"},
		{`{"Name":"n","Ratio":2}`, "ValidationException",
			"1 validation error detected: Value '2' at 'ratio' failed to satisfy constraint: Member must have value less than or equal to 1.5"},
		{`{"Name":"n","Data":"not base64!"}`, "SerializationException",
			"Value 'not base64!' at 'data' can not be converted to a base64-encoded blob"},
		{`{"Name":"n","When":"yesterday"}`, "SerializationException", "Value 'yesterday' at 'when' can not be converted to a timestamp"},
		{`{"Name":"n","When":true}`, "SerializationException", "Value 'true' at 'when' can not be converted to a timestamp"},
		{`{"Name":"n","Big":9223372036854775808}`, "SerializationException",
			"Value '9223372036854775808' at 'big' can not be converted to an integer"},
		{`{"Name":"n","Labels":["a"]}`, "SerializationException", "Value '[a]' at 'labels' can not be converted to a map"},
		{`{"Name":{"a":1}}`, "SerializationException", "Value '{a=1}' at 'name' can not be converted to a string"},
	}
	for _, c := range cases {
		_, err := decodeJSON(svc, op, []byte(c.body))
		var ae *awsapi.Error
		if !errors.As(err, &ae) || ae.Code != c.code || ae.Message != c.message {
			t.Errorf("%s:\n got %v\nwant %s: %s", c.body, err, c.code, c.message)
		}
	}
}

func TestValidationCap(t *testing.T) {
	// Violations beyond maxReported are counted, not spelled out.
	svc := jsonService(t, nil)
	c := &checker{api: svc.Model}
	for range 25 {
		c.add(violation{path: "p", value: "v", constraint: "Member must not be null"})
	}
	e := c.err(svc)
	if !strings.HasPrefix(e.Message, "25 validation errors detected: ") || strings.Count(e.Message, "; ") != maxReported-1 {
		t.Fatalf("%s", e.Message)
	}
	if n := len(c.violations); n != maxReported {
		t.Fatalf("%d violations kept", n)
	}
}
