package route53_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/aws/smithy-go"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/traffic"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/traffic/route53"
)

// propagating wraps the real moto-backed client because moto reports every
// change INSYNC at once (DESIGN.md, "moto's limits"): record writes still go
// to moto, but each change is reported PENDING until GetChange has been
// asked pendingPolls times, the way Route 53 reports a change that is still
// reaching its name servers. It can also fail the first writes with
// PriorRequestNotComplete, which moto never returns.
type propagating struct {
	route53.Route53API

	mu           sync.Mutex
	pendingPolls int // GetChange answers PENDING this many times per change
	busyWrites   int // ChangeResourceRecordSets calls that fail first
	polls        map[string]int
	writes       int
	changes      int
}

func (p *propagating) ChangeResourceRecordSets(ctx context.Context, in *sdk.ChangeResourceRecordSetsInput, opts ...func(*sdk.Options)) (*sdk.ChangeResourceRecordSetsOutput, error) {
	p.mu.Lock()
	p.writes++
	if p.busyWrites > 0 {
		p.busyWrites--
		p.mu.Unlock()
		return nil, &smithy.GenericAPIError{Code: "PriorRequestNotComplete", Message: "The request was rejected because Route 53 was still processing a prior request."}
	}
	p.mu.Unlock()
	out, err := p.Route53API.ChangeResourceRecordSets(ctx, in, opts...)
	if err != nil {
		return out, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.changes++
	id := fmt.Sprintf("/change/C%04d", p.changes)
	out.ChangeInfo = &types.ChangeInfo{Id: aws.String(id), Status: types.ChangeStatusPending, SubmittedAt: aws.Time(time.Now())}
	return out, nil
}

func (p *propagating) GetChange(_ context.Context, in *sdk.GetChangeInput, _ ...func(*sdk.Options)) (*sdk.GetChangeOutput, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	id := aws.ToString(in.Id)
	if p.polls == nil {
		p.polls = map[string]int{}
	}
	p.polls[id]++
	status := types.ChangeStatusInsync
	if p.polls[id] <= p.pendingPolls {
		status = types.ChangeStatusPending
	}
	return &sdk.GetChangeOutput{ChangeInfo: &types.ChangeInfo{Id: in.Id, Status: status, SubmittedAt: aws.Time(time.Now())}}, nil
}

func (p *propagating) setPendingPolls(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pendingPolls = n
}

func (p *propagating) pollsOf(id string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.polls[id]
}

// SetWeights returns only once GetChange reports the change INSYNC.
func TestSetWeightsWaitsForInsync(t *testing.T) {
	z := newZone(t)
	ctx := context.Background()
	p := &propagating{Route53API: z.api, pendingPolls: 3}
	cfg := z.config()
	cfg.PollInterval = time.Millisecond
	r := route53.New(p, cfg)
	if err := r.Ensure(ctx, traffic.Blue); err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	if got := p.pollsOf("C0001"); got != 4 {
		t.Errorf("Ensure polled GetChange %d times; want 3 PENDING answers and the INSYNC one", got)
	}
	if err := r.SetWeights(ctx, traffic.All(traffic.Green), traffic.Options{}); err != nil {
		t.Fatalf("SetWeights: %v", err)
	}
	if got := p.pollsOf("C0002"); got != 4 {
		t.Errorf("SetWeights polled GetChange %d times; want 3 PENDING answers and the INSYNC one", got)
	}
}

// A change still PENDING when SetWeights gives up is not verified, even
// though the records already read back with the new weights; it is once
// Route 53 reports it INSYNC.
func TestVerifyWaitsForAPendingChange(t *testing.T) {
	z := newZone(t)
	ctx := context.Background()
	p := &propagating{Route53API: z.api}
	cfg := z.config()
	cfg.PollInterval = time.Millisecond
	cfg.SyncTimeout = 50 * time.Millisecond
	r := route53.New(p, cfg)
	if err := r.Ensure(ctx, traffic.Blue); err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	p.setPendingPolls(1 << 30)
	err := r.SetWeights(ctx, traffic.All(traffic.Green), traffic.Options{})
	if err == nil || !strings.Contains(err.Error(), "not INSYNC") {
		t.Fatalf("SetWeights of a change that stays PENDING = %v; want a not-INSYNC error", err)
	}
	if w, err := r.Weights(ctx); err != nil || w != traffic.All(traffic.Green) {
		t.Fatalf("Weights = %v, %v; the records should already hold green 100", w, err)
	}
	vctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	ok, err := r.Verify(vctx, traffic.All(traffic.Green))
	cancel()
	if ok || err != nil {
		t.Fatalf("Verify of a PENDING change = %v, %v; want false, nil", ok, err)
	}
	p.setPendingPolls(0)
	vctx, cancel = context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if ok, err := r.Verify(vctx, traffic.All(traffic.Green)); !ok || err != nil {
		t.Fatalf("Verify once INSYNC = %v, %v; want true", ok, err)
	}
}

// PriorRequestNotComplete means another change to the zone is still being
// applied: the write is retried, and lands.
func TestPriorRequestNotCompleteIsRetried(t *testing.T) {
	z := newZone(t)
	ctx := context.Background()
	p := &propagating{Route53API: z.api, busyWrites: 2}
	cfg := z.config()
	cfg.PollInterval = time.Millisecond
	r := route53.New(p, cfg)
	if err := r.Ensure(ctx, traffic.Blue); err != nil {
		t.Fatalf("Ensure through PriorRequestNotComplete: %v", err)
	}
	if p.writes != 3 {
		t.Errorf("ChangeResourceRecordSets called %d times; want 2 rejected and 1 accepted", p.writes)
	}
	if b, g := weightsOf(t, z.records(t, cfg.RecordName)); b != 100 || g != 0 {
		t.Errorf("blue %d, green %d; want 100 and 0", b, g)
	}
}
