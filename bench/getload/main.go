// Command getload is a closed-loop HTTP GET load generator (Go standard
// library only). Each of -c workers sends one request at a time to -url on a
// keep-alive connection, reads the whole body, and sends the next, for -d.
// Responses other than 200 count as errors.
//
// The http.Client/Transport is configured like the Neutron anchor bench tool
// (shared/anchors/neutron-api/bench/main.go): keep-alive, MaxIdleConns and
// MaxIdleConnsPerHost = 2*c, IdleConnTimeout 60 s, Accept: application/json.
// Percentiles use the same nearest-rank method as that tool.
//
//	go run ./bench/getload -url http://127.0.0.1:9696/v2.0/ports/ID -c 8 -d 10s -json
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"sort"
	"sync"
	"time"
)

type result struct {
	URL         string         `json:"url"`
	Label       string         `json:"label,omitempty"`
	Concurrency int            `json:"concurrency"`
	DurationSec float64        `json:"duration_s"`
	WallSec     float64        `json:"wall_s"`
	Requests    int            `json:"requests"`
	Errors      int            `json:"errors"`
	Throughput  float64        `json:"req_per_s"`
	P50ms       float64        `json:"p50_ms"`
	P90ms       float64        `json:"p90_ms"`
	P99ms       float64        `json:"p99_ms"`
	Maxms       float64        `json:"max_ms"`
	Meanms      float64        `json:"mean_ms"`
	Statuses    map[string]int `json:"statuses"`
	FirstError  string         `json:"first_error,omitempty"`
	GOMAXPROCS  int            `json:"client_gomaxprocs"`
}

type worker struct {
	lat      []time.Duration
	statuses map[int]int // -1 = network error
	firstErr string
}

func main() {
	url := flag.String("url", "", "URL to GET (required)")
	conc := flag.Int("c", 8, "concurrency (parallel closed-loop clients)")
	dur := flag.Duration("d", 10*time.Second, "measured duration")
	warmup := flag.Duration("warmup", 2*time.Second, "warm-up duration before measuring (not counted)")
	timeout := flag.Duration("timeout", 120*time.Second, "per-request timeout")
	jsonOut := flag.Bool("json", false, "print the result as one JSON line on stdout (instead of text)")
	label := flag.String("label", "", "free text label included in the output")
	flag.Parse()
	if *url == "" || *conc < 1 || *dur <= 0 {
		fmt.Fprintln(os.Stderr, "getload: need -url, -c >= 1 and -d > 0")
		os.Exit(2)
	}

	client := &http.Client{Timeout: *timeout, Transport: &http.Transport{
		MaxIdleConns: *conc * 2, MaxIdleConnsPerHost: *conc * 2, IdleConnTimeout: 60 * time.Second}}

	get := func() (int, error) {
		req, err := http.NewRequest("GET", *url, nil)
		if err != nil {
			return 0, err
		}
		req.Header.Set("Accept", "application/json")
		r, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		_, err = io.Copy(io.Discard, r.Body)
		r.Body.Close()
		return r.StatusCode, err
	}

	// Fail fast if the URL does not answer at all.
	if _, err := get(); err != nil {
		fmt.Fprintf(os.Stderr, "getload: %v\n", err)
		os.Exit(1)
	}

	phase := func(d time.Duration, record bool) ([]*worker, time.Duration) {
		ws := make([]*worker, *conc)
		var wg sync.WaitGroup
		start := time.Now()
		deadline := start.Add(d)
		for i := range ws {
			w := &worker{statuses: map[int]int{}}
			if record {
				w.lat = make([]time.Duration, 0, 1<<16)
			}
			ws[i] = w
			wg.Add(1)
			go func() {
				defer wg.Done()
				for time.Now().Before(deadline) {
					t0 := time.Now()
					st, err := get()
					el := time.Since(t0)
					if !record {
						continue
					}
					w.lat = append(w.lat, el)
					if err != nil {
						w.statuses[-1]++
						if w.firstErr == "" {
							w.firstErr = err.Error()
						}
						continue
					}
					w.statuses[st]++
					if st != http.StatusOK && w.firstErr == "" {
						w.firstErr = fmt.Sprintf("HTTP %d", st)
					}
				}
			}()
		}
		wg.Wait()
		return ws, time.Since(start)
	}

	if *warmup > 0 {
		phase(*warmup, false)
	}
	ws, wall := phase(*dur, true)

	res := result{URL: *url, Label: *label, Concurrency: *conc, DurationSec: dur.Seconds(), WallSec: wall.Seconds(),
		Statuses: map[string]int{}, GOMAXPROCS: runtime.GOMAXPROCS(0)}
	var all []time.Duration
	var sum time.Duration
	for _, w := range ws {
		all = append(all, w.lat...)
		for st, k := range w.statuses {
			key := fmt.Sprint(st)
			if st == -1 {
				key = "neterr"
			}
			res.Statuses[key] += k
			if st != http.StatusOK {
				res.Errors += k
			}
		}
		if res.FirstError == "" {
			res.FirstError = w.firstErr
		}
	}
	for _, l := range all {
		sum += l
	}
	sort.Slice(all, func(a, b int) bool { return all[a] < all[b] })
	pct := func(p float64) float64 {
		if len(all) == 0 {
			return 0
		}
		idx := int(p*float64(len(all))+0.999999) - 1 // nearest rank, as in the anchor tool
		if idx < 0 {
			idx = 0
		}
		if idx >= len(all) {
			idx = len(all) - 1
		}
		return ms(all[idx])
	}
	res.Requests = len(all)
	res.P50ms, res.P90ms, res.P99ms = pct(0.50), pct(0.90), pct(0.99)
	if len(all) > 0 {
		res.Maxms = ms(all[len(all)-1])
		res.Meanms = ms(sum / time.Duration(len(all)))
	}
	res.Throughput = float64(len(all)) / wall.Seconds()

	if *jsonOut {
		b, _ := json.Marshal(res)
		fmt.Println(string(b))
	} else {
		fmt.Printf("%s c=%d %.1fs: %d requests, %d errors, %.1f req/s, p50 %.3f ms, p90 %.3f ms, p99 %.3f ms, max %.3f ms\n",
			*url, *conc, wall.Seconds(), res.Requests, res.Errors, res.Throughput, res.P50ms, res.P90ms, res.P99ms, res.Maxms)
	}
	if res.Errors > 0 {
		fmt.Fprintf(os.Stderr, "getload: %d errors; first: %s\n", res.Errors, res.FirstError)
	}
}

// ms keeps microsecond resolution (like the anchor tool, but three decimals are printed).
func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
