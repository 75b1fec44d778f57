package terminal

import (
	"context"
	"log/slog"
	"net"
	"sync"
	"time"
)

// Client sends a session's messages to the terminal sensor. Send never
// blocks: messages wait in a buffer bounded in bytes while the agent is
// unreachable, and records that do not fit are dropped and counted, so the
// shell never waits for Vigil. Run connects, reconnects and writes.
type Client struct {
	socket string
	log    *slog.Logger
	max    int

	mu        sync.Mutex
	hello     Message
	queue     [][]byte
	queued    int
	dropped   uint64
	connected bool
	closing   bool
	wake      chan struct{}
	done      chan struct{} // closed when Run returns
}

// Client timings.
const (
	dialTimeout  = time.Second
	writeTimeout = 5 * time.Second
	retryFirst   = 500 * time.Millisecond
	retryLongest = 30 * time.Second
)

// NewClient returns a client for socket that opens every connection with
// hello and buffers at most maxBuffer bytes of frames.
func NewClient(socket string, hello Message, maxBuffer int, log *slog.Logger) *Client {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	hello.Type = MsgHello
	return &Client{socket: socket, log: log, max: maxBuffer, hello: hello,
		wake: make(chan struct{}, 1), done: make(chan struct{})}
}

// Send queues m. Records are dropped when the buffer is full; commands and
// the end message may overrun it by a quarter so they are kept.
func (c *Client) Send(m Message) {
	if m.Time.IsZero() {
		m.Time = time.Now()
	}
	b, err := AppendFrame(nil, &m)
	if err != nil {
		return
	}
	c.mu.Lock()
	limit := c.max
	if m.Type != MsgRecord {
		limit += c.max / 4
	}
	if c.queued+len(b) > limit {
		c.dropped++
		c.mu.Unlock()
		return
	}
	c.queue = append(c.queue, b)
	c.queued += len(b)
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// Dropped returns how many messages were dropped so far.
func (c *Client) Dropped() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.dropped
}

// Connected reports whether the client has a connection to the agent.
func (c *Client) Connected() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.connected
}

// Run delivers queued messages until ctx is done, reconnecting with
// backoff. After Finish it returns once the queue is delivered, or as soon
// as a connection attempt fails. Call it once.
func (c *Client) Run(ctx context.Context) {
	defer close(c.done)
	backoff := retryFirst
	for ctx.Err() == nil {
		conn, err := c.dial(ctx)
		if err != nil {
			if c.isClosing() {
				return // nobody to flush to
			}
			select {
			case <-ctx.Done():
				return
			case <-c.wake: // Finish wants one more try
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, retryLongest)
			continue
		}
		backoff = retryFirst
		done := c.pump(ctx, conn)
		c.setConnected(false)
		_ = conn.Close()
		if done {
			return
		}
	}
}

func (c *Client) dial(ctx context.Context) (net.Conn, error) {
	d := net.Dialer{Timeout: dialTimeout}
	conn, err := d.DialContext(ctx, "unix", c.socket)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	h := c.hello
	h.Time, h.Dropped = time.Now(), c.dropped
	c.mu.Unlock()
	_ = conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	if err := WriteFrame(conn, &h); err != nil {
		_ = conn.Close()
		return nil, err
	}
	c.setConnected(true)
	return conn, nil
}

// pump writes the queue to conn; it returns true when the client is
// finished (closing and drained) and false when the connection failed.
func (c *Client) pump(ctx context.Context, conn net.Conn) bool {
	for {
		c.mu.Lock()
		batch := c.queue
		c.queue, c.queued = nil, 0
		closing := c.closing
		c.mu.Unlock()
		for i, b := range batch {
			_ = conn.SetWriteDeadline(time.Now().Add(writeTimeout))
			if _, err := conn.Write(b); err != nil {
				c.requeue(batch[i:])
				return false
			}
		}
		if closing && len(batch) == 0 {
			return true
		}
		if len(batch) > 0 {
			continue
		}
		select {
		case <-ctx.Done():
			return true
		case <-c.wake:
		}
	}
}

// requeue puts back frames that could not be written, ahead of newer ones.
func (c *Client) requeue(frames [][]byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, b := range frames {
		n += len(b)
	}
	c.queue = append(append([][]byte(nil), frames...), c.queue...)
	c.queued += n
}

// Finish queues the end message and waits up to timeout for Run to
// deliver the queue; when the agent is unreachable, Run gives up after one
// more connection attempt and Finish returns then.
func (c *Client) Finish(exitCode *int64, timeout time.Duration) {
	c.mu.Lock()
	dropped := c.dropped
	c.mu.Unlock()
	c.Send(Message{Type: MsgEnd, ExitCode: exitCode, Dropped: dropped})
	c.mu.Lock()
	c.closing = true
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
	select {
	case <-c.done:
	case <-time.After(timeout):
	}
}

func (c *Client) isClosing() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closing
}

func (c *Client) setConnected(v bool) {
	c.mu.Lock()
	c.connected = v
	c.mu.Unlock()
}
