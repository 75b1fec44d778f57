package agent

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// Client talks to a Vigil server's API on behalf of an agent.
type Client struct {
	base  *url.URL
	token string
	http  *http.Client
}

// NewClient returns a client for the server at serverURL. caFile, when set,
// names the PEM certificates the server's TLS certificate must chain to
// (otherwise the system's roots are used). The server's certificate is
// always verified.
func NewClient(serverURL, caFile string, timeout time.Duration) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(serverURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("server URL %q: want http(s)://host[:port]", serverURL)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone() //nolint:errcheck // the default transport is an *http.Transport
	tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("server CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("server CA file %s: no PEM certificate in it", caFile)
		}
		tr.TLSClientConfig.RootCAs = pool
	}
	return &Client{base: u, http: &http.Client{Transport: tr, Timeout: timeout}}, nil
}

// SetToken sets the agent's bearer token.
func (c *Client) SetToken(token string) { c.token = token }

// ServerError is an error answer of the server.
type ServerError struct {
	Status  int
	Code    string
	Message string
}

func (e *ServerError) Error() string {
	return fmt.Sprintf("server answered %d %s: %s", e.Status, e.Code, e.Message)
}

// Retryable reports whether the same request may succeed later: the server
// is unavailable, overloaded, out of space, or the answer is a conflict
// that later uploads resolve.
func (e *ServerError) Retryable() bool {
	return e.Status >= 500 || e.Status == http.StatusTooManyRequests || e.Status == http.StatusRequestTimeout ||
		e.Status == http.StatusConflict
}

// do sends a request and decodes a JSON answer into out (when not nil).
func (c *Client) do(ctx context.Context, method, path string, body io.Reader, header http.Header, out any) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base.String()+path, body)
	if err != nil {
		return nil, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return resp, fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	if resp.StatusCode >= 400 {
		se := &ServerError{Status: resp.StatusCode}
		var eb struct {
			Error struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		if json.Unmarshal(data, &eb) == nil {
			se.Code, se.Message = eb.Error.Code, eb.Error.Message
		} else {
			se.Message = strings.TrimSpace(string(data))
		}
		// A 400 batch answer still carries the ingest result.
		if out != nil && resp.StatusCode == http.StatusBadRequest && se.Code == "invalid_event" {
			_ = json.Unmarshal(data, out)
		}
		return resp, fmt.Errorf("%s %s: %w", method, path, se)
	}
	if out != nil && len(data) > 0 && resp.StatusCode != http.StatusNotModified {
		if ct := resp.Header.Get("Content-Type"); strings.HasPrefix(ct, "application/json") {
			if err := json.Unmarshal(data, out); err != nil {
				return resp, fmt.Errorf("%s %s: decode answer: %w", method, path, err)
			}
		} else if b, ok := out.(*[]byte); ok {
			*b = data
		}
	}
	return resp, nil
}

func jsonHeader() http.Header {
	return http.Header{"Content-Type": {"application/json"}}
}

// EnrollRequest is what an agent says about itself at enrollment.
type EnrollRequest struct {
	EnrollmentToken string `json:"enrollment_token"`
	Name            string `json:"name"`
	HostID          string `json:"host_id,omitempty"`
	OS              string `json:"os,omitempty"`
	Version         string `json:"version,omitempty"`
	EvidenceKey     string `json:"evidence_key"`
}

// Credentials are what enrollment gives an agent.
type Credentials struct {
	AgentID           string `json:"agent_id"`
	Token             string `json:"token"`
	ServerEvidenceKey string `json:"server_evidence_key"`
	// ServerSealKey is the X25519 public key evidence is sealed to.
	ServerSealKey string `json:"server_seal_key,omitempty"`
	// Server is the URL the agent enrolled with.
	Server string `json:"server,omitempty"`
}

// Enroll redeems an enrollment token.
func (c *Client) Enroll(ctx context.Context, req EnrollRequest) (Credentials, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return Credentials{}, err
	}
	var cr Credentials
	_, err = c.do(ctx, http.MethodPost, "/api/v1/agents/enroll", bytes.NewReader(body), jsonHeader(), &cr)
	return cr, err
}

// HeartbeatRequest is the agent's periodic report.
type HeartbeatRequest struct {
	Version        string          `json:"version,omitempty"`
	BundleName     string          `json:"bundle_name,omitempty"`
	BundleRevision string          `json:"bundle_revision,omitempty"`
	Sensors        json.RawMessage `json:"sensors,omitempty"`
	Spool          json.RawMessage `json:"spool,omitempty"`
}

// HeartbeatResponse is the server's answer to a heartbeat.
type HeartbeatResponse struct {
	Time       time.Time `json:"time"`
	LastSeq    int64     `json:"last_seq"`
	BundleETag string    `json:"bundle_etag"`
	// EvidenceSealKey is the server's current evidence seal key.
	EvidenceSealKey string `json:"evidence_seal_key,omitempty"`
}

// Heartbeat sends a report.
func (c *Client) Heartbeat(ctx context.Context, req HeartbeatRequest) (HeartbeatResponse, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return HeartbeatResponse{}, err
	}
	var hr HeartbeatResponse
	_, err = c.do(ctx, http.MethodPost, "/api/v1/agents/heartbeat", bytes.NewReader(body), jsonHeader(), &hr)
	return hr, err
}

// IngestResult is the server's answer to a batch.
type IngestResult struct {
	Stored         int   `json:"stored"`
	Duplicates     int   `json:"duplicates"`
	DuplicateBatch bool  `json:"duplicate_batch"`
	LastSeq        int64 `json:"last_seq"`
	Rejected       []struct {
		Index   int    `json:"index"`
		EventID string `json:"event_id"`
		Error   string `json:"error"`
	} `json:"rejected"`
	Alerts int `json:"alerts"`
}

// SendBatch posts a spooled batch body, gzip-compressed.
func (c *Client) SendBatch(ctx context.Context, body []byte) (IngestResult, error) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(body); err != nil {
		return IngestResult{}, err
	}
	if err := zw.Close(); err != nil {
		return IngestResult{}, err
	}
	h := jsonHeader()
	h.Set("Content-Encoding", "gzip")
	var res IngestResult
	_, err := c.do(ctx, http.MethodPost, "/api/v1/events", &buf, h, &res)
	return res, err
}

// SendEvidence uploads an evidence archive.
func (c *Client) SendEvidence(ctx context.Context, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }()
	_, err = c.do(ctx, http.MethodPost, "/api/v1/evidence", f, http.Header{"Content-Type": {"application/zip"}}, nil)
	return err
}

// FetchBundle downloads the active bundle unless etag is current. It
// returns the tarball and its ETag, or nil data when unchanged.
func (c *Client) FetchBundle(ctx context.Context, etag string) (data []byte, newETag string, err error) {
	h := http.Header{}
	if etag != "" {
		h.Set("If-None-Match", etag)
	}
	var body []byte
	resp, err := c.do(ctx, http.MethodGet, "/api/v1/bundles/active", nil, h, &body)
	if err != nil {
		return nil, "", err
	}
	if resp.StatusCode == http.StatusNotModified {
		return nil, etag, nil
	}
	return body, resp.Header.Get("ETag"), nil
}

// FetchDirectory downloads the user context for enrichment unless etag is
// current. It returns the document's JSON and its ETag, or nil data when
// unchanged.
func (c *Client) FetchDirectory(ctx context.Context, etag string) (data []byte, newETag string, err error) {
	h := http.Header{}
	if etag != "" {
		h.Set("If-None-Match", etag)
	}
	var body json.RawMessage
	resp, err := c.do(ctx, http.MethodGet, "/api/v1/agents/directory", nil, h, &body)
	if err != nil {
		return nil, "", err
	}
	if resp.StatusCode == http.StatusNotModified {
		return nil, etag, nil
	}
	return body, resp.Header.Get("ETag"), nil
}
