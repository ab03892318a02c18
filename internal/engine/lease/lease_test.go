package lease_test

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/lease"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/store"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/store/postgres"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/store/sqlite"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

type backend struct {
	name string
	// open returns two stores on one database, as two replicas would have.
	open func(t *testing.T) (store.Store, store.Store)
}

var backends = []backend{
	{"sqlite", func(t *testing.T) (store.Store, store.Store) {
		path := filepath.Join(t.TempDir(), "p.db")
		return openT(t, func() (store.Store, error) { return sqlite.Open(context.Background(), path) }),
			openT(t, func() (store.Store, error) { return sqlite.Open(context.Background(), path) })
	}},
	{"postgres", func(t *testing.T) (store.Store, store.Store) {
		dsn := testenv.PostgresDSN(t)
		return openT(t, func() (store.Store, error) { return postgres.Open(context.Background(), dsn) }),
			openT(t, func() (store.Store, error) { return postgres.Open(context.Background(), dsn) })
	}},
}

func openT[S store.Store](t *testing.T, open func() (S, error)) store.Store {
	t.Helper()
	s, err := open()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// Two electors on one database: never two leaders at once, and when the
// leader goes away the other takes over with a higher epoch and the old
// epoch's writes are fenced off.
func TestOneLeaderAndTakeover(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			sa, sb := b.open(t)
			ref := model.Ref{Project: "default", Kind: "thing", Name: "x"}
			if _, err := sa.CreateObject(context.Background(), ref, json.RawMessage(`{}`), model.Audit{Actor: "t", Time: time.Now()}); err != nil {
				t.Fatal(err)
			}
			var leaders atomic.Int32
			var overlap atomic.Bool
			type win struct {
				who  string
				term *lease.Term
			}
			wins := make(chan win, 10)
			lead := func(who string) func(ctx context.Context, term *lease.Term) {
				return func(ctx context.Context, term *lease.Term) {
					if leaders.Add(1) > 1 {
						overlap.Store(true)
					}
					wins <- win{who, term}
					<-ctx.Done()
					leaders.Add(-1)
				}
			}
			ctxA, stopA := context.WithCancel(context.Background())
			ctxB, stopB := context.WithCancel(context.Background())
			defer stopB()
			var wg sync.WaitGroup
			ea := &lease.Elector{Store: sa, Name: "controller", Holder: "a", TTL: 600 * time.Millisecond}
			eb := &lease.Elector{Store: sb, Name: "controller", Holder: "b", TTL: 600 * time.Millisecond}
			wg.Add(1)
			go func() { defer wg.Done(); ea.Run(ctxA, lead("a")) }()
			first := waitWin(t, wins)
			if first.who != "a" {
				t.Fatalf("first leader = %s, want a (b had not started)", first.who)
			}
			wg.Add(1)
			go func() { defer wg.Done(); eb.Run(ctxB, lead("b")) }()
			// b campaigns for several TTLs without winning while a renews.
			select {
			case w := <-wins:
				t.Fatalf("%s became leader while a held the lease", w.who)
			case <-time.After(2 * time.Second):
			}
			status := json.RawMessage(`{"by":"a"}`)
			if err := sa.SetObjectStatus(context.Background(), ref, status, first.term.Fence(), model.Audit{Actor: "a", Time: time.Now()}); err != nil {
				t.Fatalf("leader's fenced write: %v", err)
			}
			stopA() // a shuts down cleanly and releases the lease
			second := waitWin(t, wins)
			if second.who != "b" || second.term.Epoch() <= first.term.Epoch() {
				t.Fatalf("takeover: %s at epoch %d after epoch %d", second.who, second.term.Epoch(), first.term.Epoch())
			}
			err := sa.SetObjectStatus(context.Background(), ref, json.RawMessage(`{"by":"stale a"}`), first.term.Fence(), model.Audit{Actor: "a", Time: time.Now()})
			if !errors.Is(err, store.ErrFenced) {
				t.Fatalf("the old leader's write after the takeover: %v, want ErrFenced", err)
			}
			stopB()
			wg.Wait()
			if overlap.Load() {
				t.Fatal("two leaders overlapped")
			}
		})
	}
}

// A leader whose store stops answering ends its term before the lease can
// expire, and its term context carries that deadline.
func TestTermEndsBeforeExpiry(t *testing.T) {
	s := openT(t, func() (store.Store, error) {
		return sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "p.db"))
	})
	fs := &failingStore{Store: s}
	e := &lease.Elector{Store: fs, Name: "controller", Holder: "a", TTL: time.Second}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ended := make(chan time.Time, 1)
	go e.Run(ctx, func(ctx context.Context, term *lease.Term) {
		tctx, tcancel := term.Context(ctx)
		defer tcancel()
		if dl, ok := tctx.Deadline(); !ok || dl.After(time.Now().Add(time.Second)) {
			t.Errorf("term context deadline %v is not within the TTL", dl)
		}
		fs.fail.Store(true) // from now on renewals fail
		<-ctx.Done()
		ended <- time.Now()
	})
	select {
	case <-ended:
	case <-time.After(30 * time.Second):
		t.Fatal("the term did not end after renewals failed")
	}
}

type failingStore struct {
	store.Store
	fail atomic.Bool
}

func (f *failingStore) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (store.Lease, error) {
	if f.fail.Load() {
		return store.Lease{}, errors.New("database unreachable")
	}
	return f.Store.AcquireLease(ctx, name, holder, ttl)
}

func waitWin[T any](t *testing.T, ch chan T) T {
	t.Helper()
	select {
	case w := <-ch:
		return w
	case <-time.After(30 * time.Second):
		t.Fatal("no leader within 30s")
		panic("unreachable")
	}
}
