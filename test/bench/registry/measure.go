package main

import (
	"context"
	crand "crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/berth/berth/test/bench/benchserver"
)

const manifestAccept = "application/vnd.oci.image.manifest.v1+json, " +
	"application/vnd.docker.distribution.manifest.v2+json, " +
	"application/vnd.oci.image.index.v1+json, " +
	"application/vnd.docker.distribution.manifest.list.v2+json"

// target is one registry under test.
type target struct {
	name               string
	url                string // http://host:port
	username, password string // empty username: anonymous
	repo               string
	// srv is the server if we started it (its CPU time is measured), else
	// nil (what we pushed is deleted afterwards).
	srv *benchserver.Server
}

func (t target) pid() int {
	if t.srv == nil {
		return 0
	}
	return t.srv.PID()
}

// annotate adds the end of our server's log to err.
func (t target) annotate(err error) error {
	if t.srv == nil {
		return err
	}
	return t.srv.Annotate(err)
}

func (t target) auth() authn.Authenticator {
	if t.username == "" {
		return authn.Anonymous
	}
	return &authn.Basic{Username: t.username, Password: t.password}
}

func (t target) ref(tagOrDigest string) (name.Reference, error) {
	u, err := url.Parse(t.url)
	if err != nil {
		return nil, err
	}
	var opts []name.Option
	if u.Scheme == "http" {
		opts = append(opts, name.Insecure)
	}
	sep := ":"
	if strings.HasPrefix(tagOrDigest, "sha256:") {
		sep = "@"
	}
	return name.ParseReference(u.Host+"/"+t.repo+sep+tagOrDigest, opts...)
}

type stats struct{ median, min, max float64 }

func summarize(xs []float64) stats {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	med := s[n/2]
	if n%2 == 0 {
		med = (s[n/2-1] + s[n/2]) / 2
	}
	return stats{median: med, min: s[0], max: s[n-1]}
}

type summary struct {
	name             string
	reference        bool // figures quoted, not measured
	push, pull, gets stats
	getFailures      map[string]int
	// Server CPU per unit of work (ms/MB, µs/GET): unlike throughput it
	// holds up when other work shares the machine.
	cpu                      bool
	pushCPU, pullCPU, getCPU stats
}

type bench struct {
	cfg config
	// Layer contents, refilled with new random bytes every run so that no
	// push can be satisfied by blobs already in the registry.
	layers [][]byte
	rng    *rand.ChaCha8
}

func newBench(cfg config) *bench {
	var seed [32]byte
	crand.Read(seed[:])
	b := &bench{cfg: cfg, rng: rand.NewChaCha8(seed)}
	for range cfg.layers {
		b.layers = append(b.layers, make([]byte, cfg.layerSize))
	}
	return b
}

func (b *bench) totalBytes() int64 { return int64(b.cfg.layers) * b.cfg.layerSize }

// newImage returns an OCI image of fresh random layers, with digests and
// manifest computed up front so the timed push only transfers.
func (b *bench) newImage() (v1.Image, error) {
	var layers []v1.Layer
	for _, buf := range b.layers {
		b.rng.Read(buf)
		l := static.NewLayer(buf, types.OCIUncompressedLayer)
		if _, err := l.Digest(); err != nil {
			return nil, err
		}
		layers = append(layers, l)
	}
	base := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err := mutate.AppendLayers(base, layers...)
	if err != nil {
		return nil, err
	}
	if _, err := img.Digest(); err != nil {
		return nil, err
	}
	return img, nil
}

// samples are one target's figures, a value per run.
type samples struct {
	push, pull, gets, pushCPU, pullCPU, getCPU []float64
	failures                                   map[string]int
	pushed                                     []string // digests
}

// measure runs every target once per round, so that load from other work
// on the machine falls on all of them alike.
func (b *bench) measure(ctx context.Context, targets []target) ([]summary, error) {
	all := make([]*samples, len(targets))
	for i := range all {
		all[i] = &samples{failures: map[string]int{}}
	}
	defer func() {
		for i, t := range targets {
			if t.srv == nil {
				b.cleanup(t, all[i].pushed)
			}
		}
	}()
	runID := time.Now().UTC().Format("20060102-150405")
	for run := range b.cfg.runs {
		// Each round starts with the next target, so none always runs
		// first (on a fresh page cache, say, or after a quiet spell).
		for k := range targets {
			i := (run + k) % len(targets)
			t := targets[i]
			if err := b.runOnce(ctx, t, fmt.Sprintf("bench-%s-%d", runID, run+1), all[i]); err != nil {
				return nil, t.annotate(err)
			}
		}
	}
	var out []summary
	for i, t := range targets {
		sm := all[i]
		s := summary{name: t.name, push: summarize(sm.push), pull: summarize(sm.pull), gets: summarize(sm.gets), getFailures: sm.failures}
		if len(sm.pushCPU) == b.cfg.runs {
			s.cpu = true
			s.pushCPU, s.pullCPU, s.getCPU = summarize(sm.pushCPU), summarize(sm.pullCPU), summarize(sm.getCPU)
		}
		out = append(out, s)
	}
	return out, nil
}

// runOnce pushes a new image as tag, pulls it and runs the manifest GETs,
// adding the figures to sm.
func (b *bench) runOnce(ctx context.Context, t target, tag string, sm *samples) error {
	img, err := b.newImage()
	if err != nil {
		return err
	}
	digest, _ := img.Digest()
	ref, err := t.ref(tag)
	if err != nil {
		return err
	}
	opts := []remote.Option{remote.WithContext(ctx), remote.WithAuth(t.auth()), remote.WithJobs(b.cfg.jobs)}
	mb := float64(b.totalBytes()) / 1e6

	cpu0 := processCPU(t.pid())
	start := time.Now()
	if err := remote.Write(ref, img, opts...); err != nil {
		return fmt.Errorf("%s: push %s: %w", t.name, ref, err)
	}
	pushDur := time.Since(start)
	sm.pushed = append(sm.pushed, digest.String())

	cpu1 := processCPU(t.pid())
	start = time.Now()
	n, err := b.pull(ref, opts)
	if err != nil {
		return fmt.Errorf("%s: pull %s: %w", t.name, ref, err)
	}
	pullDur := time.Since(start)
	if n != b.totalBytes() {
		return fmt.Errorf("%s: pull %s: got %d layer bytes, want %d", t.name, ref, n, b.totalBytes())
	}
	cpu2 := processCPU(t.pid())

	g := b.manifestGETs(ctx, t, tag)
	if err := ctx.Err(); err != nil {
		return err
	}
	for k, v := range g.failures {
		sm.failures[k] += v
	}

	sm.push = append(sm.push, mb/pushDur.Seconds())
	sm.pull = append(sm.pull, mb/pullDur.Seconds())
	sm.gets = append(sm.gets, g.rate())
	line := fmt.Sprintf("%s run %d/%d (load %s): push %.0f MB/s (%.2fs), pull %.0f MB/s (%.2fs), manifest GET %.0f/s (%d failed)",
		t.name, len(sm.push), b.cfg.runs, loadAvg(), mb/pushDur.Seconds(), pushDur.Seconds(), mb/pullDur.Seconds(), pullDur.Seconds(), g.rate(), g.failed())
	if cpu0 >= 0 && cpu1 >= 0 && cpu2 >= 0 && g.cpu >= 0 && g.ok > 0 {
		pushCPU := (cpu1 - cpu0).Seconds() * 1e3 / mb
		pullCPU := (cpu2 - cpu1).Seconds() * 1e3 / mb
		getCPU := float64(g.cpu.Microseconds()) / float64(g.ok)
		sm.pushCPU = append(sm.pushCPU, pushCPU)
		sm.pullCPU = append(sm.pullCPU, pullCPU)
		sm.getCPU = append(sm.getCPU, getCPU)
		line += fmt.Sprintf("; server CPU: push %.2f ms/MB, pull %.2f ms/MB, %.0f µs/GET", pushCPU, pullCPU, getCPU)
	}
	fmt.Fprintln(os.Stderr, line)
	return nil
}

// processCPU is the user+system CPU time process pid has used, from Linux's
// /proc; -1 when unknown (pid 0: not a process we started).
func processCPU(pid int) time.Duration {
	if pid == 0 {
		return -1
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	// Fields after the command name, which is in parentheses and may hold
	// spaces: state is the first, utime and stime the 12th and 13th.
	i := strings.LastIndexByte(string(b), ')')
	if err != nil || i < 0 {
		return -1
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return -1
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return -1
	}
	// Clock ticks; USER_HZ is 100 on Linux.
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// pull resolves the manifest and reads every layer blob through the
// registry, cfg.jobs at a time, as a client pulling the image does (digest
// verification included). It returns the layer bytes read.
func (b *bench) pull(ref name.Reference, opts []remote.Option) (int64, error) {
	img, err := remote.Image(ref, opts...)
	if err != nil {
		return 0, err
	}
	layers, err := img.Layers()
	if err != nil {
		return 0, err
	}
	var (
		mu    sync.Mutex
		total int64
		first error
		wg    sync.WaitGroup
		sem   = make(chan struct{}, b.cfg.jobs)
	)
	for _, l := range layers {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			n, err := readLayer(l)
			mu.Lock()
			defer mu.Unlock()
			total += n
			if err != nil && first == nil {
				first = err
			}
		})
	}
	wg.Wait()
	return total, first
}

func readLayer(l v1.Layer) (int64, error) {
	rc, err := l.Compressed()
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(io.Discard, rc)
	if cerr := rc.Close(); err == nil {
		err = cerr
	}
	return n, err
}

type getResult struct {
	ok       int
	elapsed  time.Duration
	cpu      time.Duration  // server CPU in the window; -1 unknown
	failures map[string]int // status or error text -> count
}

func (g getResult) rate() float64 { return float64(g.ok) / g.elapsed.Seconds() }

func (g getResult) failed() int {
	n := 0
	for _, v := range g.failures {
		n += v
	}
	return n
}

// manifestGETs hammers GET /v2/<repo>/manifests/<tag> from cfg.clients
// goroutines sharing one keep-alive Transport: a warm-up (connections
// opened, caches filled), then the measured window, counting only 200s.
func (b *bench) manifestGETs(ctx context.Context, t target, tag string) getResult {
	tr := &http.Transport{MaxIdleConns: b.cfg.clients, MaxIdleConnsPerHost: b.cfg.clients, IdleConnTimeout: time.Minute}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	u := fmt.Sprintf("%s/v2/%s/manifests/%s", strings.TrimSuffix(t.url, "/"), t.repo, tag)
	authz := ""
	if t.username != "" {
		authz = "Basic " + base64.StdEncoding.EncodeToString([]byte(t.username+":"+t.password))
	}
	phase := func(d time.Duration) getResult {
		res := getResult{failures: map[string]int{}}
		var mu sync.Mutex
		var wg sync.WaitGroup
		start := time.Now()
		deadline := start.Add(d)
		for range b.cfg.clients {
			wg.Go(func() {
				ok, failures := 0, map[string]int{}
				for ctx.Err() == nil && time.Now().Before(deadline) {
					if status := getOnce(ctx, client, u, authz); status == "" {
						ok++
					} else {
						failures[status]++
					}
				}
				mu.Lock()
				defer mu.Unlock()
				res.ok += ok
				for k, v := range failures {
					res.failures[k] += v
				}
			})
		}
		wg.Wait()
		res.elapsed = time.Since(start)
		return res
	}
	phase(b.cfg.getWarmup)
	cpu0 := processCPU(t.pid())
	res := phase(b.cfg.getDuration)
	res.cpu = -1
	if cpu1 := processCPU(t.pid()); cpu0 >= 0 && cpu1 >= 0 {
		res.cpu = cpu1 - cpu0
	}
	return res
}

// getOnce does one manifest GET; "" means 200, else what went wrong.
func getOnce(ctx context.Context, client *http.Client, u, authz string) string {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err.Error()
	}
	req.Header.Set("Accept", manifestAccept)
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	resp, err := client.Do(req)
	if err != nil {
		return err.Error()
	}
	// Drained so the connection is reused.
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	switch {
	case err != nil:
		return "reading body: " + err.Error()
	case resp.StatusCode != http.StatusOK:
		return resp.Status
	}
	return ""
}

// cleanup deletes the images pushed to a registry we did not start (ours
// are removed with their data dir); failures only warn.
func (b *bench) cleanup(t target, digests []string) {
	for _, d := range digests {
		ref, err := t.ref(d)
		if err == nil {
			err = remote.Delete(ref, remote.WithAuth(t.auth()))
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: could not delete %s: %v\n", t.name, d, err)
		}
	}
}

// loadAvg is the 1-minute load average (the benchmark's own included),
// shown because other work on a small machine skews the figures.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) > 0 {
		return f[0]
	}
	return "?"
}

func printTable(w io.Writer, cfg config, results []summary) {
	fmt.Fprintf(w, "\nregistry benchmark: %d MiB image in %d layers, %d runs, %d manifest clients for %s; median [min-max]; MB = 10^6 bytes\n\n",
		int64(cfg.layers)*cfg.layerSize>>20, cfg.layers, cfg.runs, cfg.clients, cfg.getDuration)
	tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
	fmt.Fprint(tw, "figure")
	for _, r := range results {
		fmt.Fprintf(tw, "\t%s", r.name)
	}
	fmt.Fprintln(tw)
	row := func(label string, cpu bool, pick func(summary) stats) {
		fmt.Fprint(tw, label)
		for _, r := range results {
			s := pick(r)
			switch {
			case cpu && !r.cpu:
				fmt.Fprint(tw, "\t-")
			case r.reference:
				fmt.Fprintf(tw, "\t~%.0f", s.median)
			case cpu && s.max < 10:
				fmt.Fprintf(tw, "\t%.2f [%.2f-%.2f]", s.median, s.min, s.max)
			default:
				fmt.Fprintf(tw, "\t%.0f [%.0f-%.0f]", s.median, s.min, s.max)
			}
		}
		fmt.Fprintln(tw)
	}
	row("push MB/s", false, func(s summary) stats { return s.push })
	row("pull MB/s", false, func(s summary) stats { return s.pull })
	row("manifest GET/s", false, func(s summary) stats { return s.gets })
	if slices.ContainsFunc(results, func(s summary) bool { return s.cpu }) {
		row("server CPU ms/MB pushed", true, func(s summary) stats { return s.pushCPU })
		row("server CPU ms/MB pulled", true, func(s summary) stats { return s.pullCPU })
		row("server CPU µs/GET", true, func(s summary) stats { return s.getCPU })
	}
	tw.Flush()
	for _, r := range results {
		for what, n := range r.getFailures {
			fmt.Fprintf(w, "%s: %d manifest GETs failed: %s\n", r.name, n, what)
		}
	}
}

// encryptionBound is the limit on what encryption at rest may cost:
// encrypted throughput within 15 % of plaintext.
const encryptionBound = 0.15

// printEncryptionCost compares berth with encrypted blobs to berth with
// plaintext blobs (--unencrypted-blobs), figure by figure, from the medians.
func printEncryptionCost(w io.Writer, results []summary) {
	var enc, plain *summary
	for i := range results {
		switch results[i].name {
		case "berth":
			enc = &results[i]
		case unencryptedName:
			plain = &results[i]
		}
	}
	if enc == nil || plain == nil {
		return
	}
	fmt.Fprintf(w, "\nencryption at rest: berth (AES-256-GCM blobs) vs berth --unencrypted-blobs, medians; bound: within %.0f %%\n\n", encryptionBound*100)
	tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
	fmt.Fprintln(tw, "figure\tencrypted\tunencrypted\tencrypted/unencrypted\tverdict")
	// Throughput: higher is better; the cost is the shortfall.
	rate := func(label string, pick func(summary) stats) {
		e, p := pick(*enc).median, pick(*plain).median
		ratio := e / p
		verdict := "ok"
		if ratio < 1-encryptionBound {
			verdict = fmt.Sprintf("OVER: %.0f %% slower", (1-ratio)*100)
		}
		fmt.Fprintf(tw, "%s\t%.0f\t%.0f\t%.2f\t%s\n", label, e, p, ratio, verdict)
	}
	rate("push MB/s", func(s summary) stats { return s.push })
	rate("pull MB/s", func(s summary) stats { return s.pull })
	rate("manifest GET/s", func(s summary) stats { return s.gets })
	// Server CPU: lower is better; shown for what encryption adds, which
	// holds up better than throughput when other work shares the machine.
	if enc.cpu && plain.cpu {
		cpu := func(label string, pick func(summary) stats) {
			e, p := pick(*enc).median, pick(*plain).median
			fmt.Fprintf(tw, "%s\t%.2f\t%.2f\t%.2f\t\n", label, e, p, e/p)
		}
		cpu("server CPU ms/MB pushed", func(s summary) stats { return s.pushCPU })
		cpu("server CPU ms/MB pulled", func(s summary) stats { return s.pullCPU })
		cpu("server CPU µs/GET", func(s summary) stats { return s.getCPU })
	}
	tw.Flush()
}
