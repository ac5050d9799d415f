package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/berth/berth/internal/agenthub"
	"github.com/berth/berth/internal/agentproto"
	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/blob/local"
	lifecyclecontroller "github.com/berth/berth/internal/controller/lifecycle"
	scancontroller "github.com/berth/berth/internal/controller/scan"
	servicecontroller "github.com/berth/berth/internal/controller/service"
	"github.com/berth/berth/internal/ecr"
	"github.com/berth/berth/internal/ecs"
	"github.com/berth/berth/internal/gateway"
	"github.com/berth/berth/internal/iam"
	"github.com/berth/berth/internal/registry"
	"github.com/berth/berth/internal/scan"
	"github.com/berth/berth/internal/secretfile"
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
)

// components is what wire built: the handler for the one port, the
// background work to start once the port serves, and the closing of it all.
type components struct {
	handler http.Handler
	// background runs the work that needs the port to be serving (the
	// in-process agent dials it) until ctx ends.
	background func(ctx context.Context, serverURL string)
	// close closes the components in reverse order of creation, after the
	// background work has returned.
	close func() error
}

// wire builds the server's components (store, blob store, registry, ECR,
// ECS, the agent hub, gateway) from cfg.
//
// When wire runs, cfg.DataDir exists (mode 0700) and holds the admin key
// (iam.ReadAdminKey), and cfg.RegistryHost is filled in. ctx is cancelled
// when shutdown begins, before in-flight requests have drained; closeFn runs
// after they have.
func wire(ctx context.Context, cfg serverConfig, logger *slog.Logger) (c *components, err error) {
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
	st, err := bolt.Open(filepath.Join(cfg.DataDir, stateFile), bolt.Options{Registerer: metrics, Logger: logger})
	if err != nil {
		return nil, fmt.Errorf("open state: %w", err)
	}
	closers = append(closers, st.Close)

	// The vulnerability database the image scanner matches against;
	// `berth vulndb import` fills it through the admin endpoints below.
	vulnDB, err := vulndb.Open(filepath.Join(cfg.DataDir, vulnDBFile), vulndb.Options{Logger: logger, Registerer: metrics})
	if err != nil {
		return nil, err
	}
	closers = append(closers, vulnDB.Close)
	vulnDBAdmin := vulndb.HandlerConfig{AdminSecret: adminKey.SecretAccessKey, TempDir: cfg.DataDir}

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

	catalog := registry.NewCatalog(st, nil)
	tokens := registry.NewTokens(tokenKey, nil)
	registryHandler := registry.NewHandler(registry.HandlerConfig{
		Catalog:    catalog,
		Blobs:      blobs,
		Tokens:     tokens,
		AccountID:  cfg.AccountID,
		Region:     cfg.Region,
		Logger:     logger,
		Registerer: metrics,
	})
	ecrService := ecr.NewService(ecr.Config{
		Catalog:      catalog,
		Blobs:        blobs,
		Tokens:       tokens,
		Store:        st,
		AccountID:    cfg.AccountID,
		Region:       cfg.Region,
		RegistryHost: cfg.RegistryHost,
		Logger:       logger,
		// The scan APIs tell a scan that failed for an empty database from
		// one about to run again.
		VulnerabilityDatabase: vulnDB,
	})
	ecsService := ecs.NewService(ecs.Config{
		Store:     st,
		AccountID: cfg.AccountID,
		Region:    cfg.Region,
		Logger:    logger,
	})
	services := servicecontroller.New(servicecontroller.Config{
		Store: st,
		Launcher: ecs.NewLauncher(ecs.Config{
			Store:     st,
			AccountID: cfg.AccountID,
			Region:    cfg.Region,
			Logger:    logger,
		}),
		Logger:     logger,
		Registerer: metrics,
	})
	// Lifecycle policies expire images on an interval and when put.
	lifecycles := lifecyclecontroller.New(lifecyclecontroller.Config{
		Catalog:    catalog,
		Store:      st,
		Interval:   cfg.LifecycleInterval,
		Logger:     logger,
		Registerer: metrics,
	})
	// Image scans: on push, on StartImageScan, and again when the
	// vulnerability database changes (enhanced continuous scanning).
	// Executables and rpm databases a scan spills while reading them go
	// to a private directory under the system's temp dir, never the data
	// dir, whose content is encrypted at rest; each scan removes its own.
	scans := scancontroller.New(scancontroller.Config{
		Store:      st,
		Catalog:    catalog,
		Inspector:  scan.NewScanner(blobs, catalog, scan.Options{Logger: logger}),
		Database:   vulnDB,
		Logger:     logger,
		Registerer: metrics,
	})
	// Garbage collection of blobs and upload sessions, in the background
	// and on `berth registry gc`.
	collector := registry.NewCollector(registry.GCConfig{
		Catalog:         catalog,
		Blobs:           blobs,
		Interval:        cfg.GCInterval,
		GracePeriod:     cfg.GCGracePeriod,
		UploadMaxAge:    cfg.GCUploadMaxAge,
		SessionSweepers: []registry.SessionSweeper{ecr.SweepLayerUploads(st, blobs, time.Now)},
		Logger:          logger,
		Registerer:      metrics,
	})
	agentToken, err := secretfile.Token(filepath.Join(cfg.DataDir, agentTokenFile))
	if err != nil {
		return nil, fmt.Errorf("agent token: %w", err)
	}
	hub := agenthub.New(agenthub.Config{
		Store:        st,
		AccountID:    cfg.AccountID,
		Region:       cfg.Region,
		RegistryHost: cfg.RegistryHost,
		Tokens:       tokens,
		AgentToken:   agentToken,
		Logger:       logger,
		Registerer:   metrics,
	})
	gw, err := gateway.New(gateway.Config{
		Region:      cfg.Region,
		AccountID:   cfg.AccountID,
		Credentials: &iam.Keyring{AccountID: cfg.AccountID, Keys: []iam.AccessKey{adminKey}},
		Services:    []*awsapi.Service{ecrService, ecsService},
		Registry:    registryHandler,
		Internal: map[string]http.Handler{
			agentproto.Path:   hub,
			vulndb.ImportPath: afterImport(vulnDB.ImportHandler(vulnDBAdmin), scans.DatabaseChanged),
			vulndb.StatusPath: vulnDB.StatusHandler(vulnDBAdmin),
			registry.GCPath:   collector.Handler(adminKey.SecretAccessKey),
			ecs.SpotInterruptPath: ecs.NewSpotHandler(ecs.SpotConfig{
				Config:      ecs.Config{Store: st, AccountID: cfg.AccountID, Region: cfg.Region, Logger: logger},
				AdminSecret: adminKey.SecretAccessKey,
			}),
		},
		Logger:     logger,
		Registerer: metrics,
		Gatherer:   metrics,
	})
	if err != nil {
		return nil, err
	}
	background := func(ctx context.Context, serverURL string) {
		var wg sync.WaitGroup
		wg.Go(func() {
			if err := hub.Run(ctx); err != nil && ctx.Err() == nil {
				logger.Error("agent hub stopped", "err", err)
			}
		})
		wg.Go(func() {
			if err := services.Run(ctx); err != nil && ctx.Err() == nil {
				logger.Error("service controller stopped", "err", err)
			}
		})
		wg.Go(func() {
			if err := collector.Run(ctx); err != nil && ctx.Err() == nil {
				logger.Error("registry garbage collection stopped", "err", err)
			}
		})
		wg.Go(func() {
			if err := lifecycles.Run(ctx); err != nil && ctx.Err() == nil {
				logger.Error("lifecycle controller stopped", "err", err)
			}
		})
		wg.Go(func() {
			if err := scans.Run(ctx); err != nil && ctx.Err() == nil {
				logger.Error("scan controller stopped", "err", err)
			}
		})
		if cfg.Agent {
			wg.Go(func() {
				if err := runAgent(ctx, cfg, serverURL, agentToken, logger, metrics); err != nil && ctx.Err() == nil {
					logger.Error("agent stopped; this host runs no tasks", "err", err)
				}
			})
		}
		wg.Wait()
	}
	return &components{handler: gw, background: background, close: closeAll}, nil
}

// afterImport runs changed once the import handler h has answered, so
// that image scans waiting for records run at once.
func afterImport(h http.Handler, changed func()) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r)
		changed()
	})
}
