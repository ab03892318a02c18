package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/problem"
)

// IdempotencyTTL is how long a response is remembered for its key.
const IdempotencyTTL = 24 * time.Hour

const maxIdempotencyKey = 255

// replayed is what is stored for a completed request.
type replayed struct {
	Header map[string]string `json:"header"`
	Body   string            `json:"body"`
}

var replayHeaders = []string{"Content-Type", "ETag", "Location"}

// idempotent wraps a POST handler so that a retry carrying the same
// Idempotency-Key gets the first response again instead of a second effect.
// Keys are per token. A key reused with a different request is refused; one
// whose first request is still running gets 409 and may be retried. Server
// errors are not remembered, so retrying them runs the request again.
func (s *Server) idempotent(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		key := r.Header.Get("Idempotency-Key")
		if key == "" {
			h(w, r)
			return
		}
		if len(key) > maxIdempotencyKey {
			writeProblem(w, r, badRequest("the Idempotency-Key header is longer than 255 characters; use a random UUID"))
			return
		}
		body, p := readBody(w, r, s.MaxBodyBytes)
		if p != nil {
			writeProblem(w, r, p)
			return
		}
		sum := sha256.Sum256(append([]byte(r.Method+" "+r.URL.RequestURI()+"\n"), body...))
		fp := hex.EncodeToString(sum[:])
		actor := tokenFrom(r.Context()).ID
		rec, err := s.Store.BeginIdempotent(r.Context(), actor, key, fp, s.Clock.Now())
		if err != nil {
			s.Log.Error("idempotency lookup failed", "error", err)
			writeProblem(w, r, fromError(err, ""))
			return
		}
		if rec != nil {
			switch {
			case rec.Fingerprint != fp:
				writeProblem(w, r, &problem.Problem{Type: problem.TypeIdempotencyReuse, Title: "Idempotency Key Reused", Status: http.StatusUnprocessableEntity,
					Detail: "this Idempotency-Key was already used for a different request; use a new key for each distinct request"})
			case !rec.Done:
				w.Header().Set("Retry-After", "1")
				writeProblem(w, r, &problem.Problem{Type: problem.TypeIdempotencyActive, Title: "Request In Progress", Status: http.StatusConflict,
					Detail: "a request with this Idempotency-Key is still being processed; retry in a moment to get its response"})
			default:
				var rp replayed
				_ = json.Unmarshal(rec.Body, &rp)
				for k, v := range rp.Header {
					w.Header().Set(k, v)
				}
				w.Header().Set("Idempotent-Replayed", "true")
				w.WriteHeader(rec.Status)
				_, _ = io.WriteString(w, rp.Body)
			}
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		rr := httptest.NewRecorder()
		h(rr, r)
		// Remember (or free) the key even if the client has gone away.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 5*time.Second)
		defer cancel()
		if rr.Code >= 500 {
			if err := s.Store.AbandonIdempotent(ctx, actor, key); err != nil {
				s.Log.Warn("could not free an idempotency key", "error", err)
			}
		} else {
			rp := replayed{Header: map[string]string{}, Body: rr.Body.String()}
			for _, k := range replayHeaders {
				if v := rr.Header().Get(k); v != "" {
					rp.Header[k] = v
				}
			}
			stored, _ := json.Marshal(rp)
			if err := s.Store.CompleteIdempotent(ctx, actor, key, rr.Code, stored); err != nil {
				s.Log.Warn("could not store an idempotent response", "error", err)
			}
		}
		for k, v := range rr.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rr.Code)
		_, _ = w.Write(rr.Body.Bytes())
	}
}
