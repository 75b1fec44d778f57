package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/vigil-itm/vigil/store"
)

// healthResponse is the answer of /healthz.
type healthResponse struct {
	// Status is "ok".
	Status string `json:"status"`
}

// readyResponse is the answer of /readyz.
type readyResponse struct {
	// Status is "ready" or "not ready".
	Status string `json:"status"`
	// Store is "ok" or why the store does not answer.
	Store string `json:"store"`
	// Bundle is the engine's active bundle as name@revision, or "none".
	Bundle string `json:"bundle"`
}

// readyTimeout bounds the store check of /readyz.
const readyTimeout = 2 * time.Second

func (s *Server) healthz(*gin.Context) (any, error) {
	return healthResponse{Status: "ok"}, nil
}

func (s *Server) readyz(c *gin.Context) (any, error) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), readyTimeout)
	defer cancel()
	resp := readyResponse{Status: "ready", Store: "ok", Bundle: "none"}
	if err := s.pingStore(ctx); err != nil {
		resp.Status, resp.Store = "not ready", err.Error()
	}
	if p := s.deps.Engine.Program(); p != nil {
		resp.Bundle = p.Name() + "@" + p.Revision()
	} else {
		resp.Status = "not ready"
	}
	if resp.Status != "ready" {
		return reply{status: http.StatusServiceUnavailable, body: resp}, nil
	}
	return resp, nil
}

// pingStore checks that the store answers.
func (s *Server) pingStore(ctx context.Context) error {
	if s.deps.Ping != nil {
		return s.deps.Ping(ctx)
	}
	_, err := s.deps.Bundles.Active(ctx)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("store: %w", err)
	}
	return nil
}

func (s *Server) metricsHandler() handlerFunc {
	h := promhttp.HandlerFor(s.deps.Registry, promhttp.HandlerOpts{ErrorLog: slogPrinter{s}})
	return func(c *gin.Context) (any, error) {
		h.ServeHTTP(c.Writer, c.Request)
		return nil, nil
	}
}

// slogPrinter lets promhttp log through the server's logger.
type slogPrinter struct{ s *Server }

func (p slogPrinter) Println(v ...any) { p.s.log.Error("serve metrics", "err", fmt.Sprint(v...)) }

func (s *Server) openAPIHandler(c *gin.Context) (any, error) {
	c.Data(http.StatusOK, "application/json; charset=utf-8", s.openapi)
	return nil, nil
}
