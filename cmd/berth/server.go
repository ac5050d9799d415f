package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/berth/berth/internal/ec2/ec2state"
	"github.com/berth/berth/internal/iam"
	"github.com/berth/berth/internal/logs"
	"github.com/berth/berth/internal/registry"
)

// serverConfig holds the values of the server's flags. env and aws use the
// subset they share with the server (Listen, DataDir, Region).
type serverConfig struct {
	Listen    string // host:port of the one port for the AWS APIs and the registry
	DataDir   string
	Region    string
	AccountID string
	// RegistryHost is what repositoryUri advertises; runServer fills it in as
	// localhost:<listening port> when the flag is empty.
	RegistryHost string
	LogLevel     string
	// Agent runs the in-process agent that runs tasks on this host.
	Agent bool
	// DefaultVPCCIDR is the range of every region's default VPC;
	// MetadataPort is where the task metadata endpoint listens at
	// 169.254.170.2.
	DefaultVPCCIDR string
	MetadataPort   int
	// DNSListen is where the host may query berth's DNS server ("":
	// nowhere; tasks always reach it at their VPC's resolver address), and
	// DNSUpstreams the resolvers it forwards other names to (none: those
	// of /etc/resolv.conf).
	DNSListen    string
	DNSUpstreams []string
	// PprofListen, when set, is where the runtime profiles are served.
	PprofListen string
	// UnencryptedBlobs stores blobs in plaintext. It exists only so the
	// registry benchmark can measure what encryption at rest costs.
	UnencryptedBlobs bool
	// LifecycleInterval is how often every lifecycle policy is applied
	// (0: the controller's default, 1 h; negative: BERTH_LIFECYCLE_INTERVAL
	// was not a duration).
	LifecycleInterval time.Duration
	// GCInterval is how often registry garbage collection sweeps (0: never
	// in the background); GCGracePeriod and GCUploadMaxAge are its limits
	// (registry.DefaultGC*).
	GCInterval, GCGracePeriod, GCUploadMaxAge time.Duration
	// LogsRetentionInterval is how often log events past their group's
	// retention are removed from the disk (reads hide them at once).
	LogsRetentionInterval time.Duration
	// IAMEnforce authorizes every call but the admin key's with IAM's
	// policies; off, any valid key may do anything. iamEnforceEnv is
	// BERTH_IAM_ENFORCE as given, checked by validate.
	IAMEnforce    bool
	iamEnforceEnv string
}

// shutdownTimeout bounds how long in-flight requests (a docker push, say)
// may take to finish after SIGTERM before the server closes them.
const shutdownTimeout = 20 * time.Second

// defaultConfig is the configuration before flags; BERTH_LISTEN and
// BERTH_DATA_DIR let tests and scripts move a server without flags.
func defaultConfig(getenv func(string) string) serverConfig {
	return serverConfig{
		Listen:         cmp.Or(getenv("BERTH_LISTEN"), "127.0.0.1:4566"),
		DataDir:        defaultDataDir(getenv),
		Region:         "us-east-1",
		AccountID:      cmp.Or(getenv("BERTH_ACCOUNT_ID"), "000000000000"),
		LogLevel:       "info",
		Agent:          true,
		DefaultVPCCIDR: cmp.Or(getenv("BERTH_DEFAULT_VPC_CIDR"), ec2state.DefaultVPCCIDR),
		MetadataPort:   80,
		DNSListen:      getenv("BERTH_DNS_LISTEN"),
		DNSUpstreams:   splitList(getenv("BERTH_DNS_UPSTREAM")),
		// BERTH_LIFECYCLE_INTERVAL lets tests shorten lifecycle rounds.
		LifecycleInterval:     envDuration(getenv("BERTH_LIFECYCLE_INTERVAL"), time.Hour),
		GCInterval:            registry.DefaultGCInterval,
		GCGracePeriod:         registry.DefaultGCGracePeriod,
		GCUploadMaxAge:        registry.DefaultUploadMaxAge,
		LogsRetentionInterval: envDuration(getenv("BERTH_LOGS_RETENTION_INTERVAL"), logs.DefaultRetentionInterval),
		IAMEnforce:            getenv("BERTH_IAM_ENFORCE") == "" || envTrue(getenv("BERTH_IAM_ENFORCE")),
		iamEnforceEnv:         getenv("BERTH_IAM_ENFORCE"),
	}
}

// splitList splits a comma-separated list, dropping empty items.
func splitList(value string) []string {
	var out []string
	for item := range strings.SplitSeq(value, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// envTrue reads a boolean from the environment as strconv.ParseBool does;
// anything else is false (validate reports it).
func envTrue(value string) bool {
	b, err := strconv.ParseBool(value)
	return err == nil && b
}

// envDuration parses a duration from the environment: def if unset, -1 if
// not a duration (validate reports it).
func envDuration(value string, def time.Duration) time.Duration {
	if value == "" {
		return def
	}
	d, err := time.ParseDuration(value)
	if err != nil {
		return -1
	}
	return d
}

// defaultDataDir follows the XDG base directory spec: $XDG_DATA_HOME/berth,
// else ~/.local/share/berth. It is empty when neither can be determined.
func defaultDataDir(getenv func(string) string) string {
	if dir := getenv("BERTH_DATA_DIR"); dir != "" {
		return dir
	}
	// The spec says a relative XDG_DATA_HOME is invalid and must be ignored.
	if dir := getenv("XDG_DATA_HOME"); filepath.IsAbs(dir) {
		return filepath.Join(dir, "berth")
	}
	if home := getenv("HOME"); home != "" {
		return filepath.Join(home, ".local", "share", "berth")
	}
	return ""
}

// addClientFlags registers the flags that server, env and aws share, so all
// three find the same server and key with the same flags.
func addClientFlags(fs *pflag.FlagSet, cfg *serverConfig, def serverConfig) {
	fs.StringVar(&cfg.Listen, "listen", def.Listen, "address the server listens on (env BERTH_LISTEN)")
	fs.StringVar(&cfg.DataDir, "data-dir", def.DataDir, "directory for state, blobs and the admin key (env BERTH_DATA_DIR)")
	fs.StringVar(&cfg.Region, "region", def.Region, "default AWS region: of unsigned requests and berth's own commands (a signed request acts in the region it is signed for)")
}

func newServerCmd(getenv func(string) string) *cobra.Command {
	var cfg serverConfig
	def := defaultConfig(getenv)
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the berth server",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := cfg.validate(); err != nil {
				return err
			}
			return runServer(cmd.Context(), cfg, cmd.ErrOrStderr())
		},
	}
	fs := cmd.Flags()
	addClientFlags(fs, &cfg, def)
	fs.StringVar(&cfg.AccountID, "account-id", def.AccountID, "12-digit AWS account id the server acts as (env BERTH_ACCOUNT_ID)")
	fs.StringVar(&cfg.RegistryHost, "registry-host", "", "registry host repositoryUri advertises (default localhost:<listen port>)")
	fs.StringVar(&cfg.LogLevel, "log-level", def.LogLevel, "debug, info, warn or error")
	fs.BoolVar(&cfg.Agent, "agent", def.Agent, "run tasks on this host with Docker (the in-process agent)")
	fs.StringVar(&cfg.DefaultVPCCIDR, "default-vpc-cidr", def.DefaultVPCCIDR, "IPv4 range of each region's default VPC, made on first use: a /16 to /24 that no network of the host uses (env BERTH_DEFAULT_VPC_CIDR)")
	// The task network flags of before VPCs are still taken, so that a
	// server's command line from then starts the new version: awsvpc tasks
	// now get their addresses in their subnets, on their VPC's bridge.
	for _, name := range []string{"task-network", "task-bridge", "task-subnet"} {
		fs.String(name, "", "no longer used")
		_ = fs.MarkDeprecated(name, "awsvpc tasks get their addresses in their VPC's subnets (see --default-vpc-cidr)") // the flag exists
	}
	fs.IntVar(&cfg.MetadataPort, "metadata-port", def.MetadataPort, "port of the task metadata endpoint at 169.254.170.2")
	fs.StringVar(&cfg.DNSListen, "dns-listen", def.DNSListen, "also serve berth's DNS server (Cloud Map namespaces, load balancer names, forwarding) to the host on this address, such as 127.0.0.1:5353; see `berth dns` (env BERTH_DNS_LISTEN; default off)")
	fs.StringSliceVar(&cfg.DNSUpstreams, "dns-upstream", def.DNSUpstreams, "resolvers (ip:port) the DNS server forwards names outside berth's namespaces to (env BERTH_DNS_UPSTREAM, comma-separated; default: the nameservers of /etc/resolv.conf)")
	fs.DurationVar(&cfg.LifecycleInterval, "lifecycle-interval", def.LifecycleInterval, "how often lifecycle policies expire images in every repository; a policy also applies when put (env BERTH_LIFECYCLE_INTERVAL)")
	fs.DurationVar(&cfg.GCInterval, "gc-interval", def.GCInterval, "how often registry garbage collection deletes unreferenced blobs and idle upload sessions in the background; 0 disables it (berth registry gc still sweeps on demand)")
	fs.DurationVar(&cfg.GCGracePeriod, "gc-grace-period", def.GCGracePeriod, "garbage collection keeps blobs and blob links younger than this: longer than a push takes from its first layer to its manifest (0: the default)")
	fs.DurationVar(&cfg.GCUploadMaxAge, "gc-upload-max-age", def.GCUploadMaxAge, "garbage collection ends upload sessions idle for longer than this (0: the default)")
	fs.DurationVar(&cfg.LogsRetentionInterval, "logs-retention-interval", def.LogsRetentionInterval, "how often CloudWatch Logs events older than their group's retention are removed from the disk; reads hide them as soon as they expire (env BERTH_LOGS_RETENTION_INTERVAL)")
	fs.BoolVar(&cfg.IAMEnforce, "iam-enforce", def.IAMEnforce, "authorize every AWS API call and registry request with IAM policies, as AWS does (the admin key may do everything); false lets any valid key do anything, for quick local use (env BERTH_IAM_ENFORCE)")
	fs.StringVar(&cfg.PprofListen, "pprof-listen", getenv("BERTH_PPROF_LISTEN"), "serve Go's /debug/pprof profiles on this address, for profiling (env BERTH_PPROF_LISTEN; default off)")
	// Hidden, with no environment variable, so it is only ever on when
	// given on the command line.
	fs.BoolVar(&cfg.UnencryptedBlobs, "unencrypted-blobs", false, "store blobs in PLAINTEXT on disk; exists only to measure what encryption at rest costs (make bench-registry); never use it for real data (a data dir written with it does not read without it, nor the reverse)")
	_ = fs.MarkHidden("unencrypted-blobs") // fails only for an unknown flag
	return cmd
}

var (
	accountIDPattern = regexp.MustCompile(`^[0-9]{12}$`)
	regionPattern    = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)+$`)
)

// validate checks the flags every command uses and makes DataDir absolute,
// so the log and error messages name the real directory.
func (c *serverConfig) validate() error {
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		return fmt.Errorf("--listen %q: %w", c.Listen, err)
	}
	if c.DataDir == "" {
		return errors.New("no data dir: set --data-dir or BERTH_DATA_DIR (HOME is not set)")
	}
	dir, err := filepath.Abs(c.DataDir)
	if err != nil {
		return fmt.Errorf("--data-dir: %w", err)
	}
	c.DataDir = dir
	if !regionPattern.MatchString(c.Region) {
		return fmt.Errorf("--region %q is not a region name like us-east-1", c.Region)
	}
	// Only the server sets these; env and aws leave them zero.
	if c.AccountID != "" && !accountIDPattern.MatchString(c.AccountID) {
		return fmt.Errorf("--account-id %q must be 12 digits", c.AccountID)
	}
	if c.GCInterval < 0 {
		return errors.New("--gc-interval must not be negative (0 disables background garbage collection)")
	}
	if c.GCGracePeriod < 0 || c.GCUploadMaxAge < 0 {
		return errors.New("--gc-grace-period and --gc-upload-max-age must not be negative")
	}
	if c.LogsRetentionInterval < 0 {
		return errors.New("--logs-retention-interval must be a positive duration such as 15m (check BERTH_LOGS_RETENTION_INTERVAL)")
	}
	if c.iamEnforceEnv != "" {
		if _, err := strconv.ParseBool(c.iamEnforceEnv); err != nil {
			return fmt.Errorf("BERTH_IAM_ENFORCE must be true or false, not %q", c.iamEnforceEnv)
		}
	}
	if c.LifecycleInterval < 0 {
		return errors.New("--lifecycle-interval must be a positive duration such as 1h or 30s (check BERTH_LIFECYCLE_INTERVAL)")
	}
	if c.LogLevel != "" {
		if _, err := parseLogLevel(c.LogLevel); err != nil {
			return err
		}
	}
	if p, err := netip.ParsePrefix(c.DefaultVPCCIDR); c.DefaultVPCCIDR != "" && (err != nil || !p.Addr().Is4() || p.Bits() < 16 || p.Bits() > 24 || p.Masked() != p) {
		return fmt.Errorf("--default-vpc-cidr %q must be an IPv4 range of /16 to /24, such as 172.31.0.0/16 (check BERTH_DEFAULT_VPC_CIDR)", c.DefaultVPCCIDR)
	}
	if c.DNSListen != "" {
		if _, err := netip.ParseAddrPort(c.DNSListen); err != nil {
			return fmt.Errorf("--dns-listen %q must be an ip:port such as 127.0.0.1:5353 (check BERTH_DNS_LISTEN)", c.DNSListen)
		}
	}
	for _, u := range c.DNSUpstreams {
		if _, err := netip.ParseAddrPort(u); err != nil {
			return fmt.Errorf("--dns-upstream %q must be an ip:port such as 192.0.2.53:53 (check BERTH_DNS_UPSTREAM)", u)
		}
	}
	if c.Agent {
		if c.MetadataPort < 1 || c.MetadataPort > 65535 {
			return fmt.Errorf("--metadata-port %d is not a port", c.MetadataPort)
		}
	}
	return nil
}

func parseLogLevel(s string) (slog.Level, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(s)); err != nil {
		return level, fmt.Errorf("--log-level %q: want debug, info, warn or error", s)
	}
	return level, nil
}

// giveKeyToSudoUser hands the data dir and the admin key to the user who
// started the server through sudo (the agent needs root for the task
// bridge and cgroups), so that their `berth env` and `berth aws` can read
// the key. Everything else in the data dir stays root's.
func giveKeyToSudoUser(dataDir string, getenv func(string) string) error {
	if os.Geteuid() != 0 || getenv("SUDO_UID") == "" {
		return nil
	}
	uid, err := strconv.Atoi(getenv("SUDO_UID"))
	if err != nil {
		return nil // not sudo's variable
	}
	gid, err := strconv.Atoi(getenv("SUDO_GID"))
	if err != nil {
		gid = -1
	}
	for _, path := range []string{dataDir, filepath.Join(dataDir, iam.KeyFile)} {
		if err := os.Lchown(path, uid, gid); err != nil {
			return err
		}
	}
	return nil
}

// runServer serves until ctx ends or SIGINT/SIGTERM arrives, then drains
// requests and closes the components. It returns nil after a clean shutdown.
func runServer(ctx context.Context, cfg serverConfig, stderr io.Writer) error {
	// From the start, so a SIGTERM during start-up also ends with exit 0.
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	level, err := parseLogLevel(cfg.LogLevel)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	slog.SetDefault(logger)
	tuneGC(os.Getenv)

	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	// The key exists before the port answers, so `berth env` works as soon as
	// the health check does.
	if _, err := iam.LoadOrCreateAdminKey(cfg.DataDir); err != nil {
		return fmt.Errorf("admin key: %w", err)
	}
	if err := giveKeyToSudoUser(cfg.DataDir, os.Getenv); err != nil {
		return fmt.Errorf("admin key: %w", err)
	}

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return err
	}
	// Listening first lets --listen :0 work: the advertised registry host
	// needs the real port.
	if cfg.RegistryHost == "" {
		cfg.RegistryHost = net.JoinHostPort("localhost", strconv.Itoa(ln.Addr().(*net.TCPAddr).Port))
	}

	if cfg.PprofListen != "" {
		if err := servePprof(ctx, cfg.PprofListen, logger); err != nil {
			ln.Close()
			return err
		}
	}
	comps, err := wire(cfg, agentServerURL(ln), logger)
	if err != nil {
		ln.Close()
		return fmt.Errorf("start components: %w", err)
	}

	srv := &http.Server{
		Handler: comps.handler,
		// No read/write timeouts: image pushes and log tails are long; only
		// a client that never finishes its headers is cut off.
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	bgCtx, stopBackground := context.WithCancel(ctx)
	defer stopBackground()
	bgDone := make(chan struct{})
	go func() {
		defer close(bgDone)
		runAll(bgCtx, comps.background, logger)
	}()
	logger.Info("berth server ready",
		"listen", ln.Addr().String(), "data_dir", cfg.DataDir, "region", cfg.Region,
		"account_id", cfg.AccountID, "registry_host", cfg.RegistryHost, "version", version)

	select {
	case err = <-serveErr:
	case <-ctx.Done():
		stop() // a second signal kills the process the default way
		logger.Info("shutting down", "timeout", shutdownTimeout)
		sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		if err = srv.Shutdown(sctx); err != nil {
			srv.Close()
			err = fmt.Errorf("shutdown: %w", err)
		}
	}
	stopBackground()
	<-bgDone
	if cerr := comps.close(); cerr != nil {
		err = errors.Join(err, fmt.Errorf("close components: %w", cerr))
	}
	if err == nil {
		logger.Info("stopped")
	}
	return err
}

// servePprof serves the runtime profiles on their own address until ctx
// ends, apart from the API port so that they are never exposed with it.
func servePprof(ctx context.Context, addr string, logger *slog.Logger) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("--pprof-listen: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("pprof server stopped", "err", err)
		}
	}()
	logger.Info("profiles served", "addr", ln.Addr().String())
	return nil
}

// GC defaults of the server, unless GOGC or GOMEMLIMIT say otherwise. The
// server's work is decoding and encoding records, which makes garbage
// fast; collecting a fifth as often spends memory (the heap may grow to
// five times what is live) to save about a tenth of its CPU under load,
// and the soft limit collects harder before the heap gets large.
const (
	serverGCPercent   = 400
	serverMemoryLimit = 1 << 30
)

func tuneGC(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(serverGCPercent)
	}
	if getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(serverMemoryLimit)
	}
}
