package wire

import (
	"time"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
)

// Environment is a blue-green environment as the API returns it.
type Environment struct {
	Project string `json:"project"`
	model.EnvironmentSpec
	Version        int64     `json:"version"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
	ActiveSlot     string    `json:"active_slot"`
	IdleSlot       string    `json:"idle_slot"`
	LastReleaseID  string    `json:"last_release_id"`
	Routing        string    `json:"routing"`
	RoutingMessage string    `json:"routing_message,omitempty"`
}

// EnvironmentList is the answer of GET /v1/projects/{project}/environments.
type EnvironmentList struct {
	Environments []Environment `json:"environments"`
}
