package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"time"

	"github.com/snapcore-ng/usersession-agent/internal/procfs"
)

// NotifyResult is one agent's notification measurements: the latency of snapd's
// pending-refresh request with the notification server already running (dunst, on
// the session's display), and the agent's idle memory.
type NotifyResult struct {
	Label        string  `json:"label"`
	Version      string  `json:"version"`
	Posts        int     `json:"posts"`
	PostMedianMs float64 `json:"post-median-ms"`
	PostP90Ms    float64 `json:"post-p90-ms"`
	IdleRSSMiB   float64 `json:"idle-rss-mib"`
}

// pendingRefreshBody is what snapd sends; the same instance each time, so that each
// notification replaces the last, as a refresh that keeps waiting does.
const pendingRefreshBody = `{"instance-name":"bench","time-remaining":7200000000000,"busy-app-name":"bench"}`

// runNotify measures posts pending-refresh requests to each agent, each on a new
// connection as snapd's client sends them, after a few that start dunst and warm the
// agents. The agents take turns, post after post, so that a change of the machine's
// load during the run weighs on both alike. Then it measures each one's idle RSS. With
// posts 0 it measures the idle RSS only.
func runNotify(benches []*bench, labels []string, posts int) ([]*NotifyResult, error) {
	var results []*NotifyResult
	for i, b := range benches {
		res := &NotifyResult{Label: labels[i], Posts: posts}
		body, err := get(b.sock, "/v1/session-info")
		if err != nil {
			return nil, err
		}
		if res.Version, err = agentVersion(body); err != nil {
			return nil, err
		}
		results = append(results, res)
	}
	if posts > 0 {
		lat := make([][]time.Duration, len(benches))
		for n := -5; n < posts; n++ {
			for i, b := range benches {
				start := time.Now()
				if err := postPendingRefresh(b.sock); err != nil {
					return nil, fmt.Errorf("%s: post %d: %w", labels[i], n, err)
				}
				if n >= 0 {
					lat[i] = append(lat[i], time.Since(start))
				}
			}
		}
		for i, l := range lat {
			sort.Slice(l, func(a, b int) bool { return l[a] < l[b] })
			results[i].PostMedianMs = ms(l[len(l)/2])
			results[i].PostP90Ms = ms(l[len(l)*9/10])
		}
	}
	for i, b := range benches {
		mem, err := b.idleMemory()
		if err != nil {
			return nil, err
		}
		results[i].IdleRSSMiB = mem.rss
	}
	return results, nil
}

func postPendingRefresh(sock string) error {
	resp, err := newClient(sock).Post("http://localhost/v1/notifications/pending-refresh", "application/json",
		bytes.NewReader([]byte(pendingRefreshBody)))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP status %d: %s", resp.StatusCode, data)
	}
	return nil
}

// idleMem is an idle agent's memory, in MiB.
type idleMem struct {
	// rss is VmRSS: everything mapped, the pages of the binary included, which
	// every agent running the same binary shares through the page cache.
	rss float64
	// anon is RssAnon: the memory that is the agent's alone (heap, stacks, the
	// runtime's own), what each more agent costs.
	anon float64
}

// idleMemory measures a fresh agent that served a few requests, then sat idle for
// two seconds (its bus connection, which it sets up off the first request's path, is
// then up).
func (b *bench) idleMemory() (idleMem, error) {
	if err := b.stopAgent(); err != nil {
		return idleMem{}, err
	}
	for i := 0; i < 10; i++ {
		if _, err := get(b.sock, "/v1/session-info"); err != nil {
			return idleMem{}, err
		}
	}
	time.Sleep(2 * time.Second)
	pid, err := b.agentPID()
	if err != nil {
		return idleMem{}, err
	}
	var mem idleMem
	for _, f := range []struct {
		name string
		to   *float64
	}{{"VmRSS", &mem.rss}, {"RssAnon", &mem.anon}} {
		kib, err := procfs.StatusField(pid, f.name)
		if err != nil {
			return idleMem{}, err
		}
		*f.to = float64(kib) / 1024
	}
	return mem, nil
}

// readNotifyResults reads the results runNotify printed into path.
func readNotifyResults(path string) ([]*NotifyResult, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var rs []*NotifyResult
	if err := json.Unmarshal(data, &rs); err != nil {
		return nil, fmt.Errorf("cannot decode %s: %w", path, err)
	}
	return rs, nil
}

// printNotifyTables writes the post latency of the candidate against snapd's agent,
// and the candidate's idle RSS with the bus against without it and against the build
// before notifications (each with the bus).
func printNotifyTables(w io.Writer, snapd, cand, noBus, before *NotifyResult) {
	ratio := func(c, b float64) string { return fmt.Sprintf("%.2fx", c/b) }
	fmt.Fprintf(w, "| pending-refresh, warm dunst (%d posts) | %s (%s) | %s (%s) | ratio | target |\n",
		cand.Posts, snapd.Label, snapd.Version, cand.Label, cand.Version)
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|")
	fmt.Fprintf(w, "| median, ms | %.2f | %.2f | %s | ≤ 0.50x |\n", snapd.PostMedianMs, cand.PostMedianMs, ratio(cand.PostMedianMs, snapd.PostMedianMs))
	fmt.Fprintf(w, "| 90th percentile, ms | %.2f | %.2f | %s | |\n", snapd.PostP90Ms, cand.PostP90Ms, ratio(cand.PostP90Ms, snapd.PostP90Ms))
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| idle RSS, MiB | value | this agent with the bus / it | target |")
	fmt.Fprintln(w, "|---|---:|---:|---:|")
	fmt.Fprintf(w, "| this agent (%s), bus connected | %.1f | | |\n", cand.Version, cand.IdleRSSMiB)
	fmt.Fprintf(w, "| this agent (%s), no bus | %.1f | %s | |\n", noBus.Version, noBus.IdleRSSMiB, ratio(cand.IdleRSSMiB, noBus.IdleRSSMiB))
	fmt.Fprintf(w, "| before notifications (%s), bus connected | %.1f | %s | ≤ 1.10x |\n", before.Version, before.IdleRSSMiB, ratio(cand.IdleRSSMiB, before.IdleRSSMiB))
	fmt.Fprintf(w, "| %s (%s), bus connected | %.1f | %s | |\n", snapd.Label, snapd.Version, snapd.IdleRSSMiB, ratio(cand.IdleRSSMiB, snapd.IdleRSSMiB))
}
