package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
)

// printTable writes a markdown table of the candidate against the baseline, with the
// ratio candidate/baseline for each measure and whether lower or higher is better.
func printTable(w io.Writer, baseline, candidate *Result) {
	fmt.Fprintf(w, "| measure | %s (%s) | %s (%s) | ratio | better |\n", baseline.Label, baseline.Version, candidate.Label, candidate.Version)
	fmt.Fprintln(w, "|---|---:|---:|---:|---|")
	row := func(name string, b, c float64, format, better string) {
		ratio := "n/a"
		if b != 0 {
			ratio = fmt.Sprintf("%.2fx", c/b)
		}
		fmt.Fprintf(w, "| %s | "+format+" | "+format+" | %s | %s |\n", name, b, c, ratio, better)
	}
	row(fmt.Sprintf("cold start, connect to full answer (median of %d), ms", candidate.ColdStartRuns), baseline.ColdStartMs, candidate.ColdStartMs, "%.1f", "lower")
	row("warm requests/s, sequential, new connection each", baseline.WarmSeqRPS, candidate.WarmSeqRPS, "%.0f", "higher")
	row("warm requests/s, 8 concurrent, new connection each", baseline.Warm8RPS, candidate.Warm8RPS, "%.0f", "higher")
	row("agent CPU per request, µs", baseline.CPUPerReqUs, candidate.CPUPerReqUs, "%.1f", "lower")
	row("idle RSS, MiB", baseline.IdleRSSMiB, candidate.IdleRSSMiB, "%.1f", "lower")
	row("threads with 1000 idle connections", float64(baseline.Threads1000), float64(candidate.Threads1000), "%.0f", "lower")
	fmt.Fprintf(w, "\nServed a request while 1000 connections were idle: %s %v, %s %v.\n",
		baseline.Label, baseline.ServedWith1000, candidate.Label, candidate.ServedWith1000)
}

func readResult(path string) (*Result, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Result
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("cannot decode %s: %w", path, err)
	}
	return &r, nil
}
