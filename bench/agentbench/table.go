package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
)

// printTable writes a markdown table of the candidate against the baseline, with the
// ratio candidate/baseline for each measure and whether lower or higher is better.
// With a floor (a minimal responder measured in the same run, bench/floor), it also
// gives the floor's figures, the ratio candidate/floor and the target of issue 12 for
// that ratio.
func printTable(w io.Writer, floor, baseline, candidate *Result) {
	type measure struct {
		name, format, better string
		get                  func(*Result) float64
		floorTarget          string
	}
	measures := []measure{
		{fmt.Sprintf("cold start, connect to full answer (median of %d), ms", candidate.ColdStartRuns), "%.1f", "lower",
			func(r *Result) float64 { return r.ColdStartMs }, "≤ 1.10x"},
		{"warm requests/s, sequential, new connection each", "%.0f", "higher",
			func(r *Result) float64 { return r.WarmSeqRPS }, "≥ 1.00x"},
		{"warm requests/s, 8 concurrent, new connection each", "%.0f", "higher",
			func(r *Result) float64 { return r.Warm8RPS }, "≥ 1.00x"},
		{"agent CPU per request, µs", "%.1f", "lower",
			func(r *Result) float64 { return r.CPUPerReqUs }, ""},
		{"idle RSS, MiB", "%.1f", "lower",
			func(r *Result) float64 { return r.IdleRSSMiB }, "≤ 1.30x"},
		{"idle anonymous memory (the agent's alone), MiB", "%.1f", "lower",
			func(r *Result) float64 { return r.IdleAnonMiB }, ""},
		{"threads with 1000 idle connections", "%.0f", "lower",
			func(r *Result) float64 { return float64(r.Threads1000) }, ""},
	}
	ratio := func(c, b float64) string {
		if b == 0 {
			return "n/a"
		}
		return fmt.Sprintf("%.2fx", c/b)
	}
	if floor == nil {
		fmt.Fprintf(w, "| measure | %s (%s) | %s (%s) | ratio | better |\n", baseline.Label, baseline.Version, candidate.Label, candidate.Version)
		fmt.Fprintln(w, "|---|---:|---:|---:|---|")
		for _, m := range measures {
			b, c := m.get(baseline), m.get(candidate)
			fmt.Fprintf(w, "| %s | "+m.format+" | "+m.format+" | %s | %s |\n", m.name, b, c, ratio(c, b), m.better)
		}
	} else {
		fmt.Fprintf(w, "| measure | %s | %s (%s) | %s (%s) | %s / %s | target | %s / %s | better |\n",
			floor.Label, baseline.Label, baseline.Version, candidate.Label, candidate.Version,
			candidate.Label, floor.Label, candidate.Label, baseline.Label)
		fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---|")
		for _, m := range measures {
			f, b, c := m.get(floor), m.get(baseline), m.get(candidate)
			fmt.Fprintf(w, "| %s | "+m.format+" | "+m.format+" | "+m.format+" | %s | %s | %s | %s |\n",
				m.name, f, b, c, ratio(c, f), m.floorTarget, ratio(c, b), m.better)
		}
	}
	fmt.Fprintf(w, "\nServed a request while 1000 connections were idle: %s %v, %s %v",
		baseline.Label, baseline.ServedWith1000, candidate.Label, candidate.ServedWith1000)
	if floor != nil {
		fmt.Fprintf(w, ", %s %v", floor.Label, floor.ServedWith1000)
	}
	fmt.Fprintln(w, ".")
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
