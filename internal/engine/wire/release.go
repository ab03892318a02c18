package wire

import "github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"

// Release is an environment's release as the API returns it: the intent
// (which slot customers should get) and the latest attempt.
type Release struct {
	Project     string `json:"project"`
	Environment string `json:"environment"`
	Slot        string `json:"slot"`
	Trigger     string `json:"trigger,omitempty"`
	Version     int64  `json:"version"`
	// Applied is true once the controller has acted on this version.
	Applied bool `json:"applied"`
	// Status is the latest attempt's status, or idle before the first.
	Status  model.ReleaseStatus `json:"status"`
	Current *model.Release      `json:"current,omitempty"`
}
