// Command agentbench measures a session agent running in a real user session: cold
// start through socket activation, warm request rates, CPU per request, idle memory and
// threads under 1000 idle connections. It runs as root against a session brought up by
// tests/lib/user-session, so this project's agent and snapd's are measured by the same
// code in the same run (see bench/run.sh).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/snapcore-ng/usersession-agent/internal/procfs"
)

// Result is one agent's measurements, printed as JSON for bench/run.sh.
type Result struct {
	Label          string  `json:"label"`
	Version        string  `json:"version"`
	ColdStartMs    float64 `json:"cold-start-ms"`
	WarmSeqRPS     float64 `json:"warm-seq-rps"`
	Warm8RPS       float64 `json:"warm-8-rps"`
	CPUPerReqUs    float64 `json:"cpu-per-request-us"`
	IdleRSSMiB     float64 `json:"idle-rss-mib"`
	IdleAnonMiB    float64 `json:"idle-anon-mib"`
	Threads1000    int     `json:"threads-1000-idle"`
	ColdStartRuns  int     `json:"cold-start-runs"`
	WarmRequests   int     `json:"warm-requests"`
	ServedWith1000 bool    `json:"served-with-1000-idle"`
}

type bench struct {
	user     string
	script   string
	sock     string
	coldRuns int
	warmFor  time.Duration
}

func main() {
	var (
		b     bench
		label string
	)
	flag.StringVar(&b.user, "user", "", "user whose session agent to measure")
	flag.StringVar(&label, "label", "", "name of the agent in the results")
	flag.StringVar(&b.script, "session-script", "tests/lib/user-session", "the user-session harness")
	flag.IntVar(&b.coldRuns, "cold-runs", 30, "cold starts to take the median of")
	flag.DurationVar(&b.warmFor, "warm-for", 3*time.Second, "how long each warm run lasts")
	services := flag.Int("services", 0, "measure service control instead, over this many rounds")
	floor := flag.Bool("floor", false, "with -services, measure the same jobs issued directly on the manager in the same rounds")
	floorTable := flag.Bool("floor-table", false, "print a markdown table of a service result file measured with -floor: the agent against the manager's floor")
	notify := flag.Int("notify", -1, "measure notifications instead: this many pending-refresh posts (0: idle RSS only)")
	andUser := flag.String("and-user", "", "with -notify, a second user whose agent takes turns with the first")
	andLabel := flag.String("and-label", "", "name of the second agent in the results")
	notifyTable := flag.Bool("notify-table", false, "print markdown tables of three notification result files: snapd and this agent, this agent without a bus, the build before notifications")
	servicesTable := flag.Bool("services-table", false, "print a markdown table of two service result files (baseline first)")
	table := flag.Bool("table", false, "print a markdown table of the result files given as arguments: [floor] baseline candidate")
	flag.Parse()
	if *table {
		if flag.NArg() != 2 && flag.NArg() != 3 {
			fail(fmt.Errorf("-table needs two or three result files"))
		}
		var rs []*Result
		for _, p := range flag.Args() {
			r, err := readResult(p)
			if err != nil {
				fail(err)
			}
			rs = append(rs, r)
		}
		if len(rs) == 2 {
			rs = append([]*Result{nil}, rs...)
		}
		printTable(os.Stdout, rs[0], rs[1], rs[2])
		return
	}
	if *servicesTable {
		if flag.NArg() != 2 {
			fail(fmt.Errorf("-services-table needs two result files"))
		}
		base, err := readServicesResult(flag.Arg(0))
		if err != nil {
			fail(err)
		}
		cand, err := readServicesResult(flag.Arg(1))
		if err != nil {
			fail(err)
		}
		printServicesTable(os.Stdout, base, cand, map[string]float64{"start": 0.3, "stop": 0.25, "status": 0.1, "daemon-reload": 0.7})
		return
	}
	if *floorTable {
		if flag.NArg() != 1 {
			fail(fmt.Errorf("-floor-table needs one result file"))
		}
		r, err := readServicesResult(flag.Arg(0))
		if err != nil {
			fail(err)
		}
		if err := printFloorTable(os.Stdout, r); err != nil {
			fail(err)
		}
		return
	}
	if *notifyTable {
		if flag.NArg() != 3 {
			fail(fmt.Errorf("-notify-table needs three result files"))
		}
		var rs []*NotifyResult
		for i, p := range flag.Args() {
			r, err := readNotifyResults(p)
			if err != nil {
				fail(err)
			}
			if want := map[bool]int{true: 2, false: 1}[i == 0]; len(r) != want {
				fail(fmt.Errorf("%s: %d results, want %d", p, len(r), want))
			}
			rs = append(rs, r...)
		}
		printNotifyTables(os.Stdout, rs[0], rs[1], rs[2], rs[3])
		return
	}
	if b.user == "" {
		fmt.Fprintln(os.Stderr, "agentbench: -user is required")
		os.Exit(2)
	}
	u, err := user.Lookup(b.user)
	if err != nil {
		fail(err)
	}
	b.sock = filepath.Join("/run/user", u.Uid, "snapd-session-agent.socket")
	var res any
	switch {
	case *services > 0:
		res, err = b.runServices(label, *services, *floor)
	case *notify >= 0:
		benches, labels := []*bench{&b}, []string{label}
		if *andUser != "" {
			u, err := user.Lookup(*andUser)
			if err != nil {
				fail(err)
			}
			other := b
			other.user, other.sock = *andUser, filepath.Join("/run/user", u.Uid, "snapd-session-agent.socket")
			benches, labels = append(benches, &other), append(labels, *andLabel)
		}
		res, err = runNotify(benches, labels, *notify)
	default:
		res, err = b.run(label)
	}
	if err != nil {
		fail(err)
	}
	if err := json.NewEncoder(os.Stdout).Encode(res); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "agentbench: %v\n", err)
	os.Exit(1)
}

func (b *bench) run(label string) (*Result, error) {
	res := &Result{Label: label}
	var err error

	// Cold start: the agent is stopped, the socket unit listens; time from connect to
	// the full answer.
	var colds []time.Duration
	for i := 0; i < b.coldRuns; i++ {
		if err := b.stopAgent(); err != nil {
			return nil, err
		}
		start := time.Now()
		body, err := get(b.sock, "/v1/session-info")
		if err != nil {
			return nil, fmt.Errorf("cold request %d: %w", i, err)
		}
		colds = append(colds, time.Since(start))
		if i == 0 {
			if res.Version, err = agentVersion(body); err != nil {
				return nil, err
			}
		}
	}
	res.ColdStartMs = ms(median(colds))
	res.ColdStartRuns = len(colds)

	// Warm: the agent runs; one new connection per request, as snapd's client does.
	pid, err := b.agentPID()
	if err != nil {
		return nil, err
	}
	cpu0, err := cpuTicks(pid)
	if err != nil {
		return nil, err
	}
	n1, rps1, err := warm(b.sock, 1, b.warmFor)
	if err != nil {
		return nil, err
	}
	n8, rps8, err := warm(b.sock, 8, b.warmFor)
	if err != nil {
		return nil, err
	}
	cpu1, err := cpuTicks(pid)
	if err != nil {
		return nil, err
	}
	if p, _ := b.agentPID(); p != pid {
		return nil, fmt.Errorf("the agent restarted during the warm runs (%d, then %d)", pid, p)
	}
	res.WarmSeqRPS, res.Warm8RPS = rps1, rps8
	res.WarmRequests = n1 + n8
	res.CPUPerReqUs = float64(cpu1-cpu0) * 1e6 / float64(clockTicks) / float64(n1+n8)

	// Idle memory: a fresh agent that served a few requests, then sat idle.
	mem, err := b.idleMemory()
	if err != nil {
		return nil, err
	}
	res.IdleRSSMiB, res.IdleAnonMiB = mem.rss, mem.anon
	if pid, err = b.agentPID(); err != nil {
		return nil, err
	}

	// Threads while 1000 connections sit idle, and whether others are still served.
	conns := make([]net.Conn, 0, 1000)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := 0; i < 1000; i++ {
		c, err := net.Dial("unix", b.sock)
		if err != nil {
			return nil, fmt.Errorf("idle connection %d: %w", i, err)
		}
		conns = append(conns, c)
	}
	time.Sleep(time.Second)
	if res.Threads1000, err = procfs.StatusField(pid, "Threads"); err != nil {
		return nil, err
	}
	_, err = get(b.sock, "/v1/session-info")
	res.ServedWith1000 = err == nil
	return res, nil
}

var clockTicks = 100 // USER_HZ on Linux

func (b *bench) systemctl(args ...string) (string, error) {
	out, err := exec.Command(b.script, append([]string{"systemctl", b.user}, args...)...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("systemctl --user %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out)), nil
}

func (b *bench) agentPID() (int, error) {
	out, err := b.systemctl("show", "-p", "MainPID", "--value", "snapd.session-agent.service")
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(out)
}

func (b *bench) stopAgent() error {
	if _, err := b.systemctl("stop", "snapd.session-agent.service"); err != nil {
		return err
	}
	// snapd's units keep systemd's default start limit (5 starts in 10 s), which a
	// series of cold starts would hit; resetting it costs nothing measured.
	if _, err := b.systemctl("reset-failed", "snapd.session-agent.service"); err != nil {
		return err
	}
	// Let the manager settle so that the next start is not measured against its
	// clean-up of the last one.
	time.Sleep(50 * time.Millisecond)
	return nil
}

func newClient(sock string) *http.Client {
	return &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			DisableKeepAlives: true,
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, "unix", sock)
			},
		},
	}
}

func get(sock, path string) ([]byte, error) {
	return getWith(newClient(sock), path)
}

func getWith(c *http.Client, path string) ([]byte, error) {
	resp, err := c.Get("http://localhost" + path)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("status %d: %s", resp.StatusCode, body)
	}
	return body, nil
}

// warm sends requests from `workers` goroutines for d and returns the count and rate.
func warm(sock string, workers int, d time.Duration) (int, float64, error) {
	c := newClient(sock)
	var (
		n       atomic.Int64
		wg      sync.WaitGroup
		errOnce sync.Once
		first   error
	)
	start := time.Now()
	deadline := start.Add(d)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				if _, err := getWith(c, "/v1/session-info"); err != nil {
					errOnce.Do(func() { first = err })
					return
				}
				n.Add(1)
			}
		}()
	}
	wg.Wait()
	if first != nil {
		return 0, 0, first
	}
	elapsed := time.Since(start)
	return int(n.Load()), float64(n.Load()) / elapsed.Seconds(), nil
}

func cpuTicks(pid int) (int64, error) {
	st, err := procfs.ReadStat(pid)
	if err != nil {
		return 0, err
	}
	return int64(st.UTime + st.STime), nil
}

func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// agentVersion is the version an agent gives in its session-info answer body.
func agentVersion(body []byte) (string, error) {
	var env struct {
		Result struct {
			Version string `json:"version"`
		} `json:"result"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return "", fmt.Errorf("cannot decode the session-info answer %q: %w", body, err)
	}
	return env.Result.Version, nil
}
