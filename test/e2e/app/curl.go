package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
)

// curl is the part of curl's command line the tests use: curl [-f] [-s] [-S]
// [-o FILE] URL. Exit codes are curl's: 0, 7 (can't connect), 22 (-f and a
// status >= 400), 2 (bad usage).
func curl(args []string) int {
	var url, out string
	fail := false
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-o" && i+1 < len(args):
			i++
			out = args[i]
		case strings.HasPrefix(a, "-") && !strings.HasPrefix(a, "--"):
			for _, f := range a[1:] {
				switch f {
				case 'f':
					fail = true
				case 's', 'S', 'L':
				default:
					fmt.Fprintf(os.Stderr, "curl: option -%c: unknown\n", f)
					return 2
				}
			}
		case strings.HasPrefix(a, "--"):
			if a == "--fail" {
				fail = true
			}
		default:
			url = a
		}
	}
	if url == "" {
		fmt.Fprintln(os.Stderr, "curl: no URL specified")
		return 2
	}
	client := http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		fmt.Fprintf(os.Stderr, "curl: (7) %v\n", err)
		return 7
	}
	defer resp.Body.Close()
	if fail && resp.StatusCode >= 400 {
		fmt.Fprintf(os.Stderr, "curl: (22) The requested URL returned error: %d\n", resp.StatusCode)
		return 22
	}
	w := io.Writer(os.Stdout)
	if out != "" {
		f, err := os.Create(out)
		if err != nil {
			fmt.Fprintf(os.Stderr, "curl: (23) %v\n", err)
			return 23
		}
		defer f.Close()
		w = f
	}
	if _, err := io.Copy(w, resp.Body); err != nil {
		fmt.Fprintf(os.Stderr, "curl: (56) %v\n", err)
		return 56
	}
	return 0
}
