// Command app is the payload of the e2e tests' container images: a static
// HTTP server that runs FROM scratch, so building its image pulls nothing.
//
//	GET /health  200 "ok" (or -health-status)
//	GET /        the hostname (a container's id or task's hostname)
//	GET /env/..., /aws/...  what an AWS SDK in the task sees (aws.go)
//	GET /sleep/{duration}  answers "slept" after the duration
//	GET /ws      a WebSocket that echoes each message, after "hostname: " and the hostname
//	GET /resolve, /fetch  names resolved and URLs fetched from inside the task (resolve.go)
//
// With -check URL it is its own health-check command (a scratch image has no
// curl): it exits 0 when URL answers 200, else 1. Installed as "curl" it is a
// small curl (see curl.go), so the article's `curl -f http://localhost:8080/health`
// health check runs in the toolbox image.
//
// The remaining flags make it misbehave on purpose, for the ECS tests:
// exit after a while, use too much memory, ignore SIGTERM. -print-lines
// and -tick make it print, for the log tests.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	if filepath.Base(os.Args[0]) == "curl" {
		os.Exit(curl(os.Args[1:]))
	}
	port := flag.Int("port", 8080, "port to listen on")
	check := flag.String("check", "", "GET this URL, exit 0 on 200 and 1 otherwise")
	healthStatus := flag.Int("health-status", http.StatusOK, "status /health answers")
	exitAfter := flag.Duration("exit-after", 0, "exit on its own after this long (0: never)")
	exitCode := flag.Int("exit-code", 0, "exit code for -exit-after")
	allocMiB := flag.Int("alloc-mib", 0, "allocate and touch this many MiB, 1 MiB at a time, after starting")
	ignoreTerm := flag.Bool("ignore-sigterm", false, "ignore SIGTERM (only SIGKILL ends it)")
	printLines := flag.Int("print-lines", 0, "print this many numbered lines to stdout as fast as it can, then exit")
	tick := flag.Duration("tick", 0, "print a numbered line every tick, to stdout and stderr in turn")
	ticks := flag.Int("ticks", 0, "with -tick, exit after this many lines")
	flag.Parse()
	if *check != "" {
		os.Exit(runCheck(*check))
	}
	if *printLines > 0 {
		os.Exit(print(*printLines))
	}
	if *tick > 0 {
		os.Exit(tickLines(*tick, *ticks))
	}

	hostname, err := os.Hostname()
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(*healthStatus)
		fmt.Fprint(w, "ok")
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, hostname)
	})
	// /bytes/N answers N bytes, for benchmarks of larger responses.
	mux.HandleFunc("GET /bytes/{n}", func(w http.ResponseWriter, r *http.Request) {
		n, err := strconv.Atoi(r.PathValue("n"))
		if err != nil || n < 0 || n > 64<<20 {
			http.Error(w, "bad size", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Length", strconv.Itoa(n))
		_, _ = w.Write(filler[:min(n, len(filler))])
		for sent := len(filler); sent < n; sent += len(filler) {
			_, _ = w.Write(filler[:min(n-sent, len(filler))])
		}
	})
	mux.HandleFunc("GET /sleep/{duration}", func(w http.ResponseWriter, r *http.Request) {
		d, err := time.ParseDuration(r.PathValue("duration"))
		if err != nil {
			http.Error(w, "bad duration", http.StatusBadRequest)
			return
		}
		select {
		case <-time.After(d):
			fmt.Fprint(w, "slept")
		case <-r.Context().Done():
		}
	})
	mux.HandleFunc("GET /ws", func(w http.ResponseWriter, r *http.Request) {
		echo(w, r, hostname)
	})
	awsRoutes(mux)
	resolveRoutes(mux)
	srv := &http.Server{Addr: fmt.Sprintf(":%d", *port), Handler: mux, ReadHeaderTimeout: 10 * time.Second}

	if *exitAfter > 0 {
		time.AfterFunc(*exitAfter, func() {
			log.Printf("app exiting with %d as asked", *exitCode)
			os.Exit(*exitCode)
		})
	}
	if *allocMiB > 0 {
		go allocate(*allocMiB)
	}
	signals := []os.Signal{syscall.SIGINT, syscall.SIGTERM}
	if *ignoreTerm {
		signal.Ignore(syscall.SIGTERM)
		signals = signals[:1]
	}
	// As PID 1 in a container the default SIGTERM action is ignored; handle it
	// so `docker stop` and ECS StopTask end the app promptly with exit 0.
	ctx, stop := signal.NotifyContext(context.Background(), signals...)
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

// hoard keeps allocated memory reachable so it is not collected.
var hoard [][]byte

func allocate(mib int) {
	for i := 0; i < mib; i++ {
		b := make([]byte, 1<<20)
		for j := range b {
			b[j] = byte(j)
		}
		hoard = append(hoard, b)
		time.Sleep(5 * time.Millisecond)
	}
	log.Printf("app holds %d MiB", mib)
}

// filler is what /bytes/N answers, a block at a time.
var filler = []byte(strings.Repeat("berth", 64<<10/5+1))[:64<<10]

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

// print writes n numbered lines ("line 0000001") to stdout.
func print(n int) int {
	w := bufio.NewWriterSize(os.Stdout, 64<<10)
	for i := 1; i <= n; i++ {
		fmt.Fprintf(w, "line %07d\n", i)
	}
	if err := w.Flush(); err != nil {
		return 1
	}
	return 0
}

// tickLines writes "out <n>" to stdout and "err <n>" to stderr in turn,
// one every interval, n lines in all (0: until stopped).
func tickLines(interval time.Duration, n int) int {
	for i := 1; n == 0 || i <= n; i++ {
		if i%2 == 1 {
			fmt.Fprintf(os.Stdout, "out %d\n", i)
		} else {
			fmt.Fprintf(os.Stderr, "err %d\n", i)
		}
		time.Sleep(interval)
	}
	return 0
}
