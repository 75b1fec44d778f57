package cert

import (
	"syscall"
	"testing"
	"time"

	"github.com/vigil-itm/vigil/event"
)

func TestZZCPU(t *testing.T) {
	dir := t.TempDir()
	rows := genDataset(t, dir, genOptions{rows: map[kind]int{kindLogon: 10_000, kindDevice: 4_000, kindFile: 20_000, kindEmail: 16_000, kindHTTP: 50_000}, content: 120, users: 1000, seed: 5})
	var ru0, ru1 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	const n = 8
	for range n {
		_, _ = Stream(dir, Options{}, func(*event.Event) error { return nil }, nil)
	}
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	cpu := time.Duration(ru1.Utime.Nano() + ru1.Stime.Nano() - ru0.Utime.Nano() - ru0.Stime.Nano())
	t.Logf("cpu %.0f ns/row (%.0f rows/s per core)", float64(cpu)/float64(n*rows), float64(n*rows)/cpu.Seconds())
}
