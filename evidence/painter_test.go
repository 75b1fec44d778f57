package evidence

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-itm/vigil/internal/procstat"
)

// The benchmarks of buffering measure the CPU of the process that records
// the screen. What changes the screen (the synthetic desktop drawn and
// sent to the X server every second) is another program's work on a real
// desktop, so it runs in a child process of its own: the test binary
// started again with painterEnv set to the activity, which TestMain hands
// to runPainter. VIGIL_BENCH_PAINTER=inprocess paints from a goroutine of
// the benchmark's process instead, as the benchmarks did before, for
// comparisons with figures measured that way.

// painterEnv names the screen activity a painter child process shows.
const painterEnv = "VIGIL_EVIDENCE_PAINTER"

// painter changes the screen every second while a benchmark measures.
type painter struct {
	stop func()
	// cpu returns the painter's CPU time so far, or 0 when it is not a
	// process of its own.
	cpu func() time.Duration
}

// startPainter shows the synthetic desktop on $DISPLAY and starts
// changing it every second as activity says; it returns once the first
// full desktop is on the screen.
func startPainter(b *testing.B, activity string) painter {
	b.Helper()
	if os.Getenv("VIGIL_BENCH_PAINTER") == "inprocess" {
		x := newXScreen(b)
		d := newDesktop(int(x.scr.WidthInPixels), int(x.scr.HeightInPixels))
		x.paint(b, d.img, d.img.Bounds())
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		wg.Go(func() { _ = paintLoop(ctx, x, d, activity) })
		return painter{stop: func() { cancel(); wg.Wait() }, cpu: func() time.Duration { return 0 }}
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$", "-test.bench=^$")
	cmd.Env = append(os.Environ(), painterEnv+"="+activity)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	require.NoError(b, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(b, err)
	require.NoError(b, cmd.Start())
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "ready" {
		_ = cmd.Wait()
		b.Fatalf("painter did not start (%q, %v): %s", line, err, stderr.String())
	}
	pid := cmd.Process.Pid
	return painter{
		stop: func() {
			_ = stdin.Close()
			if err := cmd.Wait(); err != nil {
				b.Errorf("painter: %v: %s", err, stderr.String())
			}
		},
		cpu: func() time.Duration {
			d, _ := procstat.ProcessCPU(pid)
			return d
		},
	}
}

// runPainter is the painter child process: it maps a window over the
// screen of $DISPLAY, draws the desktop, says "ready" on out, and changes
// the screen every second until in is closed. It returns the exit code.
func runPainter(activity string, in io.Reader, out io.Writer) int {
	x, err := openXScreen()
	if err != nil {
		fmt.Fprintln(os.Stderr, "painter:", err)
		return 1
	}
	defer x.c.Close()
	d := newDesktop(int(x.scr.WidthInPixels), int(x.scr.HeightInPixels))
	if err := x.put(d.img, d.img.Bounds()); err != nil {
		fmt.Fprintln(os.Stderr, "painter:", err)
		return 1
	}
	fmt.Fprintln(out, "ready")
	ctx, cancel := context.WithCancel(context.Background())
	go func() { _, _ = io.Copy(io.Discard, in); cancel() }()
	if err := paintLoop(ctx, x, d, activity); err != nil {
		fmt.Fprintln(os.Stderr, "painter:", err)
		return 1
	}
	return 0
}

// paintLoop applies activity to the desktop every second and paints what
// changed, until ctx is done.
func paintLoop(ctx context.Context, x *xscreen, d *desktop, activity string) error {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for s := 1; ; s++ {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if r := d.change(activity, s); !r.Empty() {
			if err := x.put(d.img, r); err != nil {
				return err
			}
		}
	}
}
