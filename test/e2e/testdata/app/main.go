// Command app is the payload of the e2e tests' container images: a static
// HTTP server that runs FROM scratch, so building its image pulls nothing.
//
//	GET /health  200 "ok"
//	GET /        the hostname (a container's id or task's hostname)
//
// With -check URL it is its own health-check command (a scratch image has no
// curl): it exits 0 when URL answers 200, else 1.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	port := flag.Int("port", 8080, "port to listen on")
	check := flag.String("check", "", "GET this URL, exit 0 on 200 and 1 otherwise")
	flag.Parse()
	if *check != "" {
		os.Exit(runCheck(*check))
	}

	hostname, err := os.Hostname()
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, "ok")
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, hostname)
	})
	srv := &http.Server{Addr: fmt.Sprintf(":%d", *port), Handler: mux, ReadHeaderTimeout: 10 * time.Second}

	// As PID 1 in a container the default SIGTERM action is ignored; handle it
	// so `docker stop` and ECS StopTask end the app promptly with exit 0.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	log.Printf("app listening on %s as %s", srv.Addr, hostname)
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
	<-drained
	log.Print("app stopped")
}

func runCheck(url string) int {
	client := http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintln(os.Stderr, url, resp.Status)
		return 1
	}
	return 0
}
