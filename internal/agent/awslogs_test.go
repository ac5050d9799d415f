package agent

import (
	"maps"
	"regexp"
	"testing"
	"time"

	"github.com/berth/berth/internal/runtime"
)

func TestStrftimeRegexp(t *testing.T) {
	// Docker's own cases: each format's pattern matches its example.
	for _, tc := range []struct{ format, match string }{
		{"%d/%m/%y %a %H:%M:%S%L %Z", "31/12/10 Mon 08:42:44.345 NZDT"},
		{"%Y-%m-%d %A %I:%M:%S.%f%p%z", "2007-12-04 Monday 08:42:44.123456AM+1200"},
		{"%b|%b|%b|%b|%b|%b|%b|%b|%b|%b|%b|%b", "Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec"},
		{"%B|%B|%B|%B|%B|%B|%B|%B|%B|%B|%B|%B", "January|February|March|April|May|June|July|August|September|October|November|December"},
		{"%A|%A|%A|%A|%A|%A|%A", "Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday"},
		{"%a|%a|%a|%a|%a|%a|%a", "Mon|Tue|Wed|Thu|Fri|Sat|Sun"},
		{"Day of the week: %w, Day of the year: %j", "Day of the week: 4, Day of the year: 091"},
	} {
		re, err := regexp.Compile(strftimeRegexp(tc.format))
		if err != nil || !re.MatchString(tc.match) {
			t.Errorf("%q -> %q (%v) does not match %q", tc.format, strftimeRegexp(tc.format), err, tc.match)
		}
	}
	for _, tc := range []struct{ format, want string }{
		{"%Y-%m-%d %H:%M:%S", `\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[1,2][0-9]|3[0,1]) (?:[0,1][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]`},
		{"[%Y]", `[\d{4}]`},      // the rest stays, as regular expression syntax
		{"%Q%%x", "x"},           // sequences the table lacks vanish, "%%" too
		{"%é", ""},               // a whole character after "%"
		{"a%\nb%", "a%\nb%"},     // "%" before a newline or at the end stays
		{"%L%f", `\.\d{3}\d{6}`}, // milliseconds include the dot
		{"%p %z %Z", `[A,P]M [+-]\d{4} [A-Z]{1,4}T`},
	} {
		if got := strftimeRegexp(tc.format); got != tc.want {
			t.Errorf("%q -> %q, want %q", tc.format, got, tc.want)
		}
	}
	// Docker does not anchor the pattern.
	c, why := parseAwslogs(map[string]string{"awslogs-group": "g", "awslogs-datetime-format": "%H:%M"}, "")
	if why != "" || !c.Multiline.MatchString("at 12:30 it broke") {
		t.Errorf("unanchored pattern: %v %q", c, why)
	}
}

func TestParseAwslogs(t *testing.T) {
	c, why := parseAwslogs(map[string]string{"awslogs-group": "/ecs/web", "awslogs-stream-prefix": "web", "awslogs-create-group": "true",
		"awslogs-multiline-pattern": "^START", "awslogs-force-flush-interval-seconds": "2"}, "eu-west-1")
	if why != "" || c.Region != "eu-west-1" || c.Group != "/ecs/web" || !c.CreateGroup || c.Multiline.String() != "^START" || c.FlushInterval != 2*time.Second {
		t.Fatalf("config %+v %q", c, why)
	}
	if got := c.streamName("app", "task1", "c0ffee"); got != "web/app/task1" {
		t.Errorf("stream with a prefix: %s", got)
	}
	c, _ = parseAwslogs(map[string]string{"awslogs-group": "g", "awslogs-region": "us-west-2"}, "eu-west-1")
	if c.Region != "us-west-2" || c.CreateGroup || c.Multiline != nil || c.FlushInterval != defaultFlushInterval {
		t.Errorf("defaults %+v", c)
	}
	// ECS on EC2: without a prefix the stream is the container's id.
	if got := c.streamName("app", "task1", "c0ffee"); got != "c0ffee" {
		t.Errorf("stream without a prefix: %s", got)
	}
	if _, why := parseAwslogs(map[string]string{"awslogs-group": "g", "awslogs-force-flush-interval-seconds": "0"}, ""); why == "" {
		t.Error("a flush interval of 0 accepted")
	}
}

// TestPlanAwslogs: the container runs with json-file (Docker's mode and
// max-buffer-size passed on), the metadata endpoint shows the task
// definition's configuration, and a container without one keeps Docker's
// default.
func TestPlanAwslogs(t *testing.T) {
	p := planOf(desiredTask("", cdef("app", awslogs("mode", "non-blocking", "max-buffer-size", "4m")), cdef("side")))
	if p.Invalid != "" {
		t.Fatal(p.Invalid)
	}
	app := p.Containers[0]
	want := map[string]string{"max-size": "100m", "max-file": "5", "mode": "non-blocking", "max-buffer-size": "4m"}
	if app.Spec.LogDriver != "json-file" || !maps.Equal(app.Spec.LogOptions, want) {
		t.Errorf("runtime log config %s %v", app.Spec.LogDriver, app.Spec.LogOptions)
	}
	if app.LogDriver != "awslogs" || app.LogOptions["awslogs-group"] != "g" || app.LogOptions["max-size"] != "" {
		t.Errorf("definition's log config %s %v", app.LogDriver, app.LogOptions)
	}
	if app.Logs == nil || app.Logs.Group != "g" || app.Logs.StreamPrefix != "web" {
		t.Errorf("shipping %+v", app.Logs)
	}
	v := taskView{plan: p, obs: observation{Containers: make([]*runtime.Container, 2)}}
	if m := containerMetadata(v, 0); m.LogDriver != "awslogs" || m.LogOptions["awslogs-stream-prefix"] != "web" {
		t.Errorf("metadata %s %v", m.LogDriver, m.LogOptions)
	}

	// Blocking stays Docker's default unless the definition says.
	p = planOf(desiredTask("", cdef("app", awslogs())))
	if _, ok := p.Containers[0].Spec.LogOptions["mode"]; ok {
		t.Errorf("mode set: %v", p.Containers[0].Spec.LogOptions)
	}
	if side := planOf(desiredTask("", cdef("side"))).Containers[0]; side.Spec.LogDriver != "" || side.Logs != nil {
		t.Errorf("no logConfiguration: %s %+v", side.Spec.LogDriver, side.Logs)
	}
}
