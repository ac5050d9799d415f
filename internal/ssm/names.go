package ssm

import (
	"strconv"
	"strings"

	"github.com/berth/berth/internal/ssm/ssmstate"
)

const (
	// maxLevels is the deepest hierarchy a name may have.
	maxLevels = 15
	// maxARNLength bounds a name together with the ARN before it
	// ("arn:aws:ssm:<region>:<account>:parameter/"): Systems Manager counts
	// that prefix into a name's 1011 characters.
	maxARNLength   = 1011
	maxLabelLength = 100
)

// cleanName is a name as Systems Manager reads it: spaces around a name do
// not count.
func cleanName(name string) string { return strings.Trim(name, " ") }

// wellFormed reports whether name uses only [a-zA-Z0-9_.-/] and, if it is a
// path, begins with '/' and has no empty level.
func wellFormed(name string) bool {
	if name == "" || strings.IndexFunc(name, func(c rune) bool { return !nameChar(c) }) >= 0 {
		return false
	}
	if !strings.Contains(name, "/") {
		return true
	}
	return name[0] == '/' && !strings.Contains(name+"/", "//")
}

func nameChar(c rune) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("_.-/", c)
}

// levels is the depth of a name's hierarchy: "/a/b" and "a/b" have two,
// "name" one.
func levels(name string) int { return strings.Count(strings.TrimPrefix(name, "/"), "/") + 1 }

// reservedPrefix returns "aws" or "ssm" for a name in a namespace Systems
// Manager keeps for itself (either case, with or without the leading
// slash), "" for any other.
func reservedPrefix(name string) string {
	bare := strings.ToLower(strings.TrimPrefix(name, "/"))
	for _, p := range []string{"aws", "ssm"} {
		if strings.HasPrefix(bare, p) {
			return p
		}
	}
	return ""
}

// checkName returns the error for a name no parameter of region may have:
// a malformed name or one starting with "ssm" (ValidationException), one
// starting with "aws" (AccessDeniedException, as Systems Manager refuses
// its public parameters' namespace), one too deep or too long.
func (s *service) checkName(region, name string) error {
	if !wellFormed(name) {
		return invalidName()
	}
	switch reservedPrefix(name) {
	case "aws":
		return reservedName(name)
	case "ssm":
		return invalidName()
	}
	if levels(name) > maxLevels {
		return errHierarchyLevelLimit
	}
	if len(s.arn(ssmstate.ParameterID{Region: region, Name: name})) > maxARNLength {
		// UNVERIFIED wording.
		return invalid("Parameter name: can't be longer than %d characters including the ARN prefix arn:aws:ssm:%s:%s:parameter/.",
			maxARNLength, region, s.account)
	}
	return nil
}

// checkReadName is checkName for a call that reads: a name in the reserved
// "aws" namespace names one of Systems Manager's public parameters, of
// which berth has none.
func (s *service) checkReadName(region, name string) error {
	err := s.checkName(region, name)
	if reservedPrefix(name) == "aws" && wellFormed(name) {
		return ErrParameterNotFound
	}
	return err
}

// arn is a parameter's ARN. A name's leading slash is not repeated after
// "parameter/".
func (s *service) arn(id ssmstate.ParameterID) string {
	return "arn:aws:ssm:" + id.Region + ":" + s.account + ":parameter/" + strings.TrimPrefix(id.Name, "/")
}

// A ref is a parameter a call names, and which of its versions.
type ref struct {
	region string
	// names are the names it may be, in the order to try: the ARN
	// "parameter/db" names "db" or "/db".
	names []string
	// selector is what followed the name (":3", ":prod"), "" for the
	// current version; version or label is what it selects.
	selector string
	version  int64
	label    string
}

// parseRef reads a parameter reference: a name or a parameter's ARN, with
// an optional ":<version>" or ":<label>" selector. A name is in region; an
// ARN names its own, and an ARN of another account names nothing
// (ErrParameterNotFound).
func (s *service) parseRef(region, given string) (ref, error) {
	given = cleanName(given)
	r := ref{region: region}
	name := given
	if rest, ok := strings.CutPrefix(given, "arn:"); ok {
		// arn:<partition>:ssm:<region>:<account>:parameter/<name>[:<selector>]
		parts := strings.SplitN(rest, ":", 5)
		if len(parts) != 5 || parts[1] != "ssm" || parts[2] == "" {
			return ref{}, invalidName()
		}
		resource, ok := strings.CutPrefix(parts[4], "parameter/")
		if !ok {
			return ref{}, invalidName()
		}
		if parts[3] != s.account {
			return ref{}, ErrParameterNotFound
		}
		r.region, name = parts[2], resource
	}
	name, sel, hasSel := strings.Cut(name, ":")
	if hasSel {
		if sel == "" || strings.Contains(sel, ":") {
			return ref{}, invalidName()
		}
		r.selector = ":" + sel
		if v, err := strconv.ParseInt(sel, 10, 64); err == nil {
			r.version = v
		} else if sel[0] >= '0' && sel[0] <= '9' {
			// Digits too many for a version; no label starts with one.
			r.version = -1
		} else {
			r.label = sel
		}
	}
	r.names = []string{name}
	if name != given && !strings.HasPrefix(name, "/") {
		// An ARN drops a name's leading slash.
		if strings.Contains(name, "/") {
			r.names = []string{"/" + name}
		} else {
			r.names = append(r.names, "/"+name)
		}
	}
	return r, nil
}

// validLabel reports whether a label may be attached: up to 100 of
// [a-zA-Z0-9_.-], not starting with a digit (which would read as a
// version), "aws" or "ssm" (in either case).
func validLabel(l string) bool {
	if l == "" || len(l) > maxLabelLength || l[0] >= '0' && l[0] <= '9' || reservedPrefix(l) != "" {
		return false
	}
	return strings.IndexFunc(l, func(c rune) bool { return c == '/' || !nameChar(c) }) < 0
}

// checkPath returns the error for a path GetParametersByPath refuses. A
// path in the global "aws" namespace (in lower case) is allowed: it holds
// Systems Manager's public parameters, of which berth has none.
func checkPath(path string) error {
	if path == "/" {
		return nil
	}
	trimmed := strings.TrimSuffix(path, "/")
	if !strings.HasPrefix(trimmed, "/") || !wellFormed(trimmed) {
		return invalidPath()
	}
	if reservedPrefix(trimmed) != "" && !strings.HasPrefix(trimmed, "/aws") {
		return invalidPath()
	}
	return nil
}

// underPath reports whether name is in the hierarchy under path: directly
// (one level down), or at any depth when recursive. The root "/" holds the
// names without a slash too.
func underPath(name, path string, recursive bool) bool {
	path = strings.TrimSuffix(path, "/")
	var rest string
	switch {
	case path == "" && !strings.HasPrefix(name, "/"):
		return true
	case strings.HasPrefix(name, path+"/"):
		rest = name[len(path)+1:]
	default:
		return false
	}
	return recursive || !strings.Contains(rest, "/")
}
