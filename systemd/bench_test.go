package systemd_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/snapcore-ng/usersession-agent/systemd"
	"github.com/snapcore-ng/usersession-agent/testkit/usersessiontest"
)

// benchSession starts a real user manager with ten simple units snap.bench.svcN.service
// running `sleep infinity`.
func benchSession(b *testing.B) (*systemd.Manager, []string) {
	b.Helper()
	s := usersessiontest.Start(b, usersessiontest.Options{})
	var units []string
	for i := range 10 {
		name := fmt.Sprintf("snap.bench.svc%d.service", i)
		s.WriteUserUnit(name, "[Service]\nExecStart=/bin/sleep infinity\n")
		units = append(units, name)
	}
	return s.Manager(), units
}

func each(b *testing.B, units []string, f func(context.Context, string) error) {
	for _, u := range units {
		if err := f(context.Background(), u); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStart10 starts ten units one after the other, each job followed to its end.
func BenchmarkStart10(b *testing.B) {
	m, units := benchSession(b)
	for b.Loop() {
		each(b, units, m.Start)
		b.StopTimer()
		each(b, units, m.Stop)
		b.StartTimer()
	}
}

// BenchmarkStop10 stops ten running units one after the other.
func BenchmarkStop10(b *testing.B) {
	m, units := benchSession(b)
	for b.Loop() {
		b.StopTimer()
		each(b, units, m.Start)
		b.StartTimer()
		each(b, units, m.Stop)
	}
}

// BenchmarkStatus10 reads the status of ten running units.
func BenchmarkStatus10(b *testing.B) {
	m, units := benchSession(b)
	each(b, units, m.Start)
	for b.Loop() {
		if _, err := m.Status(context.Background(), units); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDaemonReload reloads a manager with ten running units.
func BenchmarkDaemonReload(b *testing.B) {
	m, units := benchSession(b)
	each(b, units, m.Start)
	for b.Loop() {
		if err := m.Reload(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}
