package store

import (
	"context"
	"time"
)

// BundleRevision describes one stored revision of a policy bundle.
type BundleRevision struct {
	Name     string `json:"name"`
	Revision string `json:"revision"`
	// SHA256 is the hex digest of the tarball; it is also the ETag agents
	// use to fetch the active bundle only when it changed.
	SHA256     string    `json:"sha256"`
	Size       int64     `json:"size"`
	UploadedBy string    `json:"uploaded_by"`
	UploadedAt time.Time `json:"uploaded_at"`
	// Active reports that this is the active revision.
	Active bool `json:"active"`
}

// ETag returns the HTTP entity tag of the revision's tarball: its SHA-256,
// quoted.
func (b BundleRevision) ETag() string { return `"` + b.SHA256 + `"` }

// BundleUpload is a bundle tarball to store.
type BundleUpload struct {
	// Name and Revision identify the revision; both are required.
	Name     string
	Revision string
	// Tarball is the built, signed bundle (.tar.gz). Required.
	Tarball    []byte
	UploadedBy string
}

// Activation is one entry of the activation history: who made which
// revision active, when, and why.
type Activation struct {
	Name        string    `json:"name"`
	Revision    string    `json:"revision"`
	SHA256      string    `json:"sha256"`
	ActivatedBy string    `json:"activated_by"`
	ActivatedAt time.Time `json:"activated_at"`
	Reason      string    `json:"reason,omitempty"`
}

// Bundles stores policy bundle tarballs and which revision is active. One
// revision is active at a time, for the whole fleet.
//
// Upload stores a revision and returns its description. Uploading the
// same bytes again under the same name and revision is a no-op; different
// bytes under a stored name and revision are ErrConflict (a revision is
// immutable). The store does not parse the tarball: verifying it is the
// caller's job. Upload copies the tarball; the caller keeps its slice.
//
// List returns the revisions of the named bundle, or of every bundle when
// name is "", newest upload first. Tarball returns the bytes of a revision,
// or ErrNotFound; the slice belongs to the caller.
//
// Activate makes a stored revision the active one (ErrNotFound when it is
// not stored) and records who did it and why in the activation history,
// even when the revision was already active. Active returns the active
// revision, or ErrNotFound before the first activation; its ETag lets the
// server answer an agent's conditional request without reading the
// tarball. Activations returns the history, newest first.
//
// All methods are safe for concurrent use.
type Bundles interface {
	Upload(ctx context.Context, u BundleUpload) (BundleRevision, error)
	List(ctx context.Context, name string) ([]BundleRevision, error)
	Tarball(ctx context.Context, name, revision string) ([]byte, error)
	Activate(ctx context.Context, name, revision, by, reason string) error
	Active(ctx context.Context) (BundleRevision, error)
	Activations(ctx context.Context) ([]Activation, error)
}
