// Command gen writes resourcespec's embedded spec.json.gz from an unpacked
// @aws-cdk/aws-service-spec npm package: AWS's published CloudFormation
// resource specification, as the CDK builds it from the CloudFormation
// registry schemas.
//
// The package's db.json.gz is 2.6 MB of every resource type, its
// documentation, metrics and events. berth needs the name of every type,
// to tell a type CloudFormation does not know from one berth does not
// provision, and the full definition of the few types it provisions
// (listed in provisioned.txt). Documentation, defaults, relationship hints
// and previousTypes (the CDK's record of a property's older types, kept
// for its generated code, not what CloudFormation accepts today) are
// dropped.
//
// scripts/update-cfn-resource-spec.sh fetches the package and runs this.
//
// usage: go run ./internal/cloudformation/resourcespec/gen -package DIR -types FILE -out FILE
package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/berth/berth/internal/cloudformation/resourcespec/specfile"
)

func main() {
	pkgDir := flag.String("package", "", "directory of the unpacked npm package (holding package.json and db.json.gz)")
	typesFile := flag.String("types", "", "file listing the provisioned resource types, one a line; # starts a comment")
	out := flag.String("out", "", "spec.json.gz to write")
	flag.Parse()
	if *pkgDir == "" || *typesFile == "" || *out == "" || flag.NArg() != 0 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*pkgDir, *typesFile, *out); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(pkgDir, typesFile, out string) error {
	provisioned, err := readTypes(typesFile)
	if err != nil {
		return err
	}
	var pkg struct {
		Name    string `json:"name"`
		Version string `json:"version"`
	}
	if err := readJSON(pkgDir+"/package.json", false, &pkg); err != nil {
		return err
	}
	var db database
	if err := readJSON(pkgDir+"/db.json.gz", true, &db); err != nil {
		return err
	}
	spec, err := build(pkg.Name, pkg.Version, &db, provisioned)
	if err != nil {
		return err
	}
	return writeGzipJSON(out, spec)
}

func readTypes(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var types []string
	s := bufio.NewScanner(f)
	for s.Scan() {
		line, _, _ := strings.Cut(s.Text(), "#")
		if line = strings.TrimSpace(line); line != "" {
			types = append(types, line)
		}
	}
	if err := s.Err(); err != nil {
		return nil, err
	}
	if len(types) == 0 {
		return nil, fmt.Errorf("%s lists no resource types", path)
	}
	return types, nil
}

func readJSON(path string, gzipped bool, v any) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	var r io.Reader = f
	if gzipped {
		zr, err := gzip.NewReader(f)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		defer zr.Close()
		r = zr
	}
	d := json.NewDecoder(r)
	d.UseNumber()
	if err := d.Decode(v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// writeGzipJSON writes v reproducibly: encoding/json sorts map keys and
// the gzip header carries no time or name.
func writeGzipJSON(path string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	zw, err := gzip.NewWriterLevel(f, gzip.BestCompression)
	if err != nil {
		f.Close()
		return err
	}
	_, err = zw.Write(data)
	err = errors.Join(err, zw.Close(), f.Close())
	return err
}

// The input: the parts of db.json.gz the generator reads.

type database struct {
	Schema struct {
		Resource struct {
			Entities []dbResource `json:"entities"`
		} `json:"resource"`
		TypeDefinition struct {
			Entities []dbTypeDefinition `json:"entities"`
		} `json:"typeDefinition"`
	} `json:"schema"`
}

type dbResource struct {
	ID                 string                 `json:"$id"`
	CloudFormationType string                 `json:"cloudFormationType"`
	Properties         map[string]dbProperty  `json:"properties"`
	Attributes         map[string]dbAttribute `json:"attributes"`
	PrimaryIdentifier  []string               `json:"primaryIdentifier"`
	CfnRefIdentifier   []string               `json:"cfnRefIdentifier"`
	TagInformation     *struct {
		TagPropertyName string `json:"tagPropertyName"`
	} `json:"tagInformation"`
}

type dbTypeDefinition struct {
	ID         string                `json:"$id"`
	Name       string                `json:"name"`
	Properties map[string]dbProperty `json:"properties"`
}

type dbProperty struct {
	Type              dbType `json:"type"`
	Required          bool   `json:"required"`
	CausesReplacement string `json:"causesReplacement"`
}

type dbAttribute struct {
	Type dbType `json:"type"`
}

// dbType is a property's type. It remembers keys it does not know, so that
// a shape a newer spec introduces fails generation instead of being lost.
type dbType struct {
	Type      string `json:"type"`
	Element   *dbType
	Reference *struct {
		Ref string `json:"$ref"`
	}
	Types         []dbType
	AllowedValues []any
	unknownKeys   []string
}

func (t *dbType) UnmarshalJSON(data []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	type plain struct {
		Type      string  `json:"type"`
		Element   *dbType `json:"element"`
		Reference *struct {
			Ref string `json:"$ref"`
		} `json:"reference"`
		Types         []dbType `json:"types"`
		AllowedValues []any    `json:"allowedValues"`
	}
	var p plain
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	if err := d.Decode(&p); err != nil {
		return err
	}
	*t = dbType{Type: p.Type, Element: p.Element, Reference: p.Reference, Types: p.Types, AllowedValues: p.AllowedValues}
	for k := range raw {
		switch k {
		case "type", "element", "reference", "types", "allowedValues":
		default:
			t.unknownKeys = append(t.unknownKeys, k)
		}
	}
	sort.Strings(t.unknownKeys)
	return nil
}

type builder struct {
	typeDefs map[string]*dbTypeDefinition // by $id
	out      *specfile.File
	keyOf    map[string]string // type definition $id -> its key in out.Types
}

func build(name, version string, db *database, provisioned []string) (*specfile.File, error) {
	if name == "" || version == "" {
		return nil, errors.New("package.json names no package or version")
	}
	b := &builder{
		typeDefs: map[string]*dbTypeDefinition{},
		keyOf:    map[string]string{},
		out: &specfile.File{
			Package:   name,
			Version:   version,
			Resources: map[string]*specfile.Resource{},
			Types:     map[string]*specfile.Object{},
		},
	}
	for i := range db.Schema.TypeDefinition.Entities {
		td := &db.Schema.TypeDefinition.Entities[i]
		b.typeDefs[td.ID] = td
	}
	byName := map[string]*dbResource{}
	for i := range db.Schema.Resource.Entities {
		r := &db.Schema.Resource.Entities[i]
		if r.CloudFormationType == "" {
			return nil, fmt.Errorf("resource %s has no cloudFormationType", r.ID)
		}
		if byName[r.CloudFormationType] != nil {
			return nil, fmt.Errorf("resource type %s appears twice", r.CloudFormationType)
		}
		byName[r.CloudFormationType] = r
		b.out.Known = append(b.out.Known, r.CloudFormationType)
	}
	sort.Strings(b.out.Known)
	if len(b.out.Known) < 100 {
		return nil, fmt.Errorf("the spec holds only %d resource types", len(b.out.Known))
	}
	for _, typ := range provisioned {
		r := byName[typ]
		if r == nil {
			return nil, fmt.Errorf("provisioned type %s is not in the spec", typ)
		}
		def, err := b.resource(r)
		if err != nil {
			return nil, err
		}
		b.out.Resources[typ] = def
	}
	return b.out, nil
}

func (b *builder) resource(r *dbResource) (*specfile.Resource, error) {
	typ := r.CloudFormationType
	props, err := b.properties(typ, typ, r.Properties)
	if err != nil {
		return nil, err
	}
	def := &specfile.Resource{
		Properties:        props,
		PrimaryIdentifier: r.PrimaryIdentifier,
		RefIdentifier:     r.CfnRefIdentifier,
	}
	if r.TagInformation != nil {
		def.TagProperty = r.TagInformation.TagPropertyName
		if props[def.TagProperty] == nil {
			return nil, fmt.Errorf("%s: tag property %s is not a property", typ, def.TagProperty)
		}
	}
	if len(r.Attributes) > 0 {
		def.Attributes = map[string]string{}
		for name, a := range r.Attributes {
			kind, err := attributeKind(a.Type)
			if err != nil {
				return nil, fmt.Errorf("%s attribute %s: %w", typ, name, err)
			}
			def.Attributes[name] = kind
		}
	}
	return def, nil
}

// attributeKind keeps only the kind of a Fn::GetAtt value: whether it is a
// list matters to the template's evaluation, its element types do not.
func attributeKind(t dbType) (string, error) {
	switch t.Type {
	case "string", "integer", "number", "boolean", "json", "date-time", "array", "map":
		return t.Type, nil
	case "ref":
		return "object", nil
	}
	return "", fmt.Errorf("unhandled attribute type %q", t.Type)
}

func (b *builder) properties(resourceType, where string, in map[string]dbProperty) (map[string]*specfile.Property, error) {
	out := map[string]*specfile.Property{}
	for name, p := range in {
		at := where + "." + name
		t, err := b.typ(resourceType, at, p.Type)
		if err != nil {
			return nil, err
		}
		switch p.CausesReplacement {
		case "", "yes", "maybe":
		default:
			return nil, fmt.Errorf("%s: unhandled causesReplacement %q", at, p.CausesReplacement)
		}
		out[name] = &specfile.Property{Type: t, Required: p.Required, Replaces: p.CausesReplacement}
	}
	return out, nil
}

func (b *builder) typ(resourceType, at string, t dbType) (*specfile.Type, error) {
	if len(t.unknownKeys) > 0 {
		return nil, fmt.Errorf("%s: unhandled type keys %v", at, t.unknownKeys)
	}
	out := &specfile.Type{Kind: t.Type}
	switch t.Type {
	case "string", "date-time":
		for _, v := range t.AllowedValues {
			if _, ok := v.(string); !ok {
				return nil, fmt.Errorf("%s: allowed value %v of a %s is not a string", at, v, t.Type)
			}
		}
		out.Enum = t.AllowedValues
	case "integer", "number":
		for _, v := range t.AllowedValues {
			if _, ok := v.(json.Number); !ok {
				return nil, fmt.Errorf("%s: allowed value %v of a %s is not a number", at, v, t.Type)
			}
		}
		out.Enum = t.AllowedValues
	case "boolean", "json", "tag", "null":
	case "array", "map":
		if t.Element == nil {
			return nil, fmt.Errorf("%s: %s without element", at, t.Type)
		}
		el, err := b.typ(resourceType, at+"[]", *t.Element)
		if err != nil {
			return nil, err
		}
		out.Element = el
	case "ref":
		if t.Reference == nil {
			return nil, fmt.Errorf("%s: ref without reference", at)
		}
		key, err := b.typeDefinition(resourceType, t.Reference.Ref)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", at, err)
		}
		out.Kind, out.Ref = "object", key
	case "union":
		if len(t.Types) < 2 {
			return nil, fmt.Errorf("%s: union of %d types", at, len(t.Types))
		}
		for _, m := range t.Types {
			mt, err := b.typ(resourceType, at, m)
			if err != nil {
				return nil, err
			}
			out.Union = append(out.Union, mt)
		}
	default:
		return nil, fmt.Errorf("%s: unhandled type %q", at, t.Type)
	}
	if len(t.AllowedValues) > 0 && out.Enum == nil {
		return nil, fmt.Errorf("%s: allowed values on a %s", at, t.Type)
	}
	if t.Element != nil && out.Element == nil || t.Reference != nil && out.Ref == "" || len(t.Types) > 0 && out.Union == nil {
		return nil, fmt.Errorf("%s: %s carries parts it does not use", at, t.Type)
	}
	return out, nil
}

// typeDefinition adds a type definition, and those it references, to the
// output once, keyed the way CloudFormation names property types
// ("AWS::ECS::TaskDefinition.ContainerDefinition"); an id on the key tells
// apart two definitions a resource gives one name.
func (b *builder) typeDefinition(resourceType, id string) (string, error) {
	if key, ok := b.keyOf[id]; ok {
		return key, nil
	}
	td := b.typeDefs[id]
	if td == nil {
		return "", fmt.Errorf("no type definition %s", id)
	}
	key := resourceType + "." + td.Name
	if _, taken := b.out.Types[key]; taken {
		key += "#" + id
	}
	b.keyOf[id] = key
	obj := &specfile.Object{}
	b.out.Types[key] = obj // before the properties: a definition may reference itself
	props, err := b.properties(resourceType, key, td.Properties)
	if err != nil {
		return "", err
	}
	obj.Properties = props
	return key, nil
}
