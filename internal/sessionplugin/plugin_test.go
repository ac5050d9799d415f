package sessionplugin

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// Main answers the AWS CLI's probes as session-manager-plugin does.
func TestMainArguments(t *testing.T) {
	env := map[string]string{"AWS_SSM_START_SESSION_RESPONSE": `{"sessionId":"s"}`}
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"no arguments: installed", []string{"session-manager-plugin"}, "The Session Manager plugin was installed successfully. Use the AWS CLI to start a session."},
		{"version", []string{"session-manager-plugin", "--version"}, Version + "\n"},
		{"too few", []string{"session-manager-plugin", "x", "us-east-1"}, "Unknown operation x."},
		{"other operation", []string{"session-manager-plugin", "{}", "us-east-1", "StartPortForwarding", "", "{}", "http://x"}, "Invalid Operation"},
		{"no session in the variable", []string{"session-manager-plugin", "AWS_SSM_START_SESSION_RESPONSE", "us-east-1", "StartSession", "", `{"Target":"ecs:c_t_r"}`, "http://x"},
			"Cannot perform start session: the session names no session id or stream URL"},
		{"bad JSON", []string{"session-manager-plugin", "{", "us-east-1", "StartSession", "", `{"Target":"t"}`, "http://x"}, "Cannot perform start session:"},
	} {
		var out bytes.Buffer
		code := Main(context.Background(), c.args, func(k string) string { return env[k] }, Terminal{Out: &out})
		if code != 0 || !strings.Contains(out.String(), c.want) {
			t.Errorf("%s: exit %d, printed %q; want %q", c.name, code, out.String(), c.want)
		}
	}
}
