package model

// KindReleaseRequest is the object kind of operator requests (abort, pause,
// resume, promote) to an environment's running release.
const KindReleaseRequest = "release-request"

// ReleaseSpec is what progressive_release says: which slot customers of an
// environment should get. One per environment (the object's name is the
// environment's). A change of slot, or of trigger while the slot is not
// active, is what starts a release attempt.
type ReleaseSpec struct {
	Environment string `json:"environment"`
	Slot        string `json:"slot"`
	Trigger     string `json:"trigger,omitempty"`
	// ExpectActiveSlot and ExpectLastReleaseID are what the environment
	// looked like when the change was planned; a write whose expectations no
	// longer hold is refused (a stale plan). Empty (nil) means no
	// expectation; a pointer to "" expects that no release has run yet.
	ExpectActiveSlot    string  `json:"expect_active_slot,omitempty"`
	ExpectLastReleaseID *string `json:"expect_last_release_id,omitempty"`
}

// Validate checks a release spec.
func (s *ReleaseSpec) Validate() error {
	var p Problems
	if !envNameRE.MatchString(s.Environment) {
		p.Add("/environment", "the environment name "+quote(s.Environment)+" is not valid: use 1 to 63 lower-case letters, digits and hyphens")
	}
	if s.Slot != SlotBlue && s.Slot != SlotGreen {
		p.Add("/slot", "the slot "+quote(s.Slot)+" is not valid: use blue or green")
	}
	if s.ExpectActiveSlot != "" && s.ExpectActiveSlot != SlotBlue && s.ExpectActiveSlot != SlotGreen {
		p.Add("/expect_active_slot", "the slot "+quote(s.ExpectActiveSlot)+" is not valid: use blue or green")
	}
	if len(s.Trigger) > 256 {
		p.Add("/trigger", "the trigger is longer than 256 characters")
	}
	return p.Err()
}

// ReleaseState is what the engine records on a release object: the current
// (or last) attempt, and which version of the spec it has acted on.
type ReleaseState struct {
	// AppliedVersion is the spec version the controller last acted on.
	AppliedVersion int64 `json:"applied_version"`
	// Current is the latest attempt; nil before the first.
	Current *Release `json:"current,omitempty"`
	// Handled lists operator requests (by sequence) already given to Step.
	HandledRequest int64 `json:"handled_request,omitempty"`
}

// ReleaseRequest is an operator's request to the running attempt.
type ReleaseRequest struct {
	// Seq increases with every request.
	Seq int64 `json:"seq"`
	// Action is abort, pause, resume or promote.
	Action string `json:"action"`
	Actor  string `json:"actor"`
	// ReleaseID is the attempt the request was made against.
	ReleaseID string `json:"release_id"`
}
