package model

import (
	"encoding/json"
	"time"
)

// Event is one entry of the audit log: who or what did what to which object,
// when, and a summary of the object before and after. Events are append-only.
type Event struct {
	ID         int64           `json:"id"`
	Time       time.Time       `json:"time"`
	Project    string          `json:"project,omitempty"`
	ObjectKind string          `json:"object_kind"`
	ObjectName string          `json:"object_name"`
	Action     string          `json:"action"`
	Actor      string          `json:"actor"`
	Message    string          `json:"message,omitempty"`
	Before     json.RawMessage `json:"before,omitempty"`
	After      json.RawMessage `json:"after,omitempty"`
}

// Actions recorded in the audit log.
const (
	ActionCreate = "create"
	ActionUpdate = "update"
	ActionDelete = "delete"
	ActionRevoke = "revoke"
	ActionStatus = "status"
)

// Object kinds that are not stored as generic objects.
const (
	KindProject = "project"
	KindToken   = "token"
)

// Audit says who makes a change and when; every store mutation takes one and
// writes an Event in the same transaction.
type Audit struct {
	Actor   string
	Time    time.Time
	Message string
}
