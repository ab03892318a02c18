package wire

import (
	"time"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
)

// Toggle is a feature toggle as the API returns it: its spec, normalized,
// and the engine's fields.
type Toggle struct {
	Project string `json:"project"`
	model.ToggleSpec
	Version   int64     `json:"version"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// ToggleList is the answer of GET /v1/projects/{project}/toggles.
type ToggleList struct {
	Toggles []Toggle `json:"toggles"`
}

// ToggleStatus is the answer of GET /v1/projects/{project}/toggles/{key}/status:
// what the toggle serves right now, which moves without anyone changing it.
type ToggleStatus struct {
	Project string `json:"project"`
	Key     string `json:"key"`
	Version int64  `json:"version"`
	// Enabled is the kill switch as configured.
	Enabled bool `json:"enabled"`
	// EffectiveEnabled is false while the toggle is disabled or held off.
	EffectiveEnabled bool              `json:"effective_enabled"`
	Hold             *model.ToggleHold `json:"hold,omitempty"`
}
