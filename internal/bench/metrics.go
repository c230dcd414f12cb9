package bench

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// rssMetric and cpuMetric are the Prometheus process collector's resident
// set size and CPU time (user and system), which roomcast's /metrics
// serves (and so does the Socket.IO harness's server).
const (
	rssMetric = "process_resident_memory_bytes"
	cpuMetric = "process_cpu_seconds_total"
)

// scrapeRSS reads the server's resident memory from http://addr/metrics.
func scrapeRSS(ctx context.Context, addr string) (int64, error) {
	v, err := scrapeMetric(ctx, addr, rssMetric)
	return int64(v), err
}

// scrapeCPU reads the CPU seconds the server has used so far.
func scrapeCPU(ctx context.Context, addr string) (float64, error) {
	return scrapeMetric(ctx, addr, cpuMetric)
}

// scrapeMetric reads one unlabelled sample from http://addr/metrics.
func scrapeMetric(ctx context.Context, addr, name string) (float64, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET %s: %s", req.URL, resp.Status)
	}
	return parseMetric(bufio.NewScanner(resp.Body), name, req.URL.String())
}

// parseMetric finds a sample in Prometheus' text format: the metric name,
// optional labels, the value, an optional timestamp.
func parseMetric(sc *bufio.Scanner, name, from string) (float64, error) {
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		rest, ok := strings.CutPrefix(line, name)
		if !ok || rest == "" || (rest[0] != ' ' && rest[0] != '{') {
			continue
		}
		if i := strings.LastIndexByte(rest, '}'); i >= 0 {
			rest = rest[i+1:]
		}
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			continue
		}
		v, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			return 0, fmt.Errorf("%s: bad %s value %q", from, name, fields[0])
		}
		return v, nil
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("%s has no %s", from, name)
}
