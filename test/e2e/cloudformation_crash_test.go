package e2e

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

// chainTemplate is log groups named prefix0..prefix<n-1>, each made after
// the one before it: an operation of many steps, for kills to land in.
func chainTemplate(prefix string, n int) string {
	var b strings.Builder
	b.WriteString("Resources:\n")
	for i := range n {
		fmt.Fprintf(&b, "  Group%d:\n    Type: AWS::Logs::LogGroup\n", i)
		if i > 0 {
			fmt.Fprintf(&b, "    DependsOn: Group%d\n", i-1)
		}
		fmt.Fprintf(&b, "    Properties:\n      LogGroupName: %s%d\n      RetentionInDays: 7\n", prefix, i)
	}
	return b.String()
}

// TestCloudFormationSurvivesKill: kill -9 of the server in the middle of
// a stack's creation, update and deletion. After the restart each
// operation ends (it resumes, or rolls back), never stays in progress,
// and the log groups that exist are exactly those of the template the
// stack ended with: nothing made is lost track of.
func TestCloudFormationSurvivesKill(t *testing.T) {
	t.Parallel()
	s := StartServer(t, ServerOptions{})
	dir := t.TempDir()
	const n = 12
	write := func(name, body string) string { return templateFile(t, dir, name, body) }
	groups := func(prefix string) []string {
		var out struct {
			LogGroups []struct{ LogGroupName string }
		}
		s.AWS(t, "logs", "describe-log-groups", "--log-group-name-prefix", prefix).OK(t).Decode(t, &out)
		var names []string
		for _, g := range out.LogGroups {
			names = append(names, g.LogGroupName)
		}
		slices.Sort(names)
		return names
	}
	expect := func(prefix string) []string {
		var names []string
		for i := range n {
			names = append(names, fmt.Sprintf("%s%d", prefix, i))
		}
		slices.Sort(names)
		return names
	}
	// settle waits for the stack's operation to end after a restart.
	settle := func(stack string) string {
		var status string
		waitFor(t, 2*time.Minute, stack+" to leave *_IN_PROGRESS", func() bool {
			r := s.AWS(t, "cloudformation", "describe-stacks", "--stack-name", stack, "--query", "Stacks[0].StackStatus", "--output", "text")
			if r.ExitCode != 0 {
				status = "GONE"
				return true
			}
			status = strings.TrimSpace(r.Stdout)
			return !strings.HasSuffix(status, "_IN_PROGRESS")
		})
		return status
	}
	killSoon := func() {
		time.Sleep(time.Duration(rand.IntN(200)) * time.Millisecond)
		s.KillAndRestart(t)
	}

	for round := range 3 {
		stack := fmt.Sprintf("crash%d", round)
		v1, v2 := fmt.Sprintf("/crash/%d/a/", round), fmt.Sprintf("/crash/%d/b/", round)

		s.AWS(t, "cloudformation", "create-stack", "--stack-name", stack, "--template-body", write(stack+"a.yaml", chainTemplate(v1, n))).OK(t)
		killSoon()
		status := settle(stack)
		t.Logf("round %d: create ended %s", round, status)
		switch status {
		case "CREATE_COMPLETE":
			if got := groups(v1); !slices.Equal(got, expect(v1)) {
				t.Fatalf("after CREATE_COMPLETE: %v", got)
			}
		case "ROLLBACK_COMPLETE":
			if got := groups(v1); len(got) != 0 {
				t.Fatalf("after ROLLBACK_COMPLETE, left: %v", got)
			}
			s.AWS(t, "cloudformation", "delete-stack", "--stack-name", stack).OK(t)
			s.AWS(t, "cloudformation", "wait", "stack-delete-complete", "--stack-name", stack).OK(t)
			continue
		default:
			t.Fatalf("create ended %s", status)
		}

		// An update that replaces every group (new names).
		s.AWS(t, "cloudformation", "update-stack", "--stack-name", stack, "--template-body", write(stack+"b.yaml", chainTemplate(v2, n))).OK(t)
		killSoon()
		status = settle(stack)
		t.Logf("round %d: update ended %s", round, status)
		switch status {
		case "UPDATE_COMPLETE":
			if a, b := groups(v1), groups(v2); len(a) != 0 || !slices.Equal(b, expect(v2)) {
				t.Fatalf("after UPDATE_COMPLETE: old %v, new %v", a, b)
			}
		case "UPDATE_ROLLBACK_COMPLETE":
			if a, b := groups(v1), groups(v2); !slices.Equal(a, expect(v1)) || len(b) != 0 {
				t.Fatalf("after UPDATE_ROLLBACK_COMPLETE: old %v, new %v", a, b)
			}
		default:
			t.Fatalf("update ended %s", status)
		}

		s.AWS(t, "cloudformation", "delete-stack", "--stack-name", stack).OK(t)
		killSoon()
		if status = settle(stack); status != "GONE" {
			t.Fatalf("delete ended %s", status)
		}
		if a, b := groups(v1), groups(v2); len(a) != 0 || len(b) != 0 {
			t.Fatalf("after the deletion: %v %v", a, b)
		}
	}
}
