package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/berth/berth/internal/acm"
	"github.com/berth/berth/internal/agenthub"
	"github.com/berth/berth/internal/agentproto"
	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/blob"
	"github.com/berth/berth/internal/blob/local"
	"github.com/berth/berth/internal/cloudformation"
	lifecyclecontroller "github.com/berth/berth/internal/controller/lifecycle"
	registriescontroller "github.com/berth/berth/internal/controller/registries"
	scancontroller "github.com/berth/berth/internal/controller/scan"
	servicecontroller "github.com/berth/berth/internal/controller/service"
	stackscontroller "github.com/berth/berth/internal/controller/stacks"
	targetscontroller "github.com/berth/berth/internal/controller/targets"
	"github.com/berth/berth/internal/dnsserver"
	"github.com/berth/berth/internal/ec2"
	"github.com/berth/berth/internal/ec2/ec2state"
	"github.com/berth/berth/internal/ecr"
	"github.com/berth/berth/internal/ecr/ecrstate"
	"github.com/berth/berth/internal/ecs"
	"github.com/berth/berth/internal/ecs/ecsstate"
	"github.com/berth/berth/internal/elbv2"
	"github.com/berth/berth/internal/gateway"
	"github.com/berth/berth/internal/hostnet"
	"github.com/berth/berth/internal/iam"
	"github.com/berth/berth/internal/loadbalancer"
	"github.com/berth/berth/internal/logs"
	"github.com/berth/berth/internal/logs/logdata"
	"github.com/berth/berth/internal/pki"
	"github.com/berth/berth/internal/registry"
	"github.com/berth/berth/internal/scan"
	"github.com/berth/berth/internal/secretbox"
	"github.com/berth/berth/internal/secretfile"
	"github.com/berth/berth/internal/secretsmanager"
	"github.com/berth/berth/internal/servicediscovery"
	"github.com/berth/berth/internal/ssm"
	"github.com/berth/berth/internal/ssm/ssmstate"
	"github.com/berth/berth/internal/ssmmessages"
	"github.com/berth/berth/internal/store/bolt"
	"github.com/berth/berth/internal/vulndb"
)

// Files in the data dir besides the admin key.
const (
	stateFile       = "state.db"
	blobDir         = "blobs"
	blobKeyFile     = "blob.key"
	registryKeyFile = "registry-token.key"
	vulnDBFile      = "vulndb.db"
	logsDir         = "logs"
	// placerIDFile names this server's placements in a store it may share.
	placerIDFile = "placer.id"
)

// components is what wire built: the handler for the one port, the
// background work to start once the port serves, and the closing of it all.
type components struct {
	handler http.Handler
	// background runs once the port serves (the in-process agent dials
	// it), all of it until shutdown.
	background []runnable
	// close closes the components in reverse order of creation, after the
	// background work has returned.
	close func() error
}

// runnable is one piece of the server's background work (a controller,
// the agent hub, the agent): run works until ctx ends.
type runnable struct {
	name string
	run  func(ctx context.Context) error
	// consequence, if set, says what its stopping early means for users;
	// it is logged with the error.
	consequence string
}

// runAll runs every runnable until ctx ends and they have all returned. One
// that stops early is logged; the others go on.
func runAll(ctx context.Context, runnables []runnable, logger *slog.Logger) {
	var wg sync.WaitGroup
	for _, r := range runnables {
		wg.Go(func() {
			if err := r.run(ctx); err != nil && ctx.Err() == nil {
				msg := r.name + " stopped"
				if r.consequence != "" {
					msg += "; " + r.consequence
				}
				logger.Error(msg, "err", err)
			}
		})
	}
	wg.Wait()
}

// storage is what the server keeps its state in.
type storage struct {
	store   *bolt.Store
	logData *logdata.Store
	vulnDB  *vulndb.DB
	blobs   blob.Store
	tokens  *registry.Tokens
	catalog *registry.Catalog
}

// wire builds the server's components from cfg: the AWS APIs, the
// background work (controllers, the agent hub, the agent, which dials
// serverURL) and the admin endpoints, over the storage in cfg.DataDir.
//
// When wire runs, cfg.DataDir exists (mode 0700) and holds the admin key
// (iam.ReadAdminKey), and cfg.RegistryHost is filled in.
func wire(cfg serverConfig, serverURL string, logger *slog.Logger) (c *components, err error) {
	metrics := prometheus.NewRegistry()
	metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	var closers []func() error
	closeAll := func() error {
		var errs []error
		for i := len(closers) - 1; i >= 0; i-- {
			errs = append(errs, closers[i]())
		}
		return errors.Join(errs...)
	}
	defer func() {
		if err != nil {
			closeAll()
		}
	}()

	adminKey, err := iam.ReadAdminKey(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	s, err := openStorage(cfg, logger, metrics, &closers)
	if err != nil {
		return nil, err
	}
	// A data dir from before regions keeps its ECR records in the default
	// region; this runs before any API or controller reads them.
	if moved, err := ecrstate.Relayout(context.Background(), s.store, cfg.Region); err != nil {
		return nil, fmt.Errorf("ecr state layout: %w", err)
	} else if moved > 0 {
		logger.Info("ecr records moved to the regional key layout", "region", cfg.Region, "keys", moved)
	}
	agentToken, err := secretfile.Token(filepath.Join(cfg.DataDir, agentTokenFile))
	if err != nil {
		return nil, fmt.Errorf("agent token: %w", err)
	}
	// ECS records written before berth had regions move to the regional
	// layout, in the server's region, before any API or controller reads
	// them.
	if moved, err := ecsstate.Relayout(context.Background(), s.store, cfg.Region); err != nil {
		return nil, fmt.Errorf("ecs state: %w", err)
	} else if moved > 0 {
		logger.Info("ecs records moved to the regional layout", "region", cfg.Region, "keys", moved)
	}
	// RunTask, StartTask and the service controller place through one
	// placer, sharing what it knows of every task's reservation. Its id is
	// the data dir's, the same across restarts.
	placerID, err := secretfile.Token(filepath.Join(cfg.DataDir, placerIDFile))
	if err != nil {
		return nil, fmt.Errorf("placer id: %w", err)
	}
	// Secrets, parameters and IAM's keys are sealed with a key of their
	// own, so a copy of the state file alone reveals none of them.
	box, err := secretbox.Load(cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	// Who each access key is, and what IAM's policies allow it.
	directory := iam.NewDirectory(iam.DirectoryConfig{Store: s.store, Box: box, AccountID: cfg.AccountID,
		AdminKeys: []iam.AccessKey{adminKey}, Logger: logger})
	roles := taskRoles{dir: directory, account: cfg.AccountID, enforce: cfg.IAMEnforce}
	ecsConfig := ecs.Config{Store: s.store, AccountID: cfg.AccountID, Logger: logger, Placer: ecs.NewPlacer(s.store, placerID, metrics)}
	if cfg.IAMEnforce {
		// Without enforcement any role ARN goes, for quick local use.
		ecsConfig.Roles = roles
	}
	secretsManager := secretsmanager.New(secretsmanager.Config{Store: s.store, Box: box, AccountID: cfg.AccountID, Logger: logger})
	parameterStore := ssm.New(ssm.Config{Store: s.store, Box: box, AccountID: cfg.AccountID, Logger: logger})

	cloudwatchLogs := logs.New(logs.Config{Store: s.store, Data: s.logData, AccountID: cfg.AccountID, Logger: logger, Registerer: metrics})

	// Networks: VPCs, subnets and security groups, the load balancers in
	// them, and the certificates their HTTPS listeners serve.
	defaultVPC := ec2state.DefaultVPCRanges{CIDR: cfg.DefaultVPCCIDR, HomeRegion: cfg.Region}
	ec2Config := ec2.Config{Store: s.store, AccountID: cfg.AccountID, DefaultVPC: defaultVPC, Logger: logger}
	if cfg.Agent {
		// This host carries the VPCs: a new one must not overlap its
		// networks.
		ec2Config.HostNetworks = func(context.Context) ([]netip.Prefix, error) { return hostnet.HostNetworks() }
	}
	loadBalancers := elbv2.New(elbv2.Config{Store: s.store, AccountID: cfg.AccountID, DefaultVPC: defaultVPC, Logger: logger})
	cloudMap := servicediscovery.New(servicediscovery.Config{Store: s.store, AccountID: cfg.AccountID, Logger: logger})
	ca, err := pki.LoadOrCreate(cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("certificate authority: %w", err)
	}

	// The AWS APIs.
	// CloudFormation makes stacks' resources through the gateway's
	// Invoke, which exists once the gateway does (below).
	inProcess := &lateInvoker{}
	apis := []*awsapi.Service{
		ecr.NewService(ecr.Config{
			Catalog:      s.catalog,
			Blobs:        s.blobs,
			Tokens:       s.tokens,
			Store:        s.store,
			AccountID:    cfg.AccountID,
			Region:       cfg.Region,
			RegistryHost: cfg.RegistryHost,
			Logger:       logger,
			// The scan APIs tell a scan that failed for an empty database
			// from one about to run again.
			VulnerabilityDatabase: s.vulnDB,
		}),
		ecs.NewService(ecsConfig),
		cloudwatchLogs.Service(),
		iam.NewService(iam.Config{Store: s.store, Box: box, AccountID: cfg.AccountID, Logger: logger}),
		iam.NewSTSService(directory),
		secretsManager.Service(),
		parameterStore.Service(),
		ec2.New(ec2Config).Service(),
		loadBalancers.Service(),
		acm.New(acm.Config{Store: s.store, Box: box, CA: ca, AccountID: cfg.AccountID, Logger: logger}).Service(),
		cloudMap.Service(),
		cloudformation.New(cloudformation.Config{AccountID: cfg.AccountID, Store: s.store, API: inProcess, Logger: logger}).Service(),
	}

	// The controllers and the rest of the background work.
	// Image scans: on push, on StartImageScan, and again when the
	// vulnerability database changes (enhanced continuous scanning).
	// Executables and rpm databases a scan spills while reading them go
	// to a private directory under the system's temp dir, never the data
	// dir, whose content is encrypted at rest; each scan removes its own.
	scans := scancontroller.New(scancontroller.Config{
		Store:      s.store,
		Catalog:    s.catalog,
		Inspector:  scan.NewScanner(s.blobs, s.catalog, scan.Options{Logger: logger}),
		Database:   s.vulnDB,
		Logger:     logger,
		Registerer: metrics,
	})
	// Garbage collection of blobs and upload sessions, in the background
	// and on `berth registry gc`.
	collector := registry.NewCollector(registry.GCConfig{
		Catalog:         s.catalog,
		Blobs:           s.blobs,
		Interval:        cfg.GCInterval,
		GracePeriod:     cfg.GCGracePeriod,
		UploadMaxAge:    cfg.GCUploadMaxAge,
		SessionSweepers: []registry.SessionSweeper{ecr.SweepLayerUploads(s.store, s.blobs, time.Now)},
		Logger:          logger,
		Registerer:      metrics,
	})
	hub := agenthub.New(agenthub.Config{
		Store:        s.store,
		AccountID:    cfg.AccountID,
		Region:       cfg.Region,
		RegistryHost: cfg.RegistryHost,
		Tokens:       s.tokens,
		AgentToken:   agentToken,
		// Tasks pull as their execution role, and get their roles'
		// credentials, through the directory; without an execution role
		// they pull as the container instance, which may pull anything.
		Sessions:            roles,
		InstanceAccessKeyID: adminKey.AccessKeyID,
		Logger:              logger,
		Registerer:          metrics,
	})
	// ECS Exec's sessions: the data channels the session-manager-plugin
	// opens, relayed to the tasks' agents.
	sessionGateway := ssmmessages.New(ssmmessages.Config{Store: s.store, Agents: hub, AgentToken: agentToken, Logger: logger})
	background := []runnable{
		{name: "agent hub", run: hub.Run},
		{name: "exec sessions", run: sessionGateway.Run,
			consequence: "terminated exec sessions stay open, and sessions left by a previous run stay Connected"},
		{name: "service controller", run: servicecontroller.New(servicecontroller.Config{
			Store:      s.store,
			Launcher:   ecs.NewLauncher(ecsConfig),
			Logger:     logger,
			Registerer: metrics,
		}).Run},
		// Service tasks behind load balancers: registered once they run,
		// drained and deregistered before they stop.
		{name: "load balancer targets", run: targetscontroller.New(targetscontroller.Config{
			Store: s.store, Logger: logger, Registerer: metrics,
		}).Run, consequence: "service tasks are not registered with their load balancers, and deployments behind them do not complete"},
		// Service tasks with service registries: registered with Cloud Map
		// once they run and are healthy, deregistered before they stop.
		{name: "cloud map registries", run: registriescontroller.New(registriescontroller.Config{
			Store: s.store, Logger: logger, Registerer: metrics,
		}).Run, consequence: "service tasks are not registered with Cloud Map, and their names do not resolve to them"},
		{name: "registry garbage collection", run: collector.Run},
		// Lifecycle policies expire images on an interval and when put.
		{name: "lifecycle controller", run: lifecyclecontroller.New(lifecyclecontroller.Config{
			Catalog:    s.catalog,
			Store:      s.store,
			Interval:   cfg.LifecycleInterval,
			Logger:     logger,
			Registerer: metrics,
		}).Run},
		// Lifecycle policy previews complete in the background, as ECR's do.
		{name: "lifecycle preview runner", run: lifecyclecontroller.NewPreviews(lifecyclecontroller.PreviewConfig{
			Catalog:    s.catalog,
			Store:      s.store,
			Logger:     logger,
			Registerer: metrics,
		}).Run},
		{name: "scan controller", run: scans.Run},
		{name: "iam directory", run: directory.Run,
			consequence: "every call reads its caller's keys and policies from the store (correct, slower)"},
		{name: "iam last use", run: directory.RunLastUse,
			consequence: "access keys and roles stop recording their last use"},
		// Expired credentials and secrets past their recovery window are
		// refused at once; the sweeps, at their packages' intervals, only
		// free the space.
		{name: "iam session sweep", run: func(ctx context.Context) error {
			return directory.RunSessionSweep(ctx, iam.DefaultSessionSweepInterval)
		}, consequence: "expired temporary credentials stay in the store (they are refused all the same)"},
		{name: "secret deletion", run: func(ctx context.Context) error {
			return secretsManager.RunDeletionSweep(ctx, secretsmanager.DefaultDeletionSweepInterval)
		}, consequence: "secrets past their recovery window stay in the store (they answer as deleted all the same)"},
		{name: "load balancer target drain", run: func(ctx context.Context) error {
			return loadBalancers.RunDrainSweep(ctx, elbv2.DefaultDrainSweepInterval)
		}, consequence: "the records of targets whose drain ended stay in the store (they are no longer listed all the same)"},
		// Cloud Map's namespace, service and instance changes complete
		// in the background, as Cloud Map's operations do.
		{name: "cloudformation stacks", run: stackscontroller.New(stackscontroller.Config{
			Store: s.store, API: inProcess, AccountID: cfg.AccountID, Logger: logger, Registerer: metrics,
		}).Run, consequence: "stack operations stay in progress: no resource is made or deleted"},
		{name: "cloud map operations", run: cloudMap.RunWorker,
			consequence: "Cloud Map operations stay SUBMITTED: namespaces are not made, instances not registered"},
		{name: "log retention", run: func(ctx context.Context) error {
			return cloudwatchLogs.RunRetention(ctx, cfg.LogsRetentionInterval)
		}, consequence: "expired log events stay on disk (reads still hide them)"},
	}
	if cfg.Agent || cfg.DNSListen != "" {
		// Cloud Map's names, the load balancers' and the registry's, for
		// the tasks of the VPCs this host carries (at each VPC's
		// resolver address) and for the host (--dns-listen).
		background = append(background, runnable{
			name: "dns server",
			run: dnsserver.New(dnsserver.Config{
				Store: s.store, Listen: cfg.DNSListen, Upstreams: cfg.DNSUpstreams, ServeVPCs: cfg.Agent,
				StaticHosts: registryHosts(cfg), Logger: logger, Registerer: metrics,
			}).Run,
			consequence: "tasks resolve no name, and --dns-listen answers nothing",
		})
	}
	if cfg.Agent {
		// Load balancers serve on their addresses in the VPCs this host
		// carries, and reach the targets in them.
		background = append(background, runnable{
			name:        "load balancers",
			run:         loadbalancer.New(loadbalancer.Config{Store: s.store, Box: box, Logger: logger, Registerer: metrics}).Run,
			consequence: "load balancers serve no traffic and stay provisioning",
		})
		background = append(background, runnable{
			name: "agent",
			run: func(ctx context.Context) error {
				return runAgent(ctx, cfg, serverURL, agentToken, logger, metrics)
			},
			consequence: "this host runs no tasks",
		})
	}

	// The endpoints of the agents and of berth's own commands.
	vulnDBAdmin := vulndb.HandlerConfig{AdminSecret: adminKey.SecretAccessKey, TempDir: cfg.DataDir}
	// Containers' output is delivered as their task's execution role when
	// IAM is enforced.
	var logRoles logs.ExecutionRoles
	if cfg.IAMEnforce {
		logRoles = executionRoles{hub: hub, dir: directory}
	}
	agentLogs := cloudwatchLogs.AgentHandler(agentToken, logRoles)
	internal := map[string]http.Handler{
		agentproto.Path: hub,
		// Containers' awslogs output, from the agents.
		agentproto.LogStreamPath: agentLogs,
		agentproto.LogBatchPath:  agentLogs,
		// Tasks' role credentials, for the agents.
		agentproto.CredentialsPath: hub.CredentialsHandler(),
		// ECS Exec: the plugins' data channels and the agents' ends.
		"GET " + ssmstate.DataChannelPath: sessionGateway.ClientHandler(),
		"GET " + agentproto.ExecPath:      sessionGateway.AgentHandler(),
		vulndb.ImportPath:                 afterImport(s.vulnDB.ImportHandler(vulnDBAdmin), scans.DatabaseChanged),
		vulndb.StatusPath:                 s.vulnDB.StatusHandler(vulnDBAdmin),
		registry.GCPath:                   collector.Handler(adminKey.SecretAccessKey),
		ecs.SpotInterruptPath: ecs.NewSpotHandler(ecs.SpotConfig{
			Config:        ecsConfig,
			DefaultRegion: cfg.Region,
			AdminSecret:   adminKey.SecretAccessKey,
		}),
	}

	// IAM's policies decide every call but the admin key's, unless turned
	// off; a nil authorizer lets every valid key do everything.
	var authorizer gateway.Authorizer
	var registryAuthorizer registry.Authorizer
	if cfg.IAMEnforce {
		authorizer, registryAuthorizer = directory, directory
	}
	gw, err := gateway.New(gateway.Config{
		Region:      cfg.Region,
		AccountID:   cfg.AccountID,
		Credentials: directory,
		Authorizer:  authorizer,
		Services:    apis,
		Registry: registry.NewHandler(registry.HandlerConfig{
			Catalog:    s.catalog,
			Blobs:      s.blobs,
			Tokens:     s.tokens,
			AccountID:  cfg.AccountID,
			Region:     cfg.Region,
			Logger:     logger,
			Registerer: metrics,
			Authorizer: registryAuthorizer,
		}),
		Internal:   internal,
		Logger:     logger,
		Registerer: metrics,
		Gatherer:   metrics,
	})
	if err != nil {
		return nil, err
	}
	inProcess.gateway = gw
	return &components{handler: gw, background: background, close: closeAll}, nil
}

// openStorage opens the state store, the vulnerability database and the
// blob store in cfg.DataDir (creating their keys on first start), and
// appends what closes them to closers.
func openStorage(cfg serverConfig, logger *slog.Logger, metrics prometheus.Registerer, closers *[]func() error) (*storage, error) {
	st, err := bolt.Open(filepath.Join(cfg.DataDir, stateFile), bolt.Options{Registerer: metrics, Logger: logger})
	if err != nil {
		return nil, fmt.Errorf("open state: %w", err)
	}
	*closers = append(*closers, st.Close)

	// The vulnerability database the image scanner matches against;
	// `berth vulndb import` fills it through the admin endpoints.
	vulnDB, err := vulndb.Open(filepath.Join(cfg.DataDir, vulnDBFile), vulndb.Options{Logger: logger, Registerer: metrics})
	if err != nil {
		return nil, err
	}
	*closers = append(*closers, vulnDB.Close)

	// Log events live in files of their own, apart from the records.
	logData, err := logdata.Open(logdata.Options{Dir: filepath.Join(cfg.DataDir, logsDir), Logger: logger})
	if err != nil {
		return nil, fmt.Errorf("open log data: %w", err)
	}
	*closers = append(*closers, logData.Close)

	// A nil key stores plaintext: only with --unencrypted-blobs, which
	// exists to measure encryption's cost.
	var blobKey []byte
	if cfg.UnencryptedBlobs {
		// A data dir with a key holds encrypted blobs, which a store
		// without the key could not read: refuse rather than mix the two.
		if _, err := os.Stat(filepath.Join(cfg.DataDir, blobKeyFile)); !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("--unencrypted-blobs: %s has a blob key (%s), so its blobs are encrypted; use a fresh data dir", cfg.DataDir, blobKeyFile)
		}
		logger.Warn("blobs are stored in plaintext (--unencrypted-blobs): for benchmarks only")
	} else if blobKey, err = local.LoadOrCreateKey(filepath.Join(cfg.DataDir, blobKeyFile)); err != nil {
		return nil, fmt.Errorf("blob key: %w", err)
	}
	blobs, err := local.Open(filepath.Join(cfg.DataDir, blobDir), local.Options{Key: blobKey, Registerer: metrics})
	if err != nil {
		return nil, fmt.Errorf("open blob store: %w", err)
	}
	tokenKey, err := local.LoadOrCreateKey(filepath.Join(cfg.DataDir, registryKeyFile))
	if err != nil {
		return nil, fmt.Errorf("registry token key: %w", err)
	}
	return &storage{
		store:   st,
		logData: logData,
		vulnDB:  vulnDB,
		blobs:   blobs,
		tokens:  registry.NewTokens(tokenKey, cfg.Region, nil),
		catalog: registry.NewCatalog(st, nil),
	}, nil
}

// afterImport runs changed once the import handler h has answered, so
// that image scans waiting for records run at once.
func afterImport(h http.Handler, changed func()) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r)
		changed()
	})
}

// registryHosts is what the DNS server answers for the registry's name:
// the address the server listens on (loopback when it listens on every
// address), when --registry-host names a host other than localhost.
func registryHosts(cfg serverConfig) map[string][]netip.Addr {
	host, _, err := net.SplitHostPort(cfg.RegistryHost)
	if err != nil {
		host = cfg.RegistryHost
	}
	if _, err := netip.ParseAddr(host); err == nil || host == "" || strings.EqualFold(host, "localhost") {
		return nil
	}
	listen, err := netip.ParseAddrPort(cfg.Listen)
	addr := netip.AddrFrom4([4]byte{127, 0, 0, 1})
	if err == nil && !listen.Addr().IsUnspecified() {
		addr = listen.Addr()
	}
	return map[string][]netip.Addr{host: {addr}}
}

// lateInvoker is the gateway's Invoke for what is built before the
// gateway; it is set before anything serves or runs.
type lateInvoker struct{ gateway *gateway.Gateway }

func (l *lateInvoker) Invoke(ctx context.Context, service, operation string, input map[string]any) (any, error) {
	return l.gateway.Invoke(ctx, service, operation, input)
}
