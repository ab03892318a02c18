// Package wire holds the /v1 API's response envelopes, shared by the server
// (package api) and its client, so that the client does not link the server.
package wire

import "github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"

// EngineInfo is the answer of GET /v1/engine.
type EngineInfo struct {
	Version  string `json:"version"`
	Backend  string `json:"backend"`
	Healthy  bool   `json:"healthy"`
	Revision int64  `json:"revision"`
	Leader   bool   `json:"leader"`
}

// WhoAmI is the answer of GET /v1/token: the caller's own token.
type WhoAmI struct {
	ID   string          `json:"id"`
	Name string          `json:"name"`
	Kind model.TokenKind `json:"kind"`
}

// ProjectList is the answer of GET /v1/projects.
type ProjectList struct {
	Projects []model.Project `json:"projects"`
}

// CreatedToken is the answer of POST /v1/tokens: the only time the secret is shown.
type CreatedToken struct {
	Token  model.Token `json:"token"`
	Secret string      `json:"secret"`
}

// TokenList is the answer of GET /v1/tokens.
type TokenList struct {
	Tokens []model.Token `json:"tokens"`
}

// EventList is the answer of GET /v1/events, newest first.
type EventList struct {
	Events []model.Event `json:"events"`
	// NextCursor, when set, fetches the next (older) page as ?cursor=.
	NextCursor string `json:"next_cursor,omitempty"`
}
