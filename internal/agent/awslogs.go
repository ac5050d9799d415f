package agent

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// A container whose logConfiguration names the awslogs driver runs with
// Docker's json-file driver instead, and the agent ships the file's lines
// to berth's CloudWatch Logs (logship.go). Docker reads and timestamps
// every line as it would for awslogs, and the file is the buffer: a server
// outage or a killed agent loses nothing, the agent reads on from the
// position the server stored.

// The awslogs options berth reads; the ECS agent's and Docker's names.
const (
	optGroup          = "awslogs-group"
	optRegion         = "awslogs-region"
	optStreamPrefix   = "awslogs-stream-prefix"
	optCreateGroup    = "awslogs-create-group"
	optDatetimeFormat = "awslogs-datetime-format"
	optMultiline      = "awslogs-multiline-pattern"
	optFlushInterval  = "awslogs-force-flush-interval-seconds"
	// mode and max-buffer-size are Docker's for every driver: how the
	// container's writes wait for the driver.
	optMode          = "mode"
	optMaxBufferSize = "max-buffer-size"
)

// defaultFlushInterval is Docker's awslogs-force-flush-interval-seconds: a
// multi-line event still open is sent once its first line is this old.
const defaultFlushInterval = 5 * time.Second

// jsonFileOptions are the json-file driver's options for a shipped
// container. Rotation bounds the disk a chatty container takes; the bound
// is generous because lines rotated away before they are shipped (a long
// server outage) are lost, but a user's disk filling up is worse.
var jsonFileOptions = map[string]string{"max-size": "100m", "max-file": "5"}

// awslogsConfig is a container's awslogs logConfiguration, as shipped.
type awslogsConfig struct {
	Region, Group string
	// StreamPrefix names the stream <prefix>/<container name>/<task id>;
	// without it the stream is named after the container's runtime id
	// (what ECS documents for the EC2 launch type).
	StreamPrefix string
	CreateGroup  bool
	// Multiline, when set, starts an event at each line it matches; the
	// lines that follow join it. Without it every line is an event.
	Multiline     *regexp.Regexp
	FlushInterval time.Duration
}

// streamName is the log stream of a container.
func (c *awslogsConfig) streamName(containerName, taskID, runtimeID string) string {
	if c.StreamPrefix == "" {
		return runtimeID
	}
	return c.StreamPrefix + "/" + containerName + "/" + taskID
}

// loggerArgsError is the stoppedReason of a task whose awslogs options
// Docker would refuse, with Docker's words.
func loggerArgsError(format string, args ...any) string {
	return "ResourceInitializationError: failed to validate logger args: " + fmt.Sprintf(format, args...)
}

// parseAwslogs reads a container's awslogs options; taskRegion serves when
// they name no region. It returns the stoppedReason of options Docker's
// awslogs driver refuses (UNVERIFIED: ECS's wording around Docker's).
func parseAwslogs(opts map[string]string, taskRegion string) (*awslogsConfig, string) {
	c := &awslogsConfig{
		Region:        cmpOr(opts[optRegion], taskRegion),
		Group:         opts[optGroup],
		StreamPrefix:  opts[optStreamPrefix],
		FlushInterval: defaultFlushInterval,
	}
	if c.Group == "" {
		return nil, loggerArgsError("must specify a value for log opt '%s'", optGroup)
	}
	if v, ok := opts[optCreateGroup]; ok && v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, loggerArgsError("must specify valid value for log opt '%s': %v", optCreateGroup, err)
		}
		c.CreateGroup = b
	}
	if v := opts[optFlushInterval]; v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return nil, loggerArgsError("must specify a positive integer for log opt '%s': %v", optFlushInterval, v)
		}
		c.FlushInterval = time.Duration(n) * time.Second
	}
	format, hasFormat := opts[optDatetimeFormat]
	pattern, hasPattern := opts[optMultiline]
	if hasFormat && hasPattern {
		return nil, loggerArgsError("you cannot configure log opt '%s' and '%s' at the same time", optDatetimeFormat, optMultiline)
	}
	if format != "" {
		pattern = strftimeRegexp(format)
	}
	if pattern != "" {
		re, err := regexp.Compile(pattern)
		if err != nil {
			return nil, loggerArgsError("awslogs could not parse multiline pattern key %q: %v", pattern, err)
		}
		c.Multiline = re
	}
	return c, ""
}

// strftimeToRegexp is Docker's awslogs table from strftime sequences to
// regular expressions. Docker's sequences, Docker's expressions.
var strftimeToRegexp = map[rune]string{
	'a': `(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)`,
	'A': `(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)`,
	'w': `[0-6]`,
	'd': `(?:0[1-9]|[1,2][0-9]|3[0,1])`,
	'b': `(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)`,
	'B': `(?:January|February|March|April|May|June|July|August|September|October|November|December)`,
	'm': `(?:0[1-9]|1[0-2])`,
	'Y': `\d{4}`,
	'y': `\d{2}`,
	'H': `(?:[0,1][0-9]|2[0-3])`,
	'I': `(?:0[0-9]|1[0-2])`,
	'p': `[A,P]M`,
	'M': `[0-5][0-9]`,
	'S': `[0-5][0-9]`,
	'f': `\d{6}`,
	'z': `[+-]\d{4}`,
	'Z': `[A-Z]{1,4}T`,
	'j': `(?:0[0-9][1-9]|[1,2][0-9][0-9]|3[0-5][0-9]|36[0-6])`,
	'L': `\.\d{3}`,
}

// strftimeRegexp converts awslogs-datetime-format to the multiline pattern
// as Docker does: each "%" and the character after it becomes the table's
// expression (nothing for a sequence the table lacks), and the rest stays
// as it is, regular expression syntax included. Like Docker's, the pattern
// is not anchored.
func strftimeRegexp(format string) string {
	var b strings.Builder
	for i := 0; i < len(format); i++ {
		if format[i] == '%' && i+1 < len(format) {
			// "%." in Docker's matcher: "." takes any character but a
			// newline.
			if r, size := utf8.DecodeRuneInString(format[i+1:]); r != '\n' {
				b.WriteString(strftimeToRegexp[r])
				i += size
				continue
			}
		}
		b.WriteByte(format[i])
	}
	return b.String()
}
