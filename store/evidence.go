package store

import (
	"context"
	"time"
)

// EvidenceRecord indexes one evidence package stored outside the database
// (a directory, a file or an object in S3-compatible storage).
type EvidenceRecord struct {
	// PackageID identifies the package. Required and unique.
	PackageID string `json:"package_id"`
	// AlertID is the alert the package was captured for. Required. The
	// alert need not be stored yet: agents may upload evidence before the
	// server has raised the alert.
	AlertID string `json:"alert_id"`
	// Path locates the package in evidence storage.
	Path string `json:"path"`
	// SHA256 is the hex digest of the package archive.
	SHA256  string    `json:"sha256"`
	Size    int64     `json:"size"`
	Created time.Time `json:"created"`
	// Verified reports that the package's hashes and signature were last
	// checked successfully, at VerifiedAt.
	Verified   bool      `json:"verified"`
	VerifiedAt time.Time `json:"verified_at,omitzero"`
}

// Evidence indexes evidence packages by alert.
//
// Add records a package. It is idempotent: adding a record identical (in
// alert, path, digest and size) to a stored one changes nothing, while a
// different record under a stored PackageID is ErrConflict.
//
// Get returns one record, or ErrNotFound. List returns the records of an
// alert, oldest first (none is not an error).
//
// SetVerified records the outcome of a verification at the given time, or
// ErrNotFound.
//
// All methods are safe for concurrent use.
type Evidence interface {
	Add(ctx context.Context, r EvidenceRecord) error
	Get(ctx context.Context, packageID string) (EvidenceRecord, error)
	List(ctx context.Context, alertID string) ([]EvidenceRecord, error)
	SetVerified(ctx context.Context, packageID string, verified bool, at time.Time) error
}
