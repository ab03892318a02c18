package wire

import (
	"time"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
)

// CanaryPolicy is a canary policy as the API returns it.
type CanaryPolicy struct {
	Project string `json:"project"`
	model.CanaryPolicySpec
	Version   int64     `json:"version"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// Summary lists the stages and the minimum duration of a release.
	Summary     string         `json:"summary"`
	MinDuration model.Duration `json:"min_duration"`
}

// CanaryPolicyList is the answer of GET /v1/projects/{project}/canary-policies.
type CanaryPolicyList struct {
	CanaryPolicies []CanaryPolicy `json:"canary-policies"`
}
