package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/berth/berth/internal/agenthub"
	"github.com/berth/berth/internal/agentproto"
	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/blob/local"
	servicecontroller "github.com/berth/berth/internal/controller/service"
	"github.com/berth/berth/internal/ecr"
	"github.com/berth/berth/internal/ecs"
	"github.com/berth/berth/internal/gateway"
	"github.com/berth/berth/internal/iam"
	"github.com/berth/berth/internal/registry"
	"github.com/berth/berth/internal/store/bolt"
)

// Files in the data dir besides the admin key.
const (
	stateFile       = "state.db"
	blobDir         = "blobs"
	blobKeyFile     = "blob.key"
	registryKeyFile = "registry-token.key"
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

	blobKey, err := local.LoadOrCreateKey(filepath.Join(cfg.DataDir, blobKeyFile))
	if err != nil {
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
	agentToken, err := loadOrCreateToken(filepath.Join(cfg.DataDir, agentTokenFile))
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
			agentproto.Path: hub,
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
