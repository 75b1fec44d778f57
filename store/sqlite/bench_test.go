package sqlite

import (
	"context"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/event/eventgen"
)

// BenchmarkAppend measures ingest through Events.Append: batches of 500
// generated events (every action, realistic field sizes, 1,000 users on
// their own hosts) into a fresh database file with every index in place.
// One op is one batch from each of agents agents, sent concurrently as
// agents do to the server. events/s is the figure the server is judged by
// (target ≥ 50,000 on the project's 2-core machine); cpu-ns/event is the
// CPU time of the whole process per event, which a busy machine does not
// inflate.
func BenchmarkAppend(b *testing.B) {
	for _, mode := range []Synchronous{SyncNormal, SyncFull} {
		for _, agents := range []int{1, 8} {
			b.Run("sync="+string(mode)+"/batch=500/agents="+strconv.Itoa(agents), func(b *testing.B) {
				benchAppend(b, mode, 500, agents)
			})
		}
	}
}

// BenchmarkAppendIndexes measures what the events table's filter indexes
// (user, host, action) cost the writer: the same workload as
// BenchmarkAppend (8 agents), with every index, and with the table keeping
// only its rowid and the id index that idempotency needs. The second is
// not a configuration Vigil ships; it says what a schema that writes fewer
// indexes per event would gain.
func BenchmarkAppendIndexes(b *testing.B) {
	for _, drop := range [][]string{nil, {"events_user", "events_host", "events_action"}} {
		name := "indexes=all"
		if drop != nil {
			name = "indexes=id-only"
		}
		b.Run(name+"/batch=500/agents=8", func(b *testing.B) {
			benchAppend(b, SyncNormal, 500, 8, drop...)
		})
	}
}

func benchAppend(b *testing.B, mode Synchronous, batch, agents int, dropIndexes ...string) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(b.TempDir(), "bench.db"), Options{Synchronous: mode})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	for _, idx := range dropIndexes {
		if err := db.writer.submit(ctx, 0, false, func(tx *wtx) error {
			_, err := tx.exec("DROP INDEX " + idx)
			return err
		}); err != nil {
			b.Fatal(err)
		}
	}
	events := db.Events()

	// Fresh events for every op, as agents send them: later and later
	// event times, new ids. Generating them is not timed.
	gen := eventgen.New(1, eventgen.Options{})
	batches := make([][]*event.Event, agents)
	next := 0
	prepare := func() {
		for a := range agents {
			batches[a] = gen.Batch(batch)
			next += batch
		}
	}

	var (
		seq  int64
		cpu  time.Duration
		errs = make([]error, agents)
	)
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		prepare()
		seq++
		b.StartTimer()
		c0 := cpuTime()
		var wg sync.WaitGroup
		for a := range agents {
			wg.Go(func() {
				res, err := events.Append(ctx, "agent-"+strconv.Itoa(a), seq, batches[a])
				if err == nil && res.Stored != batch {
					err = errStored(res.Stored)
				}
				errs[a] = err
			})
		}
		wg.Wait()
		cpu += cpuTime() - c0
		for _, err := range errs {
			if err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(next)/b.Elapsed().Seconds(), "events/s")
	if cpu > 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(next), "cpu-ns/event")
	}
}

type errStored int

func (e errStored) Error() string { return "stored " + strconv.Itoa(int(e)) + " events of a batch" }
