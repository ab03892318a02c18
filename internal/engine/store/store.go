// Package store defines where the engine keeps its state.
//
// There is one Store interface and two backends: sqlite (the embedded default,
// pure Go) and postgres (for several replicas). Both are thin dialects over
// one SQL implementation (sqlstore) and both pass one conformance suite
// (storetest), so behaviour cannot drift between them.
//
// The contract every backend keeps:
//   - every mutation appends its audit event in the same transaction;
//   - the store revision is bumped in the same transaction as any change that
//     affects flag evaluation or routing (objects and projects), so replicas
//     and caches can tell they are stale by comparing one number;
//   - an object's Version changes only when its spec changes;
//   - writes made by the controller carry a Fence and fail with ErrFenced
//     unless the lease epoch in the fence is still current on the database's
//     clock (see package lease).
//
// The store holds no business rules: callers validate before they write.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
)

// Store is the engine's persistence.
type Store interface {
	// Backend names the backend: "sqlite" or "postgres".
	Backend() string
	// Ping checks that the database answers.
	Ping(ctx context.Context) error
	// Close releases the store's connections.
	Close() error
	// Revision returns the store revision.
	Revision(ctx context.Context) (int64, error)
	// ClusterID returns this store's cluster ID, creating it (from candidate)
	// on first use; every engine on one store shares it.
	ClusterID(ctx context.Context, candidate string) (string, error)

	ListProjects(ctx context.Context) ([]model.Project, error)
	GetProject(ctx context.Context, name string) (model.Project, error)
	// CreateProject fails with an *ExistsError when the name is taken.
	CreateProject(ctx context.Context, spec model.ProjectSpec, a model.Audit) (model.Project, error)
	// UpdateProject applies spec when ifVersion is 0 or current, and fails
	// with a *VersionError otherwise. An unchanged spec is not a change.
	UpdateProject(ctx context.Context, spec model.ProjectSpec, ifVersion int64, a model.Audit) (model.Project, error)
	// DeleteProject fails with ErrNotEmpty while objects live in the project.
	DeleteProject(ctx context.Context, name string, ifVersion int64, a model.Audit) error

	GetObject(ctx context.Context, ref model.Ref) (model.Object, error)
	// ListObjects lists a project's objects of one kind, by name.
	ListObjects(ctx context.Context, project, kind string) ([]model.Object, error)
	// ListObjectsByKind lists every object of one kind across projects, by
	// project and name.
	ListObjectsByKind(ctx context.Context, kind string) ([]model.Object, error)
	// CreateObject stores a new object at version 1 with an empty status.
	CreateObject(ctx context.Context, ref model.Ref, spec json.RawMessage, a model.Audit) (model.Object, error)
	// UpdateObject replaces an object's spec and bumps its version; an
	// unchanged spec is not a change.
	UpdateObject(ctx context.Context, ref model.Ref, spec json.RawMessage, ifVersion int64, a model.Audit) (model.Object, error)
	DeleteObject(ctx context.Context, ref model.Ref, ifVersion int64, a model.Audit) error
	// SetObjectStatus replaces an object's status without touching its
	// version. It is the controller's write and is fenced. It appends an
	// audit event when a.Message says what happened; progress without a
	// message (bake time accruing) is not audited.
	SetObjectStatus(ctx context.Context, ref model.Ref, status json.RawMessage, f Fence, a model.Audit) error
	// UpdateObjectStatus changes an object's status in one transaction:
	// update gets the current status and returns the new one and an audit
	// message ("" writes no event; a's actor and time go with it). It is not fenced: it is for figures the
	// API adds up from reports (dark launches), never for AWS intent.
	// update may be called again if the transaction is retried; returning
	// ErrNoChange from it leaves the object as it was.
	UpdateObjectStatus(ctx context.Context, ref model.Ref, update func(status json.RawMessage) (json.RawMessage, string, error), a model.Audit) error

	// CreateToken stores a token; its name must not be in use by an active token.
	CreateToken(ctx context.Context, t model.Token, a model.Audit) error
	// BootstrapToken stores t only when the store holds no token at all,
	// atomically, and reports whether it did.
	BootstrapToken(ctx context.Context, t model.Token, a model.Audit) (bool, error)
	// ListTokens lists every token, revoked ones included, with hashes.
	ListTokens(ctx context.Context) ([]model.Token, error)
	// RevokeToken marks a token revoked; revoking twice is ErrNotFound.
	RevokeToken(ctx context.Context, id string, a model.Audit) (model.Token, error)

	// ListEvents pages through the audit log, newest first.
	ListEvents(ctx context.Context, f EventFilter) ([]model.Event, error)

	// BeginIdempotent reserves (actor, key) for a request with the given
	// fingerprint. It returns nil when the caller should go ahead, or the
	// existing record: completed (replay it), or in progress.
	BeginIdempotent(ctx context.Context, actor, key, fingerprint string, now time.Time) (*IdempotentRecord, error)
	// CompleteIdempotent stores the response for a reserved key.
	CompleteIdempotent(ctx context.Context, actor, key string, status int, body []byte) error
	// AbandonIdempotent frees a reserved key so that a retry can run.
	AbandonIdempotent(ctx context.Context, actor, key string) error
	// ExpireIdempotent deletes records created before cutoff.
	ExpireIdempotent(ctx context.Context, cutoff time.Time) error

	// AcquireLease takes or renews the named lease for holder for ttl, on the
	// database's clock. It returns the lease as it now stands; Held says
	// whether holder has it.
	AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (Lease, error)
	// ReleaseLease gives a held lease up at once, so another holder need not
	// wait for it to expire.
	ReleaseLease(ctx context.Context, l Lease) error
}

// ErrNoChange, returned by an UpdateObjectStatus update, writes nothing.
var ErrNoChange = errors.New("no change")

// Lease is one row of the leases table as seen by one holder.
type Lease struct {
	Name   string
	Holder string
	Epoch  int64
	// Held is true when the caller is the current holder.
	Held bool
	// TTL is the lease's duration as granted.
	TTL time.Duration
}

// Fence proves a writer holds a lease at an epoch.
type Fence struct {
	Lease string
	Epoch int64
}

// IdempotentRecord is a remembered response to a request with an
// Idempotency-Key.
type IdempotentRecord struct {
	Fingerprint string
	Done        bool
	Status      int
	Body        []byte
	CreatedAt   time.Time
}

// EventFilter selects audit events. Zero fields match everything.
type EventFilter struct {
	Project    string
	ObjectKind string
	ObjectName string
	Actor      string
	Since      time.Time // inclusive
	Until      time.Time // exclusive
	// Before pages: only events with an ID below it (0: from the newest).
	Before int64
	Limit  int
}

// Errors shared by every backend. Use errors.Is / errors.As.
var (
	ErrNotFound = errors.New("not found")
	ErrNotEmpty = errors.New("not empty")
	ErrFenced   = errors.New("lease lost: the write was fenced off")
)

// ExistsError says that an object with that identity already exists.
type ExistsError struct {
	What string
}

func (e *ExistsError) Error() string { return e.What + " already exists" }

// VersionError says that the caller's version is stale.
type VersionError struct {
	Current int64
	Given   int64
}

func (e *VersionError) Error() string {
	return fmt.Sprintf("version %d is stale: the current version is %d", e.Given, e.Current)
}
