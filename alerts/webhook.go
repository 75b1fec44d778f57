package alerts

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// webhookSender posts one alert per request, signed the Standard Webhooks
// way: webhook-id (the alert id, the same on every retry so that receivers
// can drop duplicates of this at-least-once delivery), webhook-timestamp
// (Unix seconds) and webhook-signature "v1,<base64 HMAC-SHA256 of
// id.timestamp.body>".
//
// In batch mode (the event stream) one request carries a whole batch as
// JSON Lines (application/x-ndjson), with webhook-id derived from the
// batch's first and last queue entries, the same on every retry.
type webhookSender struct {
	cfg    WebhookConfig
	key    []byte
	client *http.Client
	now    func() time.Time
	batch  bool
}

// webhookKey decodes a Standard Webhooks secret: "whsec_" and base64, or
// anything else used as it is.
func webhookKey(secret string) ([]byte, error) {
	if rest, ok := strings.CutPrefix(secret, "whsec_"); ok {
		k, err := base64.StdEncoding.DecodeString(rest)
		if err != nil {
			return nil, fmt.Errorf("whsec_ secret is not base64: %w", err)
		}
		if len(k) == 0 {
			return nil, errors.New("whsec_ secret is empty")
		}
		return k, nil
	}
	return []byte(secret), nil
}

func newWebhookSender(cfg WebhookConfig) (*webhookSender, error) {
	secret := cfg.Secret
	if cfg.SecretFile != "" {
		b, err := os.ReadFile(cfg.SecretFile)
		if err != nil {
			return nil, fmt.Errorf("webhook.secret_file: %w", err)
		}
		secret = strings.TrimSpace(string(b))
	}
	var key []byte
	if secret != "" {
		k, err := webhookKey(secret)
		if err != nil {
			return nil, fmt.Errorf("webhook.secret: %w", err)
		}
		key = k
	}
	tc, err := clientTLS(cfg.TLS, "")
	if err != nil {
		return nil, fmt.Errorf("webhook.tls: %w", err)
	}
	tr := newTransport()
	tr.TLSClientConfig = tc
	return &webhookSender{cfg: cfg, key: key, client: &http.Client{Transport: tr, Timeout: cfg.Timeout}, now: time.Now}, nil
}

func (w *webhookSender) limits() (items, bytes int) {
	if w.batch {
		return unlimited, 1 << 30
	}
	return 1, 1 << 30
}

// signWebhook returns the webhook-signature value for a message.
func signWebhook(key []byte, id, ts string, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id))
	m.Write([]byte{'.'})
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func (w *webhookSender) send(ctx context.Context, batch []*DeadLetter) error {
	if w.batch {
		if len(batch) == 0 {
			return nil
		}
		id := "msg_" + batch[0].ID
		if len(batch) > 1 {
			id += "_" + batch[len(batch)-1].ID
		}
		return w.post(ctx, id, "application/x-ndjson", joinLines(batch))
	}
	for _, e := range batch {
		if err := w.post(ctx, "msg_"+e.Alert.ID, "application/json", e.payload); err != nil {
			return err
		}
	}
	return nil
}

func (w *webhookSender) post(ctx context.Context, id, contentType string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("webhook request to %s: %w", w.cfg.URL, err)
	}
	for k, v := range w.cfg.Headers {
		req.Header.Set(k, v)
	}
	req.Header.Set("Content-Type", contentType)
	ts := strconv.FormatInt(w.now().Unix(), 10)
	req.Header.Set("webhook-id", id)
	req.Header.Set("webhook-timestamp", ts)
	if w.key != nil {
		req.Header.Set("webhook-signature", signWebhook(w.key, id, ts, body))
	}
	res, err := w.client.Do(req)
	if err != nil {
		return fmt.Errorf("webhook post to %s: %w", w.cfg.URL, err)
	}
	defer closeBody(res)
	detail, _ := io.ReadAll(io.LimitReader(res.Body, 512))
	return statusError("webhook", w.cfg.URL, res, strings.TrimSpace(string(detail)))
}

func (w *webhookSender) close() error {
	w.client.CloseIdleConnections()
	return nil
}
