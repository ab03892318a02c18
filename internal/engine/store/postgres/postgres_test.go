package postgres_test

import (
	"context"
	"sync"
	"testing"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/store"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/store/postgres"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/store/storetest"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := postgres.Open(context.Background(), testenv.PostgresDSN(t))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// Replicas starting together on an empty database migrate it once.
func TestConcurrentMigrations(t *testing.T) {
	dsn := testenv.PostgresDSN(t)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := postgres.Open(context.Background(), dsn)
			if err == nil {
				_ = s.Close()
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatalf("concurrent start: %v", err)
		}
	}
}
