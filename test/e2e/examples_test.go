package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"unicode"

	"github.com/berth/berth/internal/awsapi/model"
	"github.com/berth/berth/internal/vulndb/vulndbtest"
)

// exampleRulesFile lists how berth's answers may differ from the documented
// ones and which examples are skipped, each with its reason.
const exampleRulesFile = "testdata/examples/rules.txt"

// toolboxExampleRepo is the repository of the server's home region that
// holds the image the examples' tasks run.
const toolboxExampleRepo = "examples/toolbox"

// replayWorkers is how many examples replay at once against the server.
const replayWorkers = 6

// TestAWSCLIExamples replays the examples the aws CLI ships
// (awscli/examples/<service>/*.rst, written by AWS from real calls) for
// every service the server serves, against one server, and compares each
// answer's shape with the documented output. Each example works in a
// region of its own, so its list commands see only what it created; the
// examples of IAM, which has no regions, take turns (globalExample).
func TestAWSCLIExamples(t *testing.T) {
	dir := cliExamplesDir(t)
	t.Logf("replaying the examples in %s", dir)
	rules := readExampleRules(t, exampleRulesFile)
	// Every example's region gets a default VPC of its own range, below
	// and above the home one (ec2state.DefaultRange): 10.0.0.0/9 keeps
	// them away from the other tests' (FreeVPCRange).
	for second := range 128 {
		t.Cleanup(func() { removeVPCLeftovers(t, fmt.Sprintf("10.%d.", second)) })
	}
	s := StartECSServer(t, ServerOptions{Args: []string{"--default-vpc-cidr", "10.64.0.0/16"}})
	image := pushToolbox(t, s, toolboxExampleRepo, "latest")
	// A vulnerability database, without which scans fail as berth's do.
	vulndbImport(t, s, "testdata/scan/osv")
	vulndbImport(t, s, vulndbtest.GoVulnDBZip(t))

	var examples []cliExample
	for _, service := range servedServices(t, s) {
		found, err := parseExamples(filepath.Join(dir, service), service)
		if err != nil {
			t.Fatal(err)
		}
		if len(found) == 0 {
			t.Errorf("the aws CLI documents no examples for %s in %s", service, dir)
		}
		markUnserved(found, service)
		examples = append(examples, found...)
	}

	results := make([]exampleResult, len(examples))
	// The examples of the global services replay one at a time, beside
	// the others.
	regional, global := make(chan int, len(examples)), make(chan int, len(examples))
	for i, ex := range examples {
		if globalExample(ex) {
			global <- i
		} else {
			regional <- i
		}
	}
	close(regional)
	close(global)
	replay := func(queue chan int) {
		for i := range queue {
			ex := examples[i]
			t.Run(ex.ID, func(t *testing.T) {
				results[i] = replayExample(t, s, ex, exampleRegion(i), image, rules)
				results[i].ran = true
			})
		}
	}
	var wg sync.WaitGroup
	for range replayWorkers {
		wg.Go(func() { replay(regional) })
	}
	wg.Go(func() { replay(global) })
	wg.Wait()

	report := exampleReport(examples, results)
	t.Log("\n" + report)
	if path := os.Getenv("BERTH_EXAMPLES_REPORT"); path != "" {
		if err := os.WriteFile(path, []byte(report), 0o644); err != nil {
			t.Error(err)
		}
	}
	for _, r := range results {
		if !r.ran {
			return // a -run filter left examples out: rules may go unused
		}
	}
	for _, r := range rules.unused() {
		t.Errorf("%s: rule %q matches nothing any more: remove it", exampleRulesFile, r)
	}
}

// exampleRegion is the region example i works in.
func exampleRegion(i int) string { return fmt.Sprintf("ex-%d", i+1) }

// globalExample reports whether the example works on the account's IAM
// users, groups, roles and policies, which are global: no region of its
// own keeps them from another example's. Such examples replay one at a
// time, each on an IAM that holds only what its own setup made (see
// resetIAM).
func globalExample(ex cliExample) bool {
	return ex.Service == "iam" || ex.Service == "sts" || examplesWithIAM[ex.ID]
}

// examplesWithIAM are the examples of other services whose setups make
// IAM entities: the execution role of their Fargate tasks.
var examplesWithIAM = map[string]bool{
	"ecs/create-service#1": true,
	"ecs/describe-tasks#2": true,
	"ecs/update-service#2": true,
	"ecs/update-service#4": true,
	"ecs/update-service#5": true,
}

// exampleResult is what replaying one example found.
type exampleResult struct {
	ran     bool
	skipped string // the reason, when skipped
	// diffs are the differences no rule names; known, those a rule lists as
	// still to fix in berth; allowed, those a rule explains.
	diffs, known, allowed []shapeDiff
}

// replayExample creates what the example assumes, runs its command with
// the aws CLI and compares the answer with the documented one.
func replayExample(t *testing.T, s *Server, ex cliExample, region, image string, rules *exampleRules) exampleResult {
	if reason := rules.skip(ex.ID); reason != "" {
		t.Log("skipped: " + reason)
		return exampleResult{skipped: reason}
	}
	if ex.Unrunnable != "" {
		t.Log("skipped: " + ex.Unrunnable)
		return exampleResult{skipped: ex.Unrunnable}
	}
	api, err := model.Load(ex.Service)
	if err != nil {
		t.Fatal(err)
	}
	e := newExampleEnv(t, s, ex, region, image)
	if globalExample(ex) {
		e.resetIAM()
	}
	prepareExample(e)
	args := e.commandArgs()
	got := e.aws(append([]string{"--region", region, ex.Service}, args...)...)

	var diffs []shapeDiff
	var doc any
	switch {
	case got.ExitCode != 0:
		diffs = append(diffs, shapeDiff{Kind: "error", Detail: firstLine(got.Stderr)})
	case documentedJSON(ex.Output, &doc):
		var answer any
		if err := json.Unmarshal([]byte(got.Stdout), &answer); err != nil {
			diffs = append(diffs, shapeDiff{Kind: "type", Detail: "the answer is not JSON: " + firstLine(got.Stdout)})
			break
		}
		diffs = compareOutput(api, operationOf(api, args[0]), doc, answer)
	case (strings.TrimSpace(ex.Output) == "" || strings.Contains(ex.Output, "no output")) != (strings.TrimSpace(got.Stdout) == ""):
		diffs = append(diffs, shapeDiff{Kind: "output", Detail: fmt.Sprintf("documented %q, berth %q", firstLine(ex.Output), firstLine(got.Stdout))})
	}
	var r exampleResult
	for _, d := range diffs {
		switch rules.match(ex.ID, d) {
		case ruleAllow:
			r.allowed = append(r.allowed, d)
		case ruleKnown:
			r.known = append(r.known, d)
		default:
			r.diffs = append(r.diffs, d)
		}
	}
	if len(r.known) > 0 {
		t.Logf("known differences, still to fix:\n  %s", joinDiffs(r.known))
	}
	if len(r.diffs) > 0 {
		t.Errorf("$ aws %s %s\ndiffers from the documented output:\n  %s\nberth answered:\n%s",
			ex.Service, strings.Join(args, " "), joinDiffs(r.diffs), got.Stdout+got.Stderr)
	}
	return r
}

// missingComma is a line break between two members or items that the
// documentation forgot the comma before.
var missingComma = regexp.MustCompile(`(["\d\]}el])([ \t]*\n[ \t]*["{\[])`)

// documentedJSON reads a documented output into v, with the commas some
// outputs lack between members put back; it reports whether the output is
// JSON then.
func documentedJSON(output string, v any) bool {
	if json.Unmarshal([]byte(output), v) == nil {
		return true
	}
	return json.Unmarshal([]byte(missingComma.ReplaceAllString(output, "$1,$2")), v) == nil
}

func joinDiffs(diffs []shapeDiff) string {
	var lines []string
	for _, d := range diffs {
		lines = append(lines, d.String())
	}
	return strings.Join(lines, "\n  ")
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}

// operationOf finds the model's operation of an aws CLI command
// (describe-tasks: DescribeTasks).
func operationOf(api *model.API, command string) *model.Operation {
	want := strings.ReplaceAll(command, "-", "")
	for name, op := range api.Operations {
		if strings.EqualFold(name, want) {
			return op
		}
	}
	return nil
}

// exampleReport is the table per service of the examples replayed: those
// matching (some thanks to an allowed difference), those differing (some
// in ways a rule records as still to fix) and those skipped; then the
// skip reasons, the known differences and the allowed ones.
func exampleReport(examples []cliExample, results []exampleResult) string {
	type row struct{ replayed, matching, allowed, differing, known, skipped int }
	rows := map[string]*row{}
	skips := map[string]int{}
	allowed := map[string]int{}
	known := map[string]int{}
	var services []string
	for i, ex := range examples {
		if !results[i].ran {
			continue // left out by a -run filter
		}
		r := rows[ex.Service]
		if r == nil {
			r = &row{}
			rows[ex.Service] = r
			services = append(services, ex.Service)
		}
		res := results[i]
		switch {
		case res.skipped != "":
			r.skipped++
			skips[ex.Service+": "+res.skipped]++
			continue
		case len(res.diffs) > 0:
			r.differing++
		case len(res.known) > 0:
			r.known++
		case len(res.allowed) > 0:
			r.allowed++
		default:
			r.matching++
		}
		r.replayed++
		for _, d := range res.allowed {
			allowed[ex.Service+": "+d.Kind+" "+d.Path]++
		}
		for _, d := range res.known {
			known[ex.Service+": "+d.Kind+" "+d.Path]++
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%-8s %9s %9s %17s %10s %16s %8s\n", "service", "replayed", "matching", "matching allowed", "differing", "differing known", "skipped")
	for _, svc := range services {
		r := rows[svc]
		fmt.Fprintf(&b, "%-8s %9d %9d %17d %10d %16d %8d\n", svc, r.replayed, r.matching, r.allowed, r.differing, r.known, r.skipped)
	}
	writeCounts(&b, "skipped, by reason", skips)
	writeCounts(&b, "known differences, still to fix (see "+exampleRulesFile+")", known)
	writeCounts(&b, "allowed differences (see "+exampleRulesFile+")", allowed)
	return b.String()
}

func writeCounts(b *strings.Builder, title string, counts map[string]int) {
	if len(counts) == 0 {
		return
	}
	fmt.Fprintf(b, "%s:\n", title)
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(b, "  %3d  %s\n", counts[k], k)
	}
}

// cliExamplesDir finds the examples of the aws CLI v1 on PATH (its awscli
// package, which the python running it, or python3, imports), else those
// of Debian's CLI v2.
func cliExamplesDir(t *testing.T) string {
	t.Helper()
	pythons := []string{"python3"}
	if aws, err := exec.LookPath("aws"); err == nil {
		if python := shebangInterpreter(aws); strings.HasPrefix(filepath.Base(python), "python") {
			pythons = append([]string{python}, pythons...)
		}
	}
	var dirs []string
	for _, python := range pythons {
		out, err := exec.Command(python, "-c", "import awscli, os; print(os.path.dirname(awscli.__file__))").Output()
		if err == nil {
			dirs = append(dirs, filepath.Join(strings.TrimSpace(string(out)), "examples"))
		}
	}
	dirs = append(dirs, "/usr/lib/python3/dist-packages/awscli/examples")
	for _, d := range dirs {
		if fi, err := os.Stat(d); err == nil && fi.IsDir() {
			return d
		}
	}
	require(t, "the aws CLI's examples", fmt.Errorf("none in %s", strings.Join(dirs, ", ")))
	return ""
}

// servedServices asks the server which AWS APIs it serves.
func servedServices(t *testing.T, s *Server) []string {
	t.Helper()
	resp, err := http.Get(s.URL + "/_berth/health")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var health struct {
		Services []string `json:"services"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&health); err != nil || len(health.Services) == 0 {
		t.Fatalf("health lists no services: %v", err)
	}
	return health.Services
}

// exampleRules are the allow-list and skip list of the replay.
type exampleRules struct {
	mu    sync.Mutex
	rules []*exampleRule
}

type exampleRule struct {
	line          string
	verb          string // skip, allow or known
	example, kind *regexp.Regexp
	path          *regexp.Regexp
	reason        string
	used          bool
}

// How a rule treats a difference.
const (
	ruleNone  = ""
	ruleAllow = "allow" // deliberate, or the documentation's own fault
	ruleKnown = "known" // berth's, still to fix: reported, not failed
)

// readExampleRules parses the rules file: lines
//
//	skip <example>: <reason>
//	allow <example> <kind> <path>: <reason>
//	known <example> <kind> <path>: <what berth must still fix>
//
// where <example>, <kind> and <path> may hold * for any characters.
func readExampleRules(t *testing.T, path string) *exampleRules {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rules := &exampleRules{}
	for n, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		head, reason, ok := strings.Cut(line, ": ")
		fields := strings.Fields(head)
		bad := !ok || strings.TrimSpace(reason) == "" || len(fields) == 0
		r := &exampleRule{line: line, reason: strings.TrimSpace(reason)}
		switch {
		case bad:
		case fields[0] == "skip" && len(fields) == 2:
			r.verb, r.example = fields[0], globRegexp(fields[1])
		case (fields[0] == ruleAllow || fields[0] == ruleKnown) && len(fields) == 4:
			r.verb, r.example, r.kind, r.path = fields[0], globRegexp(fields[1]), globRegexp(fields[2]), globRegexp(fields[3])
		default:
			bad = true
		}
		if bad {
			t.Fatalf("%s:%d: want \"skip <example>: <reason>\" or \"allow|known <example> <kind> <path>: <reason>\", got %q", path, n+1, line)
		}
		rules.rules = append(rules.rules, r)
	}
	return rules
}

// globRegexp matches s with * standing for any characters.
func globRegexp(s string) *regexp.Regexp {
	return regexp.MustCompile("^" + strings.ReplaceAll(regexp.QuoteMeta(s), `\*`, ".*") + "$")
}

func (rs *exampleRules) skip(id string) string {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	for _, r := range rs.rules {
		if r.verb == "skip" && r.example.MatchString(id) {
			r.used = true
			return r.reason
		}
	}
	return ""
}

// match returns how the first rule naming the difference treats it.
func (rs *exampleRules) match(id string, d shapeDiff) string {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	for _, r := range rs.rules {
		if r.verb != "skip" && r.example.MatchString(id) && r.kind.MatchString(d.Kind) && r.path.MatchString(d.Path) {
			r.used = true
			return r.verb
		}
	}
	return ruleNone
}

func (rs *exampleRules) unused() []string {
	var out []string
	for _, r := range rs.rules {
		if !r.used {
			out = append(out, r.line)
		}
	}
	return out
}

// shebangInterpreter returns the interpreter a script's #! line names.
func shebangInterpreter(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	line, _ := bufio.NewReader(f).ReadString('\n')
	fields := strings.Fields(strings.TrimPrefix(line, "#!"))
	if !strings.HasPrefix(line, "#!") || len(fields) == 0 {
		return ""
	}
	if filepath.Base(fields[0]) == "env" && len(fields) > 1 {
		return fields[1]
	}
	return fields[0]
}

// markUnserved marks unrunnable the examples of the operations berth's
// trimmed models keep no shapes of (scripts/trim-model.py): of EC2's
// hundreds, berth serves the networking ECS users touch.
func markUnserved(examples []cliExample, service string) {
	api, err := model.Load(service)
	if err != nil {
		return
	}
	served := map[string]bool{}
	trimmed := false
	for name, op := range api.Operations {
		if op.Input == nil && op.Output == nil {
			trimmed = true
			continue
		}
		served[cliCommand(name)] = true
	}
	if !trimmed {
		return
	}
	for i := range examples {
		command, _, _ := strings.Cut(strings.TrimPrefix(examples[i].ID, service+"/"), "#")
		if !served[command] && examples[i].Unrunnable == "" {
			examples[i].Unrunnable = "berth serves the part of " + service + " ECS users touch; " + command + " is not in it"
		}
	}
}

// cliCommand is an operation's aws CLI command: DescribeVpcs ->
// describe-vpcs.
func cliCommand(op string) string {
	var b strings.Builder
	for i, r := range op {
		if unicode.IsUpper(r) && i > 0 && (!unicode.IsUpper(rune(op[i-1])) || i+1 < len(op) && unicode.IsLower(rune(op[i+1]))) {
			b.WriteByte('-')
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}
