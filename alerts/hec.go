package alerts

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// hecSender posts batches of events to a Splunk HTTP Event Collector.
type hecSender struct {
	cfg      HECConfig
	format   Format
	host     string
	token    string
	channel  string
	client   *http.Client
	eventURL string
	ackURL   string
	body     bytes.Buffer
	zbody    bytes.Buffer
	zw       *gzip.Writer
}

func newHECSender(cfg HECConfig, f Format, hostname string) (*hecSender, error) {
	token := cfg.Token
	if cfg.TokenFile != "" {
		b, err := os.ReadFile(cfg.TokenFile)
		if err != nil {
			return nil, fmt.Errorf("hec.token_file: %w", err)
		}
		token = strings.TrimSpace(string(b))
	}
	base := strings.TrimSuffix(cfg.URL, "/")
	tc, err := clientTLS(cfg.TLS, "")
	if err != nil {
		return nil, fmt.Errorf("hec.tls: %w", err)
	}
	tr := newTransport()
	tr.TLSClientConfig = tc
	if cfg.SourceType == "" {
		cfg.SourceType = "vigil:alert"
		switch f {
		case FormatOCSF:
			cfg.SourceType = "ocsf:detection_finding"
		case FormatCEF:
			cfg.SourceType = "cef"
		case FormatLEEF:
			cfg.SourceType = "leef"
		}
	}
	if cfg.Host == "" {
		cfg.Host = hostname
	}
	ch := cfg.Channel
	if ch == "" {
		ch = newGUID()
	}
	return &hecSender{
		cfg: cfg, format: f, host: cfg.Host, token: token, channel: ch,
		client:   &http.Client{Transport: tr, Timeout: cfg.Timeout},
		eventURL: base + "/services/collector/event",
		ackURL:   base + "/services/collector/ack?channel=" + ch,
	}, nil
}

// newGUID returns a random RFC 4122 version 4 GUID.
func newGUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

func (h *hecSender) limits() (items, bytes int) { return h.cfg.BatchSize, h.cfg.MaxBatchBytes }

// hecEvent is the envelope of one event in a batch.
type hecEvent struct {
	Time       json.Number     `json:"time"`
	Host       string          `json:"host,omitempty"`
	Source     string          `json:"source,omitempty"`
	SourceType string          `json:"sourcetype,omitempty"`
	Index      string          `json:"index,omitempty"`
	Event      json.RawMessage `json:"event"`
}

// hecResponse is the collector's answer.
type hecResponse struct {
	Text  string `json:"text"`
	Code  int    `json:"code"`
	AckID *int64 `json:"ackId"`
}

func (h *hecSender) send(ctx context.Context, batch []*DeadLetter) error {
	h.body.Reset()
	for _, e := range batch {
		if e.Alert == nil {
			// An event stream entry: one HEC event per event.
			for _, raw := range e.Events {
				ev := hecEvent{
					Time: json.Number(strconv.FormatFloat(float64(eventTime(raw).UnixMilli())/1000, 'f', 3, 64)),
					Host: h.host, Source: h.cfg.Source, SourceType: h.cfg.SourceType, Index: h.cfg.Index, Event: raw,
				}
				b, err := appendJSON(h.body.AvailableBuffer(), &ev)
				if err != nil {
					return fmt.Errorf("encode HEC event of queue entry %s: %w", e.ID, err)
				}
				h.body.Write(b)
			}
			continue
		}
		ev := hecEvent{
			Time: json.Number(strconv.FormatFloat(float64(e.Alert.Time.UnixMilli())/1000, 'f', 3, 64)),
			Host: h.host, Source: h.cfg.Source, SourceType: h.cfg.SourceType, Index: h.cfg.Index,
		}
		if h.format == FormatJSON || h.format == FormatOCSF {
			ev.Event = e.payload
		} else {
			s, err := json.Marshal(string(e.payload))
			if err != nil {
				return fmt.Errorf("encode HEC event: %w", err)
			}
			ev.Event = s
		}
		b, err := appendJSON(h.body.AvailableBuffer(), &ev)
		if err != nil {
			return fmt.Errorf("encode HEC event of alert %q: %w", e.Alert.ID, err)
		}
		h.body.Write(b)
	}
	body := h.body.Bytes()
	if h.cfg.Gzip {
		h.zbody.Reset()
		if h.zw == nil {
			h.zw = gzip.NewWriter(&h.zbody)
		} else {
			h.zw.Reset(&h.zbody)
		}
		if _, err := h.zw.Write(body); err != nil {
			return fmt.Errorf("compress HEC batch: %w", err)
		}
		if err := h.zw.Close(); err != nil {
			return fmt.Errorf("compress HEC batch: %w", err)
		}
		body = h.zbody.Bytes()
	}
	resp, err := h.post(ctx, h.eventURL, body, h.cfg.Gzip)
	if err != nil {
		return err
	}
	if !h.cfg.Ack.Enabled {
		return nil
	}
	if resp.AckID == nil {
		return fmt.Errorf("HEC %s: acknowledgement is on but the response has no ackId (is it on for the token?)", h.eventURL)
	}
	return h.waitAck(ctx, *resp.AckID)
}

// post sends one request and interprets the collector's status: 2xx is
// success; 429 and 5xx (503: server busy, queue full) are retried,
// honouring Retry-After; other statuses (bad token, bad data) are
// permanent.
func (h *hecSender) post(ctx context.Context, u string, body []byte, gz bool) (*hecResponse, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("HEC request to %s: %w", u, err)
	}
	req.Header.Set("Authorization", "Splunk "+h.token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Splunk-Request-Channel", h.channel)
	if gz {
		req.Header.Set("Content-Encoding", "gzip")
	}
	res, err := h.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("HEC post to %s: %w", u, err)
	}
	defer closeBody(res)
	data, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	var hr hecResponse
	_ = json.Unmarshal(data, &hr)
	if err := statusError("HEC", u, res, hr.Text); err != nil {
		return nil, err
	}
	return &hr, nil
}

// statusError turns an HTTP status into a delivery error: nil for 2xx,
// retried for 408, 429 and 5xx (with Retry-After), permanent otherwise.
func statusError(what, u string, res *http.Response, detail string) error {
	if res.StatusCode >= 200 && res.StatusCode < 300 {
		return nil
	}
	if detail == "" {
		detail = http.StatusText(res.StatusCode)
	}
	err := fmt.Errorf("%s %s: status %d: %s", what, u, res.StatusCode, detail)
	if res.StatusCode == http.StatusRequestTimeout || res.StatusCode == http.StatusTooManyRequests || res.StatusCode >= 500 {
		if ra := retryAfter(res.Header.Get("Retry-After")); ra > 0 {
			return &retryAfterError{err: err, after: ra}
		}
		return err
	}
	return fmt.Errorf("%w: %w", errPermanent, err)
}

// retryAfter reads a Retry-After header: seconds or an HTTP date.
func retryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil && n > 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return time.Until(t)
	}
	return 0
}

// waitAck polls the ack endpoint until the batch is acknowledged as
// indexed, or fails after the ack timeout so that the batch is sent again.
func (h *hecSender) waitAck(ctx context.Context, id int64) error {
	ctx, cancel := context.WithTimeout(ctx, h.cfg.Ack.Timeout)
	defer cancel()
	body := []byte(`{"acks":[` + strconv.FormatInt(id, 10) + `]}`)
	t := time.NewTicker(h.cfg.Ack.PollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return fmt.Errorf("HEC %s: batch ack %d not confirmed within %s", h.ackURL, id, h.cfg.Ack.Timeout)
		case <-t.C:
		}
		ok, err := h.ackStatus(ctx, body, id)
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("HEC %s: batch ack %d not confirmed within %s", h.ackURL, id, h.cfg.Ack.Timeout)
			}
			return err
		}
		if ok {
			return nil
		}
	}
}

func (h *hecSender) ackStatus(ctx context.Context, body []byte, id int64) (bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.ackURL, bytes.NewReader(body))
	if err != nil {
		return false, fmt.Errorf("HEC ack request: %w", err)
	}
	req.Header.Set("Authorization", "Splunk "+h.token)
	req.Header.Set("X-Splunk-Request-Channel", h.channel)
	req.Header.Set("Content-Type", "application/json")
	res, err := h.client.Do(req)
	if err != nil {
		return false, fmt.Errorf("HEC ack poll %s: %w", h.ackURL, err)
	}
	defer closeBody(res)
	data, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	if res.StatusCode != http.StatusOK {
		// The events were accepted: a failed poll is retried as a whole
		// batch, never dropped.
		return false, fmt.Errorf("HEC ack poll %s: status %d: %s", h.ackURL, res.StatusCode, bytes.TrimSpace(data))
	}
	var ar struct {
		Acks map[string]bool `json:"acks"`
	}
	if err := json.Unmarshal(data, &ar); err != nil {
		return false, fmt.Errorf("HEC ack poll %s: decode response: %w", h.ackURL, err)
	}
	return ar.Acks[strconv.FormatInt(id, 10)], nil
}

func (h *hecSender) close() error {
	h.client.CloseIdleConnections()
	return nil
}

// newTransport returns an HTTP transport of the sink's own, so that closing
// one sink's idle connections leaves the others alone.
func newTransport() *http.Transport {
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          10,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
}

// closeBody drains a little of a response body and closes it, so that the
// connection can be reused.
func closeBody(res *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 4<<10))
	_ = res.Body.Close()
}
