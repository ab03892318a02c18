package wire

import (
	"time"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/darklaunch"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
)

// DarkLaunch is a dark launch as the API returns it: the spec and its slow
// facts (state, proven_at). Live figures are in DarkLaunchStatus.
type DarkLaunch struct {
	Project string `json:"project"`
	model.DarkLaunchSpec
	Version   int64     `json:"version"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// Status is collecting, proven, failed or paused.
	Status   string    `json:"status"`
	Message  string    `json:"message,omitempty"`
	ProvenAt time.Time `json:"proven_at,omitzero"`
}

// DarkLaunchList is the answer of GET /v1/projects/{project}/dark-launches.
type DarkLaunchList struct {
	DarkLaunches []DarkLaunch `json:"dark-launches"`
}

// DarkLaunchStatus is a dark launch's live figures.
type DarkLaunchStatus struct {
	Project         string                      `json:"project"`
	Name            string                      `json:"name"`
	Status          string                      `json:"status"`
	Message         string                      `json:"message,omitempty"`
	CollectingSince time.Time                   `json:"collecting_since,omitzero"`
	ProvenAt        time.Time                   `json:"proven_at,omitzero"`
	FailedAt        time.Time                   `json:"failed_at,omitzero"`
	MinRequests     int64                       `json:"min_requests"`
	ReleaseToggle   string                      `json:"release_toggle,omitempty"`
	Held            bool                        `json:"held"`
	Figures         darklaunch.Figures          `json:"figures"`
	Proxies         map[string]darklaunch.Proxy `json:"proxies"`
	Preview         string                      `json:"preview,omitempty"`
	PreviewMessage  string                      `json:"preview_message,omitempty"`
}

// DarkLaunchDiffs is the sample diffs kept for a dark launch, newest last.
type DarkLaunchDiffs struct {
	Diffs []darklaunch.Sample `json:"diffs"`
}
