package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"time"
)

// resolveRoutes are what the service discovery tests ask of a task:
//
//	GET /resolve?name=N[&type=SRV]  the addresses (or SRV targets and ports) N resolves to, one per line
//	GET /fetch?url=U                U's status and body, fetched from inside the task
//
// Both use the task's resolver (its /etc/resolv.conf), as any program in
// it would.
func resolveRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /resolve", func(w http.ResponseWriter, r *http.Request) {
		name := r.URL.Query().Get("name")
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		var lines []string
		if r.URL.Query().Get("type") == "SRV" {
			_, srvs, err := net.DefaultResolver.LookupSRV(ctx, "", "", name)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadGateway)
				return
			}
			for _, s := range srvs {
				lines = append(lines, fmt.Sprintf("%s %d", s.Target, s.Port))
			}
		} else {
			addrs, err := net.DefaultResolver.LookupHost(ctx, name)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadGateway)
				return
			}
			lines = addrs
		}
		slices.Sort(lines)
		for _, l := range lines {
			fmt.Fprintln(w, l)
		}
	})
	mux.HandleFunc("GET /fetch", func(w http.ResponseWriter, r *http.Request) {
		client := http.Client{Timeout: 5 * time.Second}
		resp, err := client.Get(r.URL.Query().Get("url"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		fmt.Fprintf(w, "%d %s", resp.StatusCode, body)
	})
}
