package main

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/berth/berth/internal/iam"
	"github.com/spf13/cobra"
)

func envFunc(vars map[string]string) func(string) string {
	return func(name string) string { return vars[name] }
}

func TestDefaultDataDir(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"home", map[string]string{"HOME": "/home/u"}, "/home/u/.local/share/berth"},
		{"xdg", map[string]string{"HOME": "/home/u", "XDG_DATA_HOME": "/data"}, "/data/berth"},
		{"relative xdg is ignored", map[string]string{"HOME": "/home/u", "XDG_DATA_HOME": "rel/data"}, "/home/u/.local/share/berth"},
		{"berth env wins", map[string]string{"HOME": "/home/u", "XDG_DATA_HOME": "/data", "BERTH_DATA_DIR": "/srv/b"}, "/srv/b"},
		{"nothing", map[string]string{}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := defaultDataDir(envFunc(tc.env)); got != tc.want {
				t.Errorf("defaultDataDir = %q, want %q", got, tc.want)
			}
		})
	}
}

func findCmd(t *testing.T, root *cobra.Command, name string) *cobra.Command {
	t.Helper()
	cmd, _, err := root.Find([]string{name})
	if err != nil || cmd.Name() != name {
		t.Fatalf("no %s command: %v", name, err)
	}
	return cmd
}

func TestFlagDefaults(t *testing.T) {
	want := map[string]string{
		"listen":        "127.0.0.1:4566",
		"data-dir":      "/xdg/berth",
		"region":        "us-east-1",
		"account-id":    "000000000000",
		"registry-host": "",
		"log-level":     "info",
	}
	root := newRootCmd(envFunc(map[string]string{"HOME": "/home/u", "XDG_DATA_HOME": "/xdg"}))
	server := findCmd(t, root, "server")
	for name, def := range want {
		f := server.Flags().Lookup(name)
		if f == nil {
			t.Errorf("server has no --%s", name)
			continue
		}
		if f.DefValue != def {
			t.Errorf("server --%s default %q, want %q", name, f.DefValue, def)
		}
	}
	// env and aws must find the same server and key as the server's defaults.
	for _, name := range []string{"env", "aws"} {
		cmd := findCmd(t, root, name)
		for _, flag := range []string{"listen", "data-dir", "region"} {
			f := cmd.Flags().Lookup(flag)
			if f == nil || f.DefValue != want[flag] {
				t.Errorf("%s --%s = %v, want default %q", name, flag, f, want[flag])
			}
		}
	}
}

func TestFlagDefaultsFromBerthEnv(t *testing.T) {
	root := newRootCmd(envFunc(map[string]string{"BERTH_LISTEN": "127.0.0.1:9999", "BERTH_DATA_DIR": "/srv/b"}))
	for _, name := range []string{"server", "env", "aws"} {
		fs := findCmd(t, root, name).Flags()
		if got := fs.Lookup("listen").DefValue; got != "127.0.0.1:9999" {
			t.Errorf("%s --listen default %q", name, got)
		}
		if got := fs.Lookup("data-dir").DefValue; got != "/srv/b" {
			t.Errorf("%s --data-dir default %q", name, got)
		}
	}
}

func TestValidate(t *testing.T) {
	good := serverConfig{Listen: "127.0.0.1:4566", DataDir: "rel", Region: "eu-west-1", AccountID: "123456789012", LogLevel: "debug"}
	cfg := good
	if err := cfg.validate(); err != nil {
		t.Fatal(err)
	}
	if !filepath.IsAbs(cfg.DataDir) {
		t.Errorf("data dir %q not made absolute", cfg.DataDir)
	}
	for name, mutate := range map[string]func(*serverConfig){
		"listen without port": func(c *serverConfig) { c.Listen = "127.0.0.1" },
		"no data dir":         func(c *serverConfig) { c.DataDir = "" },
		"region":              func(c *serverConfig) { c.Region = "US East" },
		"account id":          func(c *serverConfig) { c.AccountID = "12345" },
		"log level":           func(c *serverConfig) { c.LogLevel = "loud" },
		"BERTH_IAM_ENFORCE":   func(c *serverConfig) { c.iamEnforceEnv = "maybe" },
	} {
		cfg := good
		mutate(&cfg)
		if err := cfg.validate(); err == nil {
			t.Errorf("%s: no error for %+v", name, cfg)
		}
	}
}

func TestIAMEnforceDefault(t *testing.T) {
	for env, want := range map[string]bool{"": true, "true": true, "1": true, "false": false, "0": false} {
		cfg := defaultConfig(func(k string) string {
			if k == "BERTH_IAM_ENFORCE" {
				return env
			}
			return ""
		})
		if cfg.IAMEnforce != want {
			t.Errorf("BERTH_IAM_ENFORCE=%q: enforce %v, want %v", env, cfg.IAMEnforce, want)
		}
	}
}

func TestAccountIDFromEnvironment(t *testing.T) {
	cfg := defaultConfig(func(k string) string {
		if k == "BERTH_ACCOUNT_ID" {
			return "123456789012"
		}
		return ""
	})
	if cfg.AccountID != "123456789012" {
		t.Fatalf("account %q", cfg.AccountID)
	}
	if cfg := defaultConfig(func(string) string { return "" }); cfg.AccountID != "000000000000" {
		t.Fatalf("default account %q", cfg.AccountID)
	}
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{
		"AKIAABCDEFGHIJKLMNOP":    "AKIAABCDEFGHIJKLMNOP",
		"ab+/cd=":                 "ab+/cd=",
		"http://127.0.0.1:4566":   "http://127.0.0.1:4566",
		"":                        "''",
		"a b":                     "'a b'",
		"it's":                    `'it'"'"'s'`,
		"$(rm -rf /)":             "'$(rm -rf /)'",
		"back`tick`;semi&amp|\\x": "'back`tick`;semi&amp|\\x'",
	} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %s, want %s", in, got, want)
		}
	}
}

// TestShellQuoteRoundTrip checks the quoting against a real shell.
func TestShellQuoteRoundTrip(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	values := []string{"plain", "", "a b", "it's", `"dq" $HOME \n`, "$(false)", "tab\there", "new\nline", "ünï"}
	var vars []envVar
	for i, v := range values {
		vars = append(vars, envVar{Name: "V" + string(rune('A'+i)), Value: v})
	}
	var script bytes.Buffer
	if err := writeExports(&script, vars); err != nil {
		t.Fatal(err)
	}
	script.WriteString("for v in")
	for _, v := range vars {
		script.WriteString(" " + v.Name)
	}
	script.WriteString(`; do eval "printf '%s\0' \"\$$v\""; done`)
	out, err := exec.Command(sh, "-c", script.String()).Output()
	if err != nil {
		t.Fatalf("sh: %v\n%s", err, script.String())
	}
	got := strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
	if !slices.Equal(got, values) {
		t.Errorf("shell saw %q, want %q", got, values)
	}
}

func TestEnvCommand(t *testing.T) {
	dir := t.TempDir()
	key, err := iam.LoadOrCreateAdminKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	root := newRootCmd(envFunc(nil))
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetArgs([]string{"env", "--data-dir", dir, "--listen", "0.0.0.0:5000", "--region", "eu-west-1"})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	want := "export AWS_ACCESS_KEY_ID=" + shellQuote(key.AccessKeyID) + "\n" +
		"export AWS_SECRET_ACCESS_KEY=" + shellQuote(key.SecretAccessKey) + "\n" +
		"export AWS_REGION=eu-west-1\n" +
		"export AWS_DEFAULT_REGION=eu-west-1\n" +
		"export AWS_ENDPOINT_URL=http://127.0.0.1:5000\n"
	if out.String() != want {
		t.Errorf("berth env printed\n%s\nwant\n%s", out.String(), want)
	}
}

func TestEnvCommandWithoutKey(t *testing.T) {
	root := newRootCmd(envFunc(nil))
	root.SetOut(&bytes.Buffer{})
	root.SetArgs([]string{"env", "--data-dir", t.TempDir()})
	err := root.Execute()
	if err == nil || !strings.Contains(err.Error(), "berth server") {
		t.Errorf("want an error that says to start the server, got %v", err)
	}
}

func TestEndpointURL(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:4566": "http://127.0.0.1:4566",
		"0.0.0.0:4566":   "http://127.0.0.1:4566",
		":4566":          "http://127.0.0.1:4566",
		"[::]:4566":      "http://127.0.0.1:4566",
		"[::1]:4566":     "http://[::1]:4566",
		"berth.lan:80":   "http://berth.lan:80",
	} {
		if got := endpointURL(in); got != want {
			t.Errorf("endpointURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSplitOwnFlags(t *testing.T) {
	fs := findCmd(t, newRootCmd(envFunc(nil)), "aws").Flags()
	for _, tc := range []struct {
		args, own, rest []string
	}{
		{[]string{"ecr", "describe-repositories"}, nil, []string{"ecr", "describe-repositories"}},
		{[]string{"--listen", "h:1", "--data-dir=/d", "ecr", "list-images", "--region", "x"},
			[]string{"--listen", "h:1", "--data-dir=/d"}, []string{"ecr", "list-images", "--region", "x"}},
		{[]string{"--region", "eu-west-1", "--output", "text", "--listen", "h:1", "sts"},
			[]string{"--region", "eu-west-1"}, []string{"--output", "text", "--listen", "h:1", "sts"}},
		{[]string{"--help"}, nil, []string{"--help"}},
		{[]string{"--listen"}, []string{"--listen"}, nil},
	} {
		own, rest := splitOwnFlags(fs, tc.args)
		if !slices.Equal(own, tc.own) || !slices.Equal(rest, tc.rest) {
			t.Errorf("splitOwnFlags(%q) = %q, %q; want %q, %q", tc.args, own, rest, tc.own, tc.rest)
		}
	}
}

func TestAWSArgs(t *testing.T) {
	got := awsArgs("http://e:1", []string{"ecr", "describe-repositories"})
	if want := []string{"--endpoint-url", "http://e:1", "ecr", "describe-repositories"}; !slices.Equal(got, want) {
		t.Errorf("awsArgs = %q, want %q", got, want)
	}
	own := []string{"ecr", "describe-repositories", "--endpoint-url=http://other"}
	if got := awsArgs("http://e:1", own); !slices.Equal(got, own) {
		t.Errorf("awsArgs overrode the caller's endpoint: %q", got)
	}
}

func TestAWSEnviron(t *testing.T) {
	base := []string{"PATH=/bin", "AWS_ACCESS_KEY_ID=real", "AWS_SESSION_TOKEN=tok", "AWS_PROFILE=p", "HOME=/h"}
	vars := []envVar{{"AWS_ACCESS_KEY_ID", "AKIA"}, {"AWS_REGION", "us-east-1"}}
	got := awsEnviron(base, vars)
	want := []string{"PATH=/bin", "AWS_PROFILE=p", "HOME=/h", "AWS_ACCESS_KEY_ID=AKIA", "AWS_REGION=us-east-1"}
	if !slices.Equal(got, want) {
		t.Errorf("awsEnviron = %q, want %q", got, want)
	}
	if base[1] != "AWS_ACCESS_KEY_ID=real" {
		t.Error("awsEnviron modified its input")
	}
}
