// Command floor is the "HTTP floor" for the API benchmark: a bare net/http
// server that answers every request with the same canned JSON bytes
// (status 200, Content-Type application/json, and the body from -body).
//
// scripts/bench-api.sh fetches the body of GET /v2.0/ports/{id} from a running
// Bulwark and serves it here, so that the load generator can measure how fast
// plain net/http can return that response on the same machine. Bulwark's GET
// throughput is then compared against this floor.
//
//	go run ./bench/floor -listen 127.0.0.1:9800 -body port.json
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"strconv"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "listen address (loopback)")
	bodyFile := flag.String("body", "", "file with the response body to serve (required)")
	ctype := flag.String("content-type", "application/json", "Content-Type of the response")
	addrFile := flag.String("addr-file", "", "write the actual listen address (host:port) to this file once listening")
	flag.Parse()
	if *bodyFile == "" {
		fmt.Fprintln(os.Stderr, "floor: -body is required")
		os.Exit(2)
	}
	body, err := os.ReadFile(*bodyFile)
	if err != nil {
		log.Fatalf("floor: %v", err)
	}
	clen := strconv.Itoa(len(body))

	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hdr := w.Header()
		hdr["Content-Type"] = []string{*ctype}
		hdr["Content-Length"] = []string{clen}
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(body)
	})

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatalf("floor: listen: %v", err)
	}
	addr := ln.Addr().String()
	if *addrFile != "" {
		if err := os.WriteFile(*addrFile, []byte(addr+"\n"), 0o644); err != nil {
			log.Fatalf("floor: %v", err)
		}
	}
	fmt.Fprintf(os.Stderr, "floor: serving %d bytes on http://%s\n", len(body), addr)
	log.Fatal(http.Serve(ln, h))
}
