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
// single request for 10 units, as snapd sends them around a refresh. Floor, when
// measured, is the same jobs issued directly on the manager in the same rounds.
type ServicesResult struct {
	Label          string          `json:"label"`
	Version        string          `json:"version"`
	Rounds         int             `json:"rounds"`
	Start10Ms      float64         `json:"start-10-ms"`
	Stop10Ms       float64         `json:"stop-10-ms"`
	Restart10Ms    float64         `json:"restart-10-ms"`
	RestartMissing bool            `json:"restart-missing"`
	Status10Ms     float64         `json:"status-10-ms"`
	DaemonReloadMs float64         `json:"daemon-reload-ms"`
	StatusMissing  bool            `json:"status-missing"`
	Floor          *ServicesResult `json:"floor,omitempty"`
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

// serviceOps is one way of carrying out the measured instructions on 10 units: through
// an agent's endpoints, or directly on the manager (the floor). Each returns how long
// the instruction took; status and restart return 0 with no error when the agent does
// not support them.
type serviceOps interface {
	start(units []string) (time.Duration, error)
	stop(units []string) (time.Duration, error)
	restart(units []string) (time.Duration, error)
	status(units []string) (time.Duration, error)
	daemonReload() (time.Duration, error)
}

// serviceTimings collects one serviceOps' timings over the rounds.
type serviceTimings struct {
	ops                                        serviceOps
	res                                        *ServicesResult
	starts, stops, restarts, statuses, reloads []time.Duration
}

// runServices measures the agent's service control over rounds. With floor, the same
// jobs are also issued directly on the user's manager in every round, the agent and
// the floor taking turns at going first, so that a change of load on this machine hits
// both alike.
func (b *bench) runServices(label string, rounds int, floor bool) (*ServicesResult, error) {
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
	all := []*serviceTimings{{ops: &agentOps{sock: b.sock}, res: res}}
	if floor {
		m, err := b.connectManager()
		if err != nil {
			return nil, err
		}
		defer m.Close()
		res.Floor = &ServicesResult{Label: "manager, direct", Version: "systemd " + b.managerVersion(), Rounds: rounds}
		all = append(all, &serviceTimings{ops: &floorOps{m: m}, res: res.Floor})
	}
	units := benchUnitNames()
	for i := 0; i < rounds; i++ {
		for k := range all {
			t := all[(i+k)%len(all)]
			if err := b.serviceRound(t, units); err != nil {
				return nil, fmt.Errorf("%s, round %d: %w", t.res.Label, i, err)
			}
		}
	}
	for _, t := range all {
		t.res.Start10Ms = ms(median(t.starts))
		t.res.Stop10Ms = ms(median(t.stops))
		t.res.DaemonReloadMs = ms(median(t.reloads))
		if len(t.restarts) > 0 {
			t.res.Restart10Ms = ms(median(t.restarts))
		} else {
			t.res.RestartMissing = true
		}
		if len(t.statuses) > 0 {
			t.res.Status10Ms = ms(median(t.statuses))
		} else {
			t.res.StatusMissing = true
		}
	}
	return res, nil
}

// serviceRound takes one round of timings: start, status, restart, stop and
// daemon-reload of the units, each checked through systemctl afterwards.
func (b *bench) serviceRound(t *serviceTimings, units []string) error {
	d, err := t.ops.start(units)
	if err != nil {
		return fmt.Errorf("start: %w", err)
	}
	t.starts = append(t.starts, d)
	if err := b.expectActive(units, "active"); err != nil {
		return err
	}

	d, err = t.ops.status(units)
	if err != nil {
		return fmt.Errorf("status: %w", err)
	}
	if d != 0 {
		t.statuses = append(t.statuses, d)
	}

	pids, err := b.mainPIDs(units)
	if err != nil {
		return err
	}
	d, err = t.ops.restart(units)
	if err != nil {
		return fmt.Errorf("restart: %w", err)
	}
	if d != 0 {
		t.restarts = append(t.restarts, d)
		if err := b.expectRestarted(units, pids); err != nil {
			return err
		}
	}

	d, err = t.ops.stop(units)
	if err != nil {
		return fmt.Errorf("stop: %w", err)
	}
	t.stops = append(t.stops, d)
	if err := b.expectActive(units, "inactive"); err != nil {
		return err
	}

	d, err = t.ops.daemonReload()
	if err != nil {
		return fmt.Errorf("daemon-reload: %w", err)
	}
	t.reloads = append(t.reloads, d)
	return nil
}

// expectRestarted checks through systemctl that the units are active again, each
// with a main process other than the one it had before (pids).
func (b *bench) expectRestarted(units, pids []string) error {
	if err := b.expectActive(units, "active"); err != nil {
		return err
	}
	after, err := b.mainPIDs(units)
	if err != nil {
		return err
	}
	for i := range units {
		if pids[i] == after[i] {
			return fmt.Errorf("restart: %s still runs as pid %s", units[i], pids[i])
		}
	}
	return nil
}

// mainPIDs reads the units' main processes through systemctl.
func (b *bench) mainPIDs(units []string) ([]string, error) {
	out, err := b.systemctl(append([]string{"show", "-p", "MainPID", "--value"}, units...)...)
	if err != nil {
		return nil, err
	}
	pids := strings.Fields(out)
	if len(pids) != len(units) {
		return nil, fmt.Errorf("systemctl show gave %d main PIDs for %d units: %q", len(pids), len(units), out)
	}
	return pids, nil
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

// agentOps carries out the instructions through an agent's endpoints, one request each.
type agentOps struct{ sock string }

func (a *agentOps) start(units []string) (time.Duration, error) {
	return a.control(map[string]any{"action": "start", "services": units})
}

func (a *agentOps) stop(units []string) (time.Duration, error) {
	return a.control(map[string]any{"action": "stop", "services": units})
}

// restart asks for action "restart"; snapd 2.57.6 knows no restart action at all
// (neither "restart" nor "reload-or-restart"), which is not an error.
func (a *agentOps) restart(units []string) (time.Duration, error) {
	d, err := a.control(map[string]any{"action": "restart", "services": units})
	if err != nil && strings.Contains(err.Error(), "HTTP 400") && strings.Contains(err.Error(), "unknown action restart") {
		return 0, nil
	}
	return d, err
}

func (a *agentOps) daemonReload() (time.Duration, error) {
	return a.control(map[string]any{"action": "daemon-reload"})
}

// status asks service-status; snapd 2.57.6 has no such endpoint (404), which is not an
// error.
func (a *agentOps) status(units []string) (time.Duration, error) {
	c := newClient(a.sock)
	start := time.Now()
	resp, err := c.Get("http://localhost/v1/service-status?services=" + strings.Join(units, ","))
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	d := time.Since(start)
	switch {
	case err != nil:
		return 0, err
	case resp.StatusCode == http.StatusNotFound:
		return 0, nil
	case resp.StatusCode != http.StatusOK:
		return 0, fmt.Errorf("HTTP %d: %s", resp.StatusCode, body)
	}
	return d, nil
}

func (a *agentOps) control(inst map[string]any) (time.Duration, error) {
	payload, err := json.Marshal(inst)
	if err != nil {
		return 0, err
	}
	c := newClient(a.sock)
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
	row("restart", baseline.Restart10Ms, candidate.Restart10Ms)
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
