package loadbalancer

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/berth/berth/internal/elbv2/elbv2state"
)

// checkResult is the outcome of one health check.
type checkResult struct {
	ok bool
	// reason and description say why it failed, in DescribeTargetHealth's
	// words.
	reason, description string
}

// healthState is a target's health as its checks count it.
type healthState struct {
	state               string
	reason, description string
	// passes and fails are the consecutive checks that passed and failed.
	passes, fails int32
}

// next is the state after one more check, as ALB counts: a new target
// becomes healthy with its first passing check; UnhealthyThresholdCount
// failures in a row make a target unhealthy, HealthyThresholdCount
// passes in a row make an unhealthy one healthy again.
func (h healthState) next(r checkResult, hc elbv2state.HealthCheck) healthState {
	if r.ok {
		h.passes++
		h.fails = 0
		switch h.state {
		case elbv2state.HealthInitial, "":
			h.state = elbv2state.HealthHealthy
		case elbv2state.HealthUnhealthy:
			if h.passes >= hc.HealthyThreshold {
				h.state = elbv2state.HealthHealthy
			}
		}
	} else {
		h.fails++
		h.passes = 0
		if h.state == elbv2state.HealthUnhealthy || h.fails >= hc.UnhealthyThreshold {
			h.state = elbv2state.HealthUnhealthy
			h.reason, h.description = r.reason, r.description
		}
		if h.state == "" {
			h.state = elbv2state.HealthInitial
		}
	}
	if h.state != elbv2state.HealthUnhealthy {
		h.reason, h.description = "", ""
	}
	if h.state == elbv2state.HealthInitial {
		h.reason, h.description = elbv2state.ReasonInitialHealthChecking, initialDescription
	}
	return h
}

// initialDescription is DescribeTargetHealth's text for a target whose
// first checks are under way.
const initialDescription = "Initial health checks in progress"

// matchesCodes reports whether status is in a matcher: codes and ranges,
// "200", "200,202", "200-299".
func matchesCodes(matcher string, status int) bool {
	for _, part := range strings.Split(matcher, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(part), "-")
		from, err := strconv.Atoi(lo)
		if err != nil {
			continue
		}
		to := from
		if isRange {
			if to, err = strconv.Atoi(hi); err != nil {
				continue
			}
		}
		if status >= from && status <= to {
			return true
		}
	}
	return false
}

// checker checks one target of one group on the group's interval until
// stopped, and records every change of its health.
type checker struct {
	cancel context.CancelFunc
	// spec is what it was started with; a change starts a new checker.
	spec checkSpec
}

type checkSpec struct {
	region, tgID string
	target       elbv2state.Target
	addr         string // host:port of the check
	source       netip.Addr
	hc           elbv2state.HealthCheck
}

func (c *checker) stop() { c.cancel() }

// checkTargets runs a checker for every registered, not draining target of
// every group a load balancer forwards to, and stops the others.
func (p *Plane) checkTargets(ctx context.Context, t *table) {
	want := map[string]checkSpec{}
	prior := map[string]elbv2state.TargetHealth{}
	for _, g := range t.groups {
		if g.balancer == nil || len(g.balancer.addresses) == 0 || !g.group.HealthCheck.Enabled {
			continue
		}
		for key, tr := range g.targets {
			if tr.draining || tr.addr == "" {
				continue
			}
			port := g.group.HealthCheckPort(tr.target)
			host, _, _ := net.SplitHostPort(tr.addr)
			want[key] = checkSpec{
				region: g.group.Region, tgID: g.group.ID, target: tr.target,
				addr: net.JoinHostPort(host, port), source: g.balancer.addresses[0], hc: g.group.HealthCheck,
			}
			prior[key] = tr.health
		}
	}
	for key, c := range p.checkers {
		if spec, ok := want[key]; !ok || spec != c.spec {
			c.stop()
			delete(p.checkers, key)
		}
	}
	for key, spec := range want {
		if p.checkers[key] != nil {
			continue
		}
		cctx, cancel := context.WithCancel(ctx)
		p.checkers[key] = &checker{cancel: cancel, spec: spec}
		go p.runChecks(cctx, spec, prior[key])
	}
}

// runChecks checks a target until ctx ends. It goes on from the health the
// store holds (a restarted server does not make healthy targets initial
// again), and records each change.
func (p *Plane) runChecks(ctx context.Context, spec checkSpec, prior elbv2state.TargetHealth) {
	h := healthState{state: prior.State, reason: prior.Reason, description: prior.Description}
	if h.state == "" {
		h = healthState{state: elbv2state.HealthInitial, reason: elbv2state.ReasonInitialHealthChecking, description: initialDescription}
		p.record(ctx, spec, h)
	}
	client := healthClient(spec)
	defer client.CloseIdleConnections()
	interval := time.Duration(spec.hc.IntervalSeconds) * time.Second
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		r := check(ctx, client, spec)
		if ctx.Err() != nil {
			return
		}
		result := "pass"
		if !r.ok {
			result = "fail"
		}
		p.metrics.checks.WithLabelValues(result).Inc()
		next := h.next(r, spec.hc)
		if next.state != h.state || next.reason != h.reason || next.description != h.description {
			p.record(ctx, spec, next)
		}
		h = next
		timer.Reset(interval)
	}
}

// record writes a target's health.
func (p *Plane) record(ctx context.Context, spec checkSpec, h healthState) {
	err := elbv2state.RecordHealth(ctx, p.cfg.Store, spec.region, spec.tgID, spec.target, elbv2state.TargetHealth{
		State: h.state, Reason: h.reason, Description: h.description, CheckedAt: p.now().UTC(),
	})
	if err != nil && ctx.Err() == nil && !errors.Is(err, elbv2state.ErrNotRegistered) {
		p.log.Warn("recording a target's health failed", "targetGroup", spec.tgID, "target", spec.target.ID, "err", err)
	}
}

// healthClient makes a target's checks from the load balancer's address,
// one connection per check, as ALB's checks are.
func healthClient(spec checkSpec) *http.Client {
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: spec.source.AsSlice()}}
	return &http.Client{
		Transport: &http.Transport{
			DialContext:       dialer.DialContext,
			DisableKeepAlives: true,
			TLSClientConfig:   &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // ALB does not verify targets
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// check runs one health check.
func check(ctx context.Context, client *http.Client, spec checkSpec) checkResult {
	timeout := time.Duration(spec.hc.TimeoutSeconds) * time.Second
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	scheme := "http"
	if spec.hc.Protocol == "HTTPS" {
		scheme = "https"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, scheme+"://"+spec.addr+spec.hc.Path, nil)
	if err != nil {
		return checkResult{reason: elbv2state.ReasonFailedHealthChecks, description: "Health checks failed"}
	}
	req.Header.Set("User-Agent", "ELB-HealthChecker/2.0")
	resp, err := client.Do(req)
	if err != nil {
		var ne net.Error
		if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() {
			return checkResult{reason: elbv2state.ReasonTimeout, description: "Request timed out"}
		}
		return checkResult{reason: elbv2state.ReasonFailedHealthChecks, description: "Health checks failed"}
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	resp.Body.Close()
	matcher := spec.hc.HTTPCode
	if matcher == "" {
		matcher = "200"
	}
	if !matchesCodes(matcher, resp.StatusCode) {
		return checkResult{reason: elbv2state.ReasonResponseCodeMismatch, description: fmt.Sprintf("Health checks failed with these codes: [%d]", resp.StatusCode)}
	}
	return checkResult{ok: true}
}
