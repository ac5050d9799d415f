// Command registry benchmarks an OCI registry: image push and pull
// throughput and manifest GET rate, over several runs, optionally side by
// side with the CNCF reference registry (distribution/distribution).
//
// Default: builds ./cmd/berth, starts it twice on free loopback ports with
// temporary data dirs, once as it always runs (blobs encrypted at rest) and
// once with the hidden --unencrypted-blobs flag, creates the repository with
// the ECR API and measures both in alternating runs, reporting what
// encryption costs (the bound: within 15 %). --encryption-cost=false
// measures the encrypted server alone. With --url it measures a running
// registry instead.
//
//	make bench-registry [DISTRIBUTION_BIN=PATH] [ARGS='--runs 3']
//	go run ./test/bench/registry [--runs 5] [--baseline-distribution --distribution-bin PATH]
//	go run ./test/bench/registry --url http://127.0.0.1:4566 --username AWS --password PW --repo bench
package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/berth/berth/test/bench/benchserver"
)

// Figures for distribution on the 2-core project machine, from the issue
// that asked for this benchmark; shown when no baseline is measured.
var referenceDistribution = summary{
	name:      "distribution (reference)",
	reference: true,
	push:      stats{median: 200},
	pull:      stats{median: 430},
	gets:      stats{median: 2000},
}

// unencryptedName names the berth server started with --unencrypted-blobs.
const unencryptedName = "berth unencrypted"

type config struct {
	runs        int
	layers      int
	layerSize   int64
	jobs        int
	clients     int
	getWarmup   time.Duration
	getDuration time.Duration
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench-registry:", err)
		os.Exit(1)
	}
}

func run() error {
	var (
		cfg        config
		layerMiB   int
		timeout    time.Duration
		regURL     = flag.String("url", "", "measure the registry at this loopback URL (http://host:port) instead of starting berth")
		username   = flag.String("username", "", "registry user for --url (ECR: AWS)")
		password   = flag.String("password", "", "registry password for --url")
		repo       = flag.String("repo", "bench", "repository to push to; with --url it must exist")
		berth      = flag.Bool("berth", true, "measure berth (or --url); false measures only the baseline")
		berthBin   = flag.String("berth-bin", "", "prebuilt berth binary (default: go build ./cmd/berth)")
		encCost    = flag.Bool("encryption-cost", true, "also measure berth with plaintext blobs (--unencrypted-blobs) and report encryption's cost")
		baseline   = flag.Bool("baseline-distribution", false, "also measure the CNCF distribution registry")
		distBin    = flag.String("distribution-bin", os.Getenv("DISTRIBUTION_BIN"), "distribution's registry binary (default $DISTRIBUTION_BIN)")
		keepOutput = flag.Bool("keep", false, "keep temporary dirs (server logs, data) for inspection")
	)
	flag.IntVar(&cfg.runs, "runs", 5, "runs per registry; medians are reported")
	flag.IntVar(&cfg.layers, "layers", 8, "layers per pushed image")
	flag.IntVar(&layerMiB, "layer-mib", 32, "size of each layer in MiB")
	flag.IntVar(&cfg.jobs, "jobs", 4, "concurrent layer transfers (go-containerregistry's default is 4)")
	flag.IntVar(&cfg.clients, "clients", 16, "concurrent keep-alive clients for manifest GETs")
	flag.DurationVar(&cfg.getWarmup, "get-warmup", time.Second, "manifest GET warm-up, not counted")
	flag.DurationVar(&cfg.getDuration, "get-duration", 5*time.Second, "manifest GET measuring window")
	flag.DurationVar(&timeout, "timeout", 20*time.Minute, "give up (and stop everything) after this long")
	flag.Parse()
	cfg.layerSize = int64(layerMiB) << 20

	if cfg.runs < 1 || cfg.layers < 1 || layerMiB < 1 || cfg.jobs < 1 || cfg.clients < 1 || cfg.getDuration <= 0 {
		return errors.New("--runs, --layers, --layer-mib, --jobs, --clients and --get-duration must be positive")
	}
	if !*berth && !*baseline {
		return errors.New("nothing to measure: --berth=false needs --baseline-distribution")
	}
	if *baseline && *distBin == "" {
		return errors.New("--baseline-distribution needs --distribution-bin or $DISTRIBUTION_BIN")
	}
	if *regURL != "" {
		if err := checkLoopbackURL(*regURL); err != nil {
			return err
		}
	}
	// Servers run in their temp dir, so relative binary paths would break.
	for _, p := range []*string{berthBin, distBin} {
		if *p != "" {
			abs, err := filepath.Abs(*p)
			if err != nil {
				return err
			}
			*p = abs
		}
	}

	ctx, stop := benchserver.Context(timeout)
	defer stop()

	fmt.Fprintf(os.Stderr, "image %d MiB in %d random uncompressed layers, %d runs, %d manifest clients for %s\n",
		int64(cfg.layers)*cfg.layerSize>>20, cfg.layers, cfg.runs, cfg.clients, cfg.getDuration)

	var servers []*benchserver.Server
	defer func() {
		for _, s := range servers {
			s.Stop()
		}
	}()
	var targets []target
	switch {
	case !*berth: // baseline only
	case *regURL != "":
		targets = append(targets, target{name: *regURL, url: *regURL, username: *username, password: *password, repo: *repo})
	default:
		variants := []bool{false}
		if *encCost {
			variants = append(variants, true)
		}
		for _, unencrypted := range variants {
			srv, err := startBerth(ctx, berthBin, *keepOutput, unencrypted)
			if err != nil {
				return err
			}
			servers = append(servers, srv)
			name := "berth"
			if unencrypted {
				name = unencryptedName
			}
			t, err := berthTarget(ctx, srv, name, *repo)
			if err != nil {
				return srv.Annotate(err)
			}
			targets = append(targets, t)
		}
	}
	if *baseline {
		srv, err := startDistribution(ctx, *distBin, *keepOutput)
		if err != nil {
			return err
		}
		servers = append(servers, srv)
		// No auth: distribution's htpasswd runs bcrypt on every request,
		// which would measure bcrypt rather than the registry.
		targets = append(targets, target{name: "distribution", url: srv.URL, repo: *repo, srv: srv})
	}

	results, err := newBench(cfg).measure(ctx, targets)
	if err != nil {
		return err
	}
	if !*baseline {
		results = append(results, referenceDistribution)
	}
	printTable(os.Stdout, cfg, results)
	printEncryptionCost(os.Stdout, results)
	return nil
}

// checkLoopbackURL refuses anything but a loopback http(s) URL: the
// benchmark only ever sends traffic to this machine.
func checkLoopbackURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("--url: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("--url %q: want http://host:port", raw)
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("--url %q: only loopback addresses are allowed", raw)
	}
	return nil
}
