package smoke

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
)

func TestSmoke(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		switch r.URL.Path {
		case "/flaky":
			if n < 3 {
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			_, _ = w.Write([]byte("ok v42"))
		case "/broken":
			w.WriteHeader(http.StatusInternalServerError)
		default:
			_, _ = w.Write([]byte("build v41"))
		}
	}))
	defer srv.Close()
	noWait := Tester{Sleep: func(context.Context, time.Duration) {}}
	cfg := model.SmokeTest{ExpectedStatus: 200, Attempts: 3, Timeout: model.Duration(time.Second)}
	ctx := context.Background()

	if ok, msg := noWait.Run(ctx, srv.URL+"/flaky", "v42", cfg); !ok {
		t.Fatalf("a slot that recovers on the third attempt failed: %s", msg)
	}
	ok, msg := noWait.Run(ctx, srv.URL+"/broken", "v42", cfg)
	if ok || !strings.Contains(msg, "HTTP 500, expected 200") || !strings.Contains(msg, "after 3 attempts") {
		t.Fatalf("broken slot: %v %s", ok, msg)
	}
	cfg.ExpectVersion = true
	ok, msg = noWait.Run(ctx, srv.URL+"/version", "v42", cfg)
	if ok || !strings.Contains(msg, `does not contain the slot's version "v42"`) {
		t.Fatalf("wrong version: %v %s", ok, msg)
	}
	if ok, _ := noWait.Run(ctx, srv.URL+"/version", "v41", cfg); !ok {
		t.Fatal("the right version failed")
	}
	ok, msg = noWait.Run(ctx, "http://127.0.0.1:1/healthz", "v1", model.SmokeTest{ExpectedStatus: 200, Attempts: 1})
	if ok || !strings.Contains(msg, "connect") {
		t.Fatalf("unreachable slot: %v %s", ok, msg)
	}
}
