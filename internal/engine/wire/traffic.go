package wire

import "time"

// Traffic is the answer of GET /v1/projects/{project}/environments/{name}/traffic:
// the weights AWS holds now.
type Traffic struct {
	Blue   int       `json:"blue"`
	Green  int       `json:"green"`
	ReadAt time.Time `json:"read_at"`
}
