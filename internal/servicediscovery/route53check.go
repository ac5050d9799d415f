package servicediscovery

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	json "github.com/go-json-experiment/json/v1"

	"github.com/berth/berth/internal/servicediscovery/sdstate"
	"github.com/berth/berth/internal/store"
)

// Route 53 health checks of the services that have one (public DNS
// namespaces only): every checkInterval each instance is asked, over HTTP,
// HTTPS or TCP, at its address and AWS_INSTANCE_PORT; a status of 2xx or
// 3xx (or a connection, for TCP) passes. FailureThreshold checks in a row
// the other way change the instance's status.
const (
	// checkInterval is Route 53's standard request interval.
	checkInterval = 30 * time.Second
	// checkTimeout is how long Route 53 waits for a connection and an
	// answer.
	checkTimeout = 4 * time.Second
	// checkParallel bounds the checks in flight.
	checkParallel = 16
)

// healthChecks is the Route 53 checker's memory: each checked instance's
// streak, positive for passes and negative for failures, by its key.
type healthChecks struct {
	streaks map[string]int32
	client  *http.Client
}

func newHealthChecks() *healthChecks {
	return &healthChecks{
		streaks: map[string]int32{},
		client: &http.Client{
			Timeout: checkTimeout,
			// Route 53 does not validate the certificate of an HTTPS check,
			// and judges the first answer, not where it redirects.
			Transport:     &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, DisableKeepAlives: true},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
}

// checkAll checks every instance of every service with a Route 53 health
// check once, and records the statuses that change.
func (c *CloudMap) checkAll(ctx context.Context, hc *healthChecks) error {
	var services []sdstate.Service
	_, err := c.store.Range(ctx, sdstate.ServicePrefix, func(kv store.KV) error {
		if !strings.Contains(string(kv.Value), `"healthCheck"`) {
			return nil
		}
		var svc sdstate.Service
		if err := json.Unmarshal(kv.Value, &svc); err != nil {
			return fmt.Errorf("servicediscovery: decode %s: %w", kv.Key, err)
		}
		if svc.HealthCheck != nil {
			services = append(services, svc)
		}
		return nil
	})
	if err != nil {
		return err
	}
	type result struct {
		key    string
		passed bool
	}
	var (
		mu      sync.Mutex
		results []result
		wg      sync.WaitGroup
		slots   = make(chan struct{}, checkParallel)
		checked = map[string]bool{}
	)
	thresholds := map[string]int32{}
	for _, svc := range services {
		instances, err := c.instances(ctx, svc)
		if err != nil {
			return err
		}
		for _, inst := range instances {
			key := sdstate.InstanceKey(inst.Region, inst.ServiceID, inst.ID)
			checked[key] = true
			thresholds[key] = max(svc.HealthCheck.FailureThreshold, 1)
			check := *svc.HealthCheck
			wg.Go(func() {
				slots <- struct{}{}
				defer func() { <-slots }()
				passed := hc.probe(ctx, check, inst.Attributes)
				mu.Lock()
				results = append(results, result{key, passed})
				mu.Unlock()
			})
		}
	}
	wg.Wait()
	for key := range hc.streaks {
		if !checked[key] {
			delete(hc.streaks, key) // deregistered
		}
	}
	for _, r := range results {
		streak := hc.streaks[r.key]
		switch {
		case r.passed && streak >= 0:
			streak++
		case r.passed:
			streak = 1
		case streak <= 0:
			streak--
		default:
			streak = -1
		}
		hc.streaks[r.key] = streak
		want := ""
		if streak >= thresholds[r.key] {
			want = sdstate.Healthy
		} else if -streak >= thresholds[r.key] {
			want = sdstate.Unhealthy
		}
		if want == "" {
			continue
		}
		_, err := store.Update(ctx, c.store, r.key, func(inst *sdstate.Instance, found bool) error {
			if !found || inst.Health == want {
				return store.ErrUnchanged
			}
			inst.Health = want
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// probe runs one check of an instance: false when it has no address to
// check.
func (hc *healthChecks) probe(ctx context.Context, check sdstate.HealthCheck, attrs map[string]string) bool {
	addr, err := netip.ParseAddr(attrs[sdstate.AttrIPv4])
	if err != nil {
		if addr, err = netip.ParseAddr(attrs[sdstate.AttrIPv6]); err != nil {
			return false
		}
	}
	port := attrs[sdstate.AttrPort]
	if port == "" {
		port = "80"
		if check.Type == "HTTPS" {
			port = "443"
		}
	}
	hostPort := net.JoinHostPort(addr.String(), port)
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	if check.Type == "TCP" {
		conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", hostPort)
		if err != nil {
			return false
		}
		conn.Close()
		return true
	}
	scheme := "http"
	if check.Type == "HTTPS" {
		scheme = "https"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, scheme+"://"+hostPort+check.ResourcePath, nil)
	if err != nil {
		return false
	}
	resp, err := hc.client.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode >= 200 && resp.StatusCode < 400
}
