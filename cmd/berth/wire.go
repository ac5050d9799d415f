package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/blob/local"
	"github.com/berth/berth/internal/ecr"
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

// wire builds the server's components (store, blob store, registry, ECR,
// gateway) from cfg and returns the handler for the one port and a function
// that closes the components in reverse order of creation.
//
// When wire runs, cfg.DataDir exists (mode 0700) and holds the admin key
// (iam.ReadAdminKey), and cfg.RegistryHost is filled in. ctx is cancelled
// when shutdown begins, before in-flight requests have drained; closeFn runs
// after they have.
func wire(ctx context.Context, cfg serverConfig, logger *slog.Logger) (handler http.Handler, closeFn func() error, err error) {
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
		return nil, nil, err
	}
	st, err := bolt.Open(filepath.Join(cfg.DataDir, stateFile), bolt.Options{Registerer: metrics, Logger: logger})
	if err != nil {
		return nil, nil, fmt.Errorf("open state: %w", err)
	}
	closers = append(closers, st.Close)

	blobKey, err := local.LoadOrCreateKey(filepath.Join(cfg.DataDir, blobKeyFile))
	if err != nil {
		return nil, nil, fmt.Errorf("blob key: %w", err)
	}
	blobs, err := local.Open(filepath.Join(cfg.DataDir, blobDir), local.Options{Key: blobKey, Registerer: metrics})
	if err != nil {
		return nil, nil, fmt.Errorf("open blob store: %w", err)
	}
	tokenKey, err := local.LoadOrCreateKey(filepath.Join(cfg.DataDir, registryKeyFile))
	if err != nil {
		return nil, nil, fmt.Errorf("registry token key: %w", err)
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
	gw, err := gateway.New(gateway.Config{
		Region:      cfg.Region,
		AccountID:   cfg.AccountID,
		Credentials: &iam.Keyring{AccountID: cfg.AccountID, Keys: []iam.AccessKey{adminKey}},
		Services:    []*awsapi.Service{ecrService},
		Registry:    registryHandler,
		Logger:      logger,
		Registerer:  metrics,
		Gatherer:    metrics,
	})
	if err != nil {
		return nil, nil, err
	}
	return gw, closeAll, nil
}
