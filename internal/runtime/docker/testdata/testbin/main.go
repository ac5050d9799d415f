// Command testbin is the one static binary the docker driver's tests run in
// containers (and as the pause binary). Its first argument picks a mode:
//
//	pause                      block until SIGTERM/SIGINT, exit 0
//	serve -addr :8080 [-healthy-for 3s]
//	                           HTTP server: / answers "ok <hostname>",
//	                           /health 200 (500 after -healthy-for)
//	check -url URL             exit 0 if GET URL answers 200, else 1
//	connect -addr HOST:PORT [-timeout 5s]
//	                           exit 0 once a TCP connection succeeds, else 1
//	sleep [-d 1h] [-ignore-term]
//	                           sleep; SIGTERM exits 0 unless ignored
//	alloc -mib N               allocate and touch N MiB, then sleep
//	exit -code N               exit with N
//	pid1                       print /proc/1/cmdline (NULs as spaces)
//	cat FILE...                print files
//	resolve -name NAME         print NAME's addresses; exit 1 if none
//	lines -n N [-long BYTES] [-stderr-every K] [-wait D] [-tail TEXT]
//	                           print "line <i>" for i in 1..N (every K-th on
//	                           stderr), after one line of BYTES x's, then
//	                           TEXT without a newline; wait D first
//	winsize                    print the terminal's size ("size ROWS COLS") for
//	                           each line read on stdin, until EOF
//	echo                       copy stdin to stdout, then print "EOF" on
//	                           stderr
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: testbin MODE [flags]")
		os.Exit(2)
	}
	mode, args := os.Args[1], os.Args[2:]
	fs := flag.NewFlagSet(mode, flag.ExitOnError)
	switch mode {
	case "pause":
		waitForTerm()
	case "serve":
		addr := fs.String("addr", ":8080", "listen address")
		healthyFor := fs.Duration("healthy-for", 0, "answer /health with 500 after this long (0: always 200)")
		fs.Parse(args)
		serve(*addr, *healthyFor)
	case "check":
		url := fs.String("url", "", "URL to GET")
		fs.Parse(args)
		client := http.Client{Timeout: 2 * time.Second}
		resp, err := client.Get(*url)
		if err != nil {
			fmt.Println(err)
			os.Exit(1)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			fmt.Println(resp.Status)
			os.Exit(1)
		}
	case "connect":
		addr := fs.String("addr", "", "TCP address")
		timeout := fs.Duration("timeout", 5*time.Second, "give up after")
		fs.Parse(args)
		deadline := time.Now().Add(*timeout)
		for {
			conn, err := net.DialTimeout("tcp", *addr, time.Second)
			if err == nil {
				fmt.Printf("connected %s -> %s\n", conn.LocalAddr(), conn.RemoteAddr())
				conn.Close()
				return
			}
			if time.Now().After(deadline) {
				fmt.Println(err)
				os.Exit(1)
			}
			time.Sleep(100 * time.Millisecond)
		}
	case "sleep":
		d := fs.Duration("d", time.Hour, "how long")
		ignoreTerm := fs.Bool("ignore-term", false, "ignore SIGTERM")
		fs.Parse(args)
		if *ignoreTerm {
			signal.Ignore(syscall.SIGTERM)
			// Said once ignored: a test sends SIGTERM only after this.
			fmt.Println("ignoring SIGTERM")
			time.Sleep(*d)
			return
		}
		sigs := make(chan os.Signal, 1)
		signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
		// Said once handled: a SIGTERM before this would find the Go
		// runtime still starting and end the program some other way.
		fmt.Println("waiting for SIGTERM")
		select {
		case <-sigs:
		case <-time.After(*d):
		}
	case "alloc":
		mib := fs.Int("mib", 64, "MiB to allocate")
		after := fs.Duration("after", 0, "wait this long first")
		fs.Parse(args)
		time.Sleep(*after)
		var chunks [][]byte
		for i := 0; i < *mib; i++ {
			chunk := make([]byte, 1<<20)
			for j := range chunk {
				chunk[j] = byte(j)
			}
			chunks = append(chunks, chunk)
		}
		fmt.Printf("allocated %d MiB\n", len(chunks))
		waitForTerm()
	case "exit":
		code := fs.Int("code", 0, "exit code")
		fs.Parse(args)
		os.Exit(*code)
	case "pid1":
		b, err := os.ReadFile("/proc/1/cmdline")
		if err != nil {
			fmt.Println(err)
			os.Exit(1)
		}
		fmt.Println(strings.TrimSpace(strings.ReplaceAll(string(b), "\x00", " ")))
	case "resolve":
		host := fs.String("name", "", "host name")
		fs.Parse(args)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		addrs, err := net.DefaultResolver.LookupHost(ctx, *host)
		if err != nil {
			fmt.Println(err)
			os.Exit(1)
		}
		fmt.Println(strings.Join(addrs, " "))
	case "cat":
		for _, name := range args {
			b, err := os.ReadFile(name)
			if err != nil {
				fmt.Println(err)
				os.Exit(1)
			}
			os.Stdout.Write(b)
		}
	case "lines":
		n := fs.Int("n", 10, "numbered lines")
		long := fs.Int("long", 0, "bytes of a long line printed first (0: none)")
		stderrEvery := fs.Int("stderr-every", 0, "print every K-th line on stderr (0: none)")
		wait := fs.Duration("wait", 0, "wait this long before printing")
		tail := fs.String("tail", "", "text printed last, without a newline")
		fs.Parse(args)
		time.Sleep(*wait)
		out, errOut := bufio.NewWriter(os.Stdout), bufio.NewWriter(os.Stderr)
		if *long > 0 {
			fmt.Fprintln(out, strings.Repeat("x", *long))
		}
		for i := 1; i <= *n; i++ {
			w := out
			if *stderrEvery > 0 && i%*stderrEvery == 0 {
				w = errOut
			}
			fmt.Fprintf(w, "line %d\n", i)
		}
		fmt.Fprint(out, *tail)
		out.Flush()
		errOut.Flush()
	case "winsize":
		// Only on request: the test sets the size before it asks.
		lines := bufio.NewScanner(os.Stdin)
		for lines.Scan() {
			ws, err := unix.IoctlGetWinsize(int(os.Stdout.Fd()), unix.TIOCGWINSZ)
			if err != nil {
				fmt.Println(err)
				os.Exit(1)
			}
			fmt.Printf("size %d %d\n", ws.Row, ws.Col)
		}
	case "echo":
		if _, err := io.Copy(os.Stdout, os.Stdin); err != nil {
			fmt.Println(err)
			os.Exit(1)
		}
		fmt.Fprintln(os.Stderr, "EOF")
	default:
		fmt.Fprintf(os.Stderr, "testbin: unknown mode %q\n", mode)
		os.Exit(2)
	}
}

// waitForTerm blocks until SIGTERM or SIGINT. As PID 1 a process only gets
// the signals it handles, so the handler is what makes it stoppable.
func waitForTerm() {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	<-sigs
}

func serve(addr string, healthyFor time.Duration) {
	started := time.Now()
	hostname, _ := os.Hostname()
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "ok %s\n", hostname)
	})
	mux.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) {
		if healthyFor > 0 && time.Since(started) > healthyFor {
			http.Error(w, "unhealthy", http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "healthy")
	})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	go func() {
		if err := http.Serve(ln, mux); err != nil && !errors.Is(err, net.ErrClosed) {
			fmt.Println(err)
			os.Exit(1)
		}
	}()
	waitForTerm()
}
