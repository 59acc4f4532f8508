package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// ServicesResult is one agent's service-control timings: medians over rounds, each a
// single request for 10 units, as snapd sends them around a refresh.
type ServicesResult struct {
	Label          string  `json:"label"`
	Version        string  `json:"version"`
	Rounds         int     `json:"rounds"`
	Start10Ms      float64 `json:"start-10-ms"`
	Stop10Ms       float64 `json:"stop-10-ms"`
	Status10Ms     float64 `json:"status-10-ms"`
	DaemonReloadMs float64 `json:"daemon-reload-ms"`
	StatusMissing  bool    `json:"status-missing"`
}

const benchUnits = 10

func benchUnitNames() []string {
	var names []string
	for i := 0; i < benchUnits; i++ {
		names = append(names, fmt.Sprintf("snap.bench.svc%d.service", i))
	}
	return names
}

// installBenchUnits writes 10 simple services into the user's unit directory.
func (b *bench) installBenchUnits() error {
	u, err := user.Lookup(b.user)
	if err != nil {
		return err
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	dir := filepath.Join(u.HomeDir, ".config", "systemd", "user")
	for _, d := range []string{filepath.Join(u.HomeDir, ".config"), filepath.Join(u.HomeDir, ".config", "systemd"), dir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
		if err := os.Chown(d, uid, gid); err != nil {
			return err
		}
	}
	for _, name := range benchUnitNames() {
		p := filepath.Join(dir, name)
		unit := "[Unit]\nDescription=benchmark service\n\n[Service]\nExecStart=/bin/sleep infinity\n"
		if err := os.WriteFile(p, []byte(unit), 0o644); err != nil {
			return err
		}
		if err := os.Chown(p, uid, gid); err != nil {
			return err
		}
	}
	_, err = b.systemctl("daemon-reload")
	return err
}

func (b *bench) runServices(label string, rounds int) (*ServicesResult, error) {
	res := &ServicesResult{Label: label, Rounds: rounds}
	if err := b.installBenchUnits(); err != nil {
		return nil, fmt.Errorf("cannot install the benchmark units: %w", err)
	}
	body, err := get(b.sock, "/v1/session-info")
	if err != nil {
		return nil, err
	}
	if res.Version, err = agentVersion(body); err != nil {
		return nil, err
	}
	units := benchUnitNames()

	var starts, stops, statuses, reloads []time.Duration
	for i := 0; i < rounds; i++ {
		d, err := b.control(map[string]any{"action": "start", "services": units})
		if err != nil {
			return nil, fmt.Errorf("start round %d: %w", i, err)
		}
		starts = append(starts, d)
		if err := b.expectActive(units, "active"); err != nil {
			return nil, err
		}

		d, status, err := b.timedGet("/v1/service-status?services=" + strings.Join(units, ","))
		if err != nil {
			return nil, fmt.Errorf("status round %d: %w", i, err)
		}
		if status == http.StatusNotFound {
			res.StatusMissing = true
		} else if status != http.StatusOK {
			return nil, fmt.Errorf("status round %d: HTTP %d", i, status)
		} else {
			statuses = append(statuses, d)
		}

		d, err = b.control(map[string]any{"action": "stop", "services": units})
		if err != nil {
			return nil, fmt.Errorf("stop round %d: %w", i, err)
		}
		stops = append(stops, d)
		if err := b.expectActive(units, "inactive"); err != nil {
			return nil, err
		}

		d, err = b.control(map[string]any{"action": "daemon-reload"})
		if err != nil {
			return nil, fmt.Errorf("daemon-reload round %d: %w", i, err)
		}
		reloads = append(reloads, d)
	}
	res.Start10Ms = ms(median(starts))
	res.Stop10Ms = ms(median(stops))
	res.DaemonReloadMs = ms(median(reloads))
	if len(statuses) > 0 {
		res.Status10Ms = ms(median(statuses))
	}
	return res, nil
}

// expectActive checks, through the manager and not through the agent, that the
// request did what it claimed.
func (b *bench) expectActive(units []string, want string) error {
	out, err := b.systemctl(append([]string{"show", "-p", "ActiveState", "--value"}, units...)...)
	if err != nil {
		return err
	}
	for i, st := range strings.Fields(out) {
		if st != want {
			return fmt.Errorf("%s is %s, want %s", units[i], st, want)
		}
	}
	return nil
}

func (b *bench) control(inst map[string]any) (time.Duration, error) {
	payload, err := json.Marshal(inst)
	if err != nil {
		return 0, err
	}
	c := newClient(b.sock)
	c.Timeout = 60 * time.Second
	start := time.Now()
	resp, err := c.Post("http://localhost/v1/service-control", "application/json", bytes.NewReader(payload))
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	d := time.Since(start)
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("HTTP %d: %s", resp.StatusCode, body)
	}
	return d, nil
}

func (b *bench) timedGet(path string) (time.Duration, int, error) {
	c := newClient(b.sock)
	start := time.Now()
	resp, err := c.Get("http://localhost" + path)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	return time.Since(start), resp.StatusCode, err
}

func printServicesTable(w io.Writer, baseline, candidate *ServicesResult, target map[string]float64) {
	fmt.Fprintf(w, "| 10 units, one request (median of %d) | %s (%s) | %s (%s) | ratio | target |\n",
		candidate.Rounds, baseline.Label, baseline.Version, candidate.Label, candidate.Version)
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|")
	row := func(name string, b, c float64) {
		ratio, bs := "n/a", "n/a"
		if b != 0 {
			ratio = fmt.Sprintf("%.2fx", c/b)
			bs = fmt.Sprintf("%.1f ms", b)
		}
		tg := ""
		if t, ok := target[name]; ok {
			tg = fmt.Sprintf("≤ %.2fx", t)
		}
		fmt.Fprintf(w, "| %s | %s | %.1f ms | %s | %s |\n", name, bs, c, ratio, tg)
	}
	row("start", baseline.Start10Ms, candidate.Start10Ms)
	row("stop", baseline.Stop10Ms, candidate.Stop10Ms)
	row("status", baseline.Status10Ms, candidate.Status10Ms)
	row("daemon-reload", baseline.DaemonReloadMs, candidate.DaemonReloadMs)
}

func readServicesResult(path string) (*ServicesResult, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r ServicesResult
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("cannot decode %s: %w", path, err)
	}
	return &r, nil
}
