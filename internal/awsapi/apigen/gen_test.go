package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berth/berth/internal/awsapi/model"
)

var update = flag.Bool("update", false, "rewrite testdata/tiny.golden")

// tinyModel exercises every shape type and naming rule.
const tinyModel = `{
  "metadata": {"protocol": "json", "targetPrefix": "Tiny"},
  "operations": {
    "PutThing": {"name": "PutThing", "input": {"shape": "PutThingRequest"}, "output": {"shape": "PutThingResponse"},
      "errors": [{"shape": "ThingNotFoundException"}]},
    "Ping": {"name": "Ping", "input": {"shape": "PingRequest"}}
  },
  "shapes": {
    "PutThingRequest": {"type": "structure", "required": ["thingName"], "members": {
      "thingName": {"shape": "Name"},
      "count": {"shape": "Int"},
      "sizeInBytes": {"shape": "Long"},
      "enabled": {"shape": "Bool"},
      "ratio": {"shape": "Double"},
      "weight": {"shape": "Float"},
      "createdAt": {"shape": "Time"},
      "payload": {"shape": "Blob"},
      "status": {"shape": "Status"},
      "tags": {"shape": "TagList"},
      "labels": {"shape": "LabelMap"},
      "matrix": {"shape": "NameListList"},
      "history": {"shape": "TimeMap"},
      "details": {"shape": "Details"},
      "parent": {"shape": "Thing"},
      "instance-id": {"shape": "Name", "locationName": "InstanceID"}
    }},
    "PutThingResponse": {"type": "structure", "members": {"thing": {"shape": "Thing"}}},
    "PingRequest": {"type": "structure", "members": {}},
    "Thing": {"type": "structure", "members": {
      "name": {"shape": "Name"},
      "children": {"shape": "ThingList"}
    }},
    "ThingList": {"type": "list", "member": {"shape": "Thing"}},
    "Tag": {"type": "structure", "required": ["Key"], "members": {"Key": {"shape": "Name"}, "Value": {"shape": "Name"}}},
    "TagList": {"type": "list", "member": {"shape": "Tag"}},
    "LabelMap": {"type": "map", "key": {"shape": "Name"}, "value": {"shape": "Tag"}},
    "NameList": {"type": "list", "member": {"shape": "Name"}},
    "NameListList": {"type": "list", "member": {"shape": "NameList"}},
    "TimeMap": {"type": "map", "key": {"shape": "Status"}, "value": {"shape": "Time"}},
    "Details": {"type": "structure", "members": {}, "document": true},
    "Status": {"type": "string", "enum": ["IN_PROGRESS", "in-progress", "awsvpc", "fargateFIPSMode", "AES256"]},
    "Name": {"type": "string"},
    "Int": {"type": "integer"},
    "Long": {"type": "long"},
    "Bool": {"type": "boolean"},
    "Double": {"type": "double"},
    "Float": {"type": "float"},
    "Time": {"type": "timestamp"},
    "Blob": {"type": "blob"},
    "Unused": {"type": "structure", "members": {"name": {"shape": "Name"}}},
    "UnusedKind": {"type": "string", "enum": ["A"]},
    "ThingNotFoundException": {"type": "structure", "members": {"message": {"shape": "Name"}}, "exception": true}
  }
}`

func parseModel(t *testing.T, src string) *model.API {
	t.Helper()
	var api model.API
	if err := json.Unmarshal([]byte(src), &api); err != nil {
		t.Fatal(err)
	}
	return &api
}

func TestGoName(t *testing.T) {
	for in, want := range map[string]string{
		"repositoryName":    "RepositoryName",
		"imageIds":          "ImageIds",
		"registryId":        "RegistryId",
		"repositoryArn":     "RepositoryArn",
		"kmsKey":            "KmsKey",
		"Key":               "Key",
		"RCTAppliedFor":     "RCTAppliedFor",
		"instance-id":       "InstanceId",
		"__listOfString":    "ListOfString",
		"2fa":               "X2fa",
		"CreateRepository":  "CreateRepository",
		"imageSizeInBytes":  "ImageSizeInBytes",
		"layerPartBlob":     "LayerPartBlob",
		"upstreamRegistry":  "UpstreamRegistry",
		"nextToken":         "NextToken",
		"acceptedMediaType": "AcceptedMediaType",
	} {
		if got := goName(in); got != want {
			t.Errorf("goName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestEnumValueName(t *testing.T) {
	for in, want := range map[string]string{
		"TAGGED":                   "Tagged",
		"KMS_DSSE":                 "KmsDsse",
		"AES256":                   "Aes256",
		"IMMUTABLE_WITH_EXCLUSION": "ImmutableWithExclusion",
		"ImageNotFound":            "ImageNotFound",
		"docker-hub":               "DockerHub",
		"awsvpc":                   "Awsvpc",
		"fargateFIPSMode":          "FargateFIPSMode",
		"WINDOWS_SERVER_2019_FULL": "WindowsServer2019Full",
		"json-file":                "JsonFile",
	} {
		if got := enumValueName(in); got != want {
			t.Errorf("enumValueName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestGoType(t *testing.T) {
	g := &generator{api: parseModel(t, tinyModel)}
	for _, c := range []struct {
		shape       string
		field, elem string
	}{
		{"Name", "*string", "string"},
		{"Status", "*string", "string"},
		{"Int", "*int32", "int32"},
		{"Long", "*int64", "int64"},
		{"Bool", "*bool", "bool"},
		{"Double", "*float64", "float64"},
		{"Float", "*float64", "float64"},
		{"Time", "*awsapi.Timestamp", "awsapi.Timestamp"},
		{"Blob", "[]byte", "[]byte"},
		{"Thing", "*Thing", "Thing"},
		{"TagList", "[]Tag", "[]Tag"},
		{"NameListList", "[][]string", "[][]string"},
		{"LabelMap", "map[string]Tag", "map[string]Tag"},
		{"TimeMap", "map[string]awsapi.Timestamp", "map[string]awsapi.Timestamp"},
		{"Details", "json.RawMessage", "json.RawMessage"},
	} {
		for field, want := range map[bool]string{true: c.field, false: c.elem} {
			got, err := g.goType(&model.ShapeRef{Shape: c.shape}, field)
			if err != nil || got != want {
				t.Errorf("goType(%s, field=%v) = %q, %v; want %q", c.shape, field, got, err, want)
			}
		}
	}
}

func TestGoTypeRejects(t *testing.T) {
	api := parseModel(t, `{"shapes": {
		"Big": {"type": "bigDecimal"},
		"IntKeys": {"type": "map", "key": {"shape": "Int"}, "value": {"shape": "Int"}},
		"Int": {"type": "integer"},
		"Dangling": {"type": "list", "member": {"shape": "Nowhere"}}
	}}`)
	g := &generator{api: api}
	for _, shape := range []string{"Big", "IntKeys", "Dangling", "Missing"} {
		if got, err := g.goType(&model.ShapeRef{Shape: shape}, true); err == nil {
			t.Errorf("goType(%s) = %q, want an error", shape, got)
		}
	}
}

func TestGenerateGolden(t *testing.T) {
	api := parseModel(t, tinyModel)
	got, err := generate(api, "tiny", "tiny")
	if err != nil {
		t.Fatal(err)
	}
	// Map iteration order must not leak into the output.
	for range 5 {
		again, err := generate(api, "tiny", "tiny")
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, again) {
			t.Fatal("output differs between runs")
		}
	}
	golden := filepath.Join("testdata", "tiny.golden")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (go test -update to accept):\n%s", golden, got)
	}
	for _, absent := range []string{"Unused", "ThingNotFoundException", "type Details"} {
		if bytes.Contains(got, []byte(absent)) {
			t.Errorf("output has %q, which no operation input or output reaches", absent)
		}
	}
}

// TestModelsHandled maps every shape of the embedded models, reachable or
// not, so a new shape type in a model update fails here rather than in a
// later go generate.
func TestModelsHandled(t *testing.T) {
	for _, name := range []string{"ecr", "ecs"} {
		api, err := model.Load(name)
		if err != nil {
			t.Fatal(err)
		}
		g := &generator{api: api}
		for shape := range api.Shapes {
			if _, err := g.goType(&model.ShapeRef{Shape: shape}, true); err != nil {
				t.Errorf("%s: %v", name, err)
			}
		}
		if _, err := generate(api, name, name); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestGeneratedCompiles vets each model's output as a package inside this
// module (it imports internal/awsapi), placed there by an overlay so the
// source tree is not touched.
func TestGeneratedCompiles(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go vet")
	}
	dir, err := filepath.Abs("testdata")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"tiny", "ecr", "ecs"} {
		t.Run(name, func(t *testing.T) {
			var api *model.API
			if name == "tiny" {
				api = parseModel(t, tinyModel)
			} else if api, err = model.Load(name); err != nil {
				t.Fatal(err)
			}
			src, err := generate(api, name, name)
			if err != nil {
				t.Fatal(err)
			}
			tmp := t.TempDir()
			file := filepath.Join(tmp, "types_gen.go")
			if err := os.WriteFile(file, src, 0o644); err != nil {
				t.Fatal(err)
			}
			overlay, err := json.Marshal(map[string]any{"Replace": map[string]string{
				filepath.Join(dir, name+"_gen.go"): file,
			}})
			if err != nil {
				t.Fatal(err)
			}
			overlayFile := filepath.Join(tmp, "overlay.json")
			if err := os.WriteFile(overlayFile, overlay, 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command("go", "vet", "-overlay", overlayFile, "./testdata").CombinedOutput()
			if err != nil {
				t.Fatalf("go vet: %v\n%s", err, out)
			}
		})
	}
}

// TestCommittedShapes catches drift between the models, the generator and
// every service's committed types_gen.go.
func TestCommittedShapes(t *testing.T) {
	for _, svc := range []string{"ecr", "ecs"} {
		t.Run(svc, func(t *testing.T) {
			pkg := svc + "types"
			out := filepath.Join(t.TempDir(), "types_gen.go")
			if err := run([]string{"-model", svc, "-package", pkg, "-out", out}); err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			committed, err := os.ReadFile(filepath.Join("..", "..", svc, pkg, "types_gen.go"))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, committed) {
				t.Errorf("internal/%s/%s/types_gen.go is stale: run go generate ./internal/%s/%s", svc, pkg, svc, pkg)
			}
		})
	}
}

func TestRunUsage(t *testing.T) {
	for _, args := range [][]string{
		nil,
		{"-model", "ecr", "-package", "ecr"},
		{"-model", "nosuch", "-package", "x", "-out", filepath.Join(t.TempDir(), "x.go")},
	} {
		if err := run(args); err == nil {
			t.Errorf("run(%s) succeeded", strings.Join(args, " "))
		}
	}
}
