package e2e

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/berth/berth/internal/awsapi/model"
)

// shapeDiff is one way berth's answer differs from the documented one.
type shapeDiff struct {
	// Path is the member path with list indexes written [] ("tasks[].containers[].name"),
	// the form the allow-list uses.
	Path string
	// Kind is missing (documented, berth leaves it out), extra (berth
	// answers it, the documentation does not), type, value (an enumeration
	// or a flag), length (of a list) or form (of an ARN).
	Kind   string
	Detail string
}

func (d shapeDiff) String() string {
	return fmt.Sprintf("%s %s: %s", d.Kind, d.Path, d.Detail)
}

// shapeComparer compares a JSON answer with the documented one member by
// member, guided by the operation's output shape in the API model.
type shapeComparer struct {
	api   *model.API
	diffs []shapeDiff
}

// compareOutput returns how got differs from doc in shape: keys at every
// level, JSON types, enumerations and flags, list lengths and ARN forms.
// Free values (names, identifiers, times, numbers) are not compared.
func compareOutput(api *model.API, op *model.Operation, doc, got any) []shapeDiff {
	c := &shapeComparer{api: api}
	var shape *model.Shape
	if op != nil && op.Output != nil {
		shape = api.Shape(op.Output.Shape)
	}
	c.compare("", shape, doc, got)
	sort.Slice(c.diffs, func(i, j int) bool { return c.diffs[i].String() < c.diffs[j].String() })
	return c.diffs
}

func (c *shapeComparer) add(path, kind, format string, args ...any) {
	c.diffs = append(c.diffs, shapeDiff{Path: strings.TrimPrefix(path, "."), Kind: kind, Detail: fmt.Sprintf(format, args...)})
}

func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "boolean"
	}
	return fmt.Sprintf("%T", v)
}

func (c *shapeComparer) member(s *model.Shape, name string) *model.Shape {
	if s == nil || s.Members[name] == nil {
		return nil
	}
	return c.api.Shape(s.Members[name].Shape)
}

func (c *shapeComparer) compare(path string, s *model.Shape, doc, got any) {
	if s != nil && s.Type == "timestamp" {
		// The CLI prints a time as the wire sent it (v1: seconds since the
		// epoch) or as ISO 8601 (v2, and most of the documentation).
		if !isTime(got) {
			c.add(path, "form", "berth's %v is not a time", got)
		}
		return
	}
	if jsonType(doc) != jsonType(got) {
		c.add(path, "type", "documented %s, berth %s", jsonType(doc), jsonType(got))
		return
	}
	switch d := doc.(type) {
	case map[string]any:
		g := got.(map[string]any)
		if s != nil && (s.Type == "map" || s.Document) {
			for k, v := range d {
				if gv, ok := g[k]; ok && s.Value != nil {
					c.compare(path+"."+k, c.api.Shape(s.Value.Shape), v, gv)
				}
			}
			return
		}
		for k, v := range d {
			gv, ok := g[k]
			if !ok {
				c.add(path+"."+k, "missing", "documented %s", brief(v))
				continue
			}
			c.compare(path+"."+k, c.member(s, k), v, gv)
		}
		for k, v := range g {
			if _, ok := d[k]; !ok {
				c.add(path+"."+k, "extra", "berth answers %s", brief(v))
			}
		}
	case []any:
		g := got.([]any)
		if len(d) != len(g) {
			c.add(path, "length", "documented %d, berth %d", len(d), len(g))
		}
		var elem *model.Shape
		if s != nil && s.Member != nil {
			elem = c.api.Shape(s.Member.Shape)
		}
		for i := range min(len(d), len(g)) {
			c.compare(path+"[]", elem, d[i], g[i])
		}
	case string:
		c.compareString(path, s, d, got.(string))
	case bool:
		if d != got.(bool) {
			c.add(path, "value", "documented %v, berth %v", d, got)
		}
	}
}

func (c *shapeComparer) compareString(path string, s *model.Shape, doc, got string) {
	switch {
	case s != nil && len(s.Enum) > 0:
		if doc != got {
			c.add(path, "value", "documented %q, berth %q", doc, got)
		}
	case strings.HasPrefix(doc, "arn:"):
		if arnForm(doc) != arnForm(got) {
			c.add(path, "form", "documented %s, berth %s", arnForm(doc), arnForm(got))
		}
	case ecrHost.MatchString(doc):
		if !ecrHost.MatchString(got) {
			c.add(path, "form", "documented %s, berth %q", ecrHost.FindString(doc), got)
		}
	}
}

// ecrHost is the registry host in ECR's form.
var ecrHost = regexp.MustCompile(`^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com`)

// arnForm is an ARN with the free parts replaced: the region and account
// become placeholders, and the resource keeps its type and how many
// "/"-separated parts it has (task/cluster/id is not task/id).
func arnForm(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 {
		return "not an ARN"
	}
	resource := parts[5]
	kind, rest, found := strings.Cut(resource, "/")
	form := kind
	if found {
		form += strings.Repeat("/…", strings.Count(rest, "/")+1)
	} else if k, _, ok := strings.Cut(resource, ":"); ok {
		form = k + ":…" // task-definition/family:revision has no "/" in some services
	}
	region, account := "<region>", "<account>"
	if parts[3] == "" {
		region = ""
	}
	if parts[4] == "" {
		account = ""
	}
	return strings.Join([]string{"arn", parts[1], parts[2], region, account, form}, ":")
}

// isTime reports whether v is a time as the CLI prints one: a number of
// seconds or an ISO 8601 string.
func isTime(v any) bool {
	s, ok := v.(string)
	if !ok {
		_, ok := v.(float64)
		return ok
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999-07:00", "2006-01-02T15:04:05.999999"} {
		if _, err := time.Parse(layout, s); err == nil {
			return true
		}
	}
	return false
}

// brief is a value shortened for a report.
func brief(v any) string {
	s := fmt.Sprintf("%v", v)
	if len(s) > 60 {
		s = s[:57] + "..."
	}
	return jsonType(v) + " " + s
}
