package model

import (
	"encoding/json"
	"time"
)

// Ref names one object.
type Ref struct {
	Project string `json:"project"`
	Kind    string `json:"kind"`
	Name    string `json:"name"`
}

func (r Ref) String() string { return r.Project + "/" + r.Kind + "/" + r.Name }

// Object is the stored form of every managed object (toggles, environments,
// policies, dark launches, releases). Spec is the owner's intent and only a
// change to it bumps Version; Status is written by the engine and never does.
type Object struct {
	Ref
	Version   int64           `json:"version"`
	Spec      json.RawMessage `json:"spec"`
	Status    json.RawMessage `json:"status"`
	CreatedAt time.Time       `json:"created_at"`
	UpdatedAt time.Time       `json:"updated_at"`
}
