package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/store"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/store/sqlite"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "progressive.db"))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// Two engines may open one file; the lease must still have one holder.
func TestTwoProcessesShareOneFile(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "progressive.db")
	a, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	la, err := a.AcquireLease(ctx, "controller", "engine-a", time.Minute)
	if err != nil || !la.Held {
		t.Fatalf("engine a: %+v %v", la, err)
	}
	lb, err := b.AcquireLease(ctx, "controller", "engine-b", time.Minute)
	if err != nil || lb.Held || lb.Holder != "engine-a" {
		t.Fatalf("engine b took a held lease: %+v %v", lb, err)
	}
}

func TestDataSurvivesReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "progressive.db")
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateProject(ctx, model.ProjectSpec{Name: "kept"}, model.Audit{Actor: "a", Time: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = sqlite.Open(ctx, path)
	if err != nil {
		t.Fatalf("reopen (migrations must be idempotent): %v", err)
	}
	defer s.Close()
	if _, err := s.GetProject(ctx, "kept"); err != nil {
		t.Fatalf("project lost across a reopen: %v", err)
	}
}
