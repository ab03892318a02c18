package route53_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/awsconfig"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/traffic"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/traffic/route53"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// zone is a hosted zone in moto with a unique name, so that tests sharing a
// moto server do not meet.
type zone struct {
	api  *sdk.Client
	id   string
	name string
}

func newZone(t *testing.T) zone {
	t.Helper()
	testenv.Moto(t)
	ctx := context.Background()
	cfg, err := awsconfig.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	api := route53.NewClient(cfg)
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	name := "z" + hex.EncodeToString(b) + ".example.com"
	out, err := api.CreateHostedZone(ctx, &sdk.CreateHostedZoneInput{Name: aws.String(name), CallerReference: aws.String(name)})
	if err != nil {
		t.Fatalf("CreateHostedZone: %v", err)
	}
	return zone{api: api, id: strings.TrimPrefix(aws.ToString(out.HostedZone.Id), "/hostedzone/"), name: name}
}

func (z zone) config() route53.Config {
	return route53.Config{
		ZoneID:      z.id,
		RecordName:  "checkout." + z.name,
		RecordType:  "CNAME",
		TTL:         60,
		BlueValue:   "blue.checkout.internal",
		GreenValue:  "green.checkout.internal",
		Environment: "checkout",
	}
}

// records returns the zone's weighted CNAME records of name by set
// identifier, as AWS holds them.
func (z zone) records(t *testing.T, name string) map[string]types.ResourceRecordSet {
	t.Helper()
	out, err := z.api.ListResourceRecordSets(context.Background(), &sdk.ListResourceRecordSetsInput{HostedZoneId: aws.String(z.id)})
	if err != nil {
		t.Fatalf("ListResourceRecordSets: %v", err)
	}
	got := map[string]types.ResourceRecordSet{}
	for _, rr := range out.ResourceRecordSets {
		if strings.TrimSuffix(aws.ToString(rr.Name), ".") == name && rr.Type == types.RRTypeCname {
			got[aws.ToString(rr.SetIdentifier)] = rr
		}
	}
	return got
}

// upsert writes a weighted record out of band.
func (z zone) upsert(t *testing.T, name, setID, value string, weight int64) {
	t.Helper()
	_, err := z.api.ChangeResourceRecordSets(context.Background(), &sdk.ChangeResourceRecordSetsInput{
		HostedZoneId: aws.String(z.id),
		ChangeBatch: &types.ChangeBatch{Changes: []types.Change{{
			Action: types.ChangeActionUpsert,
			ResourceRecordSet: &types.ResourceRecordSet{
				Name: aws.String(name), Type: types.RRTypeCname, SetIdentifier: aws.String(setID),
				Weight: aws.Int64(weight), TTL: aws.Int64(60),
				ResourceRecords: []types.ResourceRecord{{Value: aws.String(value)}},
			},
		}}},
	})
	if err != nil {
		t.Fatalf("out-of-band UPSERT %s: %v", setID, err)
	}
}

func weightsOf(t *testing.T, recs map[string]types.ResourceRecordSet) (blue, green int64) {
	t.Helper()
	b, okb := recs["checkout-blue"]
	g, okg := recs["checkout-green"]
	if !okb || !okg {
		t.Fatalf("records = %v, want set identifiers checkout-blue and checkout-green", recs)
	}
	return aws.ToInt64(b.Weight), aws.ToInt64(g.Weight)
}

func TestEnsureWritesTwoWeightedRecordsThenAdoptsThem(t *testing.T) {
	z := newZone(t)
	ctx := context.Background()
	cfg := z.config()
	r := route53.New(z.api, cfg)
	if err := r.Ensure(ctx, traffic.Blue); err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	recs := z.records(t, cfg.RecordName)
	if len(recs) != 2 {
		t.Fatalf("records = %v, want two", recs)
	}
	if b, g := weightsOf(t, recs); b != 100 || g != 0 {
		t.Errorf("weights blue %d, green %d; want 100 and 0", b, g)
	}
	for setID, value := range map[string]string{"checkout-blue": cfg.BlueValue, "checkout-green": cfg.GreenValue} {
		rr := recs[setID]
		if aws.ToInt64(rr.TTL) != 60 || len(rr.ResourceRecords) != 1 || aws.ToString(rr.ResourceRecords[0].Value) != value {
			t.Errorf("%s = TTL %d, values %+v; want TTL 60 and %s", setID, aws.ToInt64(rr.TTL), rr.ResourceRecords, value)
		}
	}

	// Adoption changes nothing: after a switch to green, Ensure by a new
	// router (an engine restart) leaves green serving.
	if err := r.SetWeights(ctx, traffic.All(traffic.Green), traffic.Options{}); err != nil {
		t.Fatalf("SetWeights: %v", err)
	}
	if err := route53.New(z.api, cfg).Ensure(ctx, traffic.Blue); err != nil {
		t.Fatalf("Ensure again: %v", err)
	}
	if b, g := weightsOf(t, z.records(t, cfg.RecordName)); b != 0 || g != 100 {
		t.Errorf("after a second Ensure: blue %d, green %d; want the adopted 0 and 100", b, g)
	}
}

func TestSetWeightsReadsBackAndVerifies(t *testing.T) {
	z := newZone(t)
	ctx := context.Background()
	cfg := z.config()
	r := route53.New(z.api, cfg)
	if err := r.Ensure(ctx, traffic.Green); err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	if w, err := r.Weights(ctx); err != nil || w != traffic.All(traffic.Green) {
		t.Fatalf("Weights after Ensure(green) = %v, %v", w, err)
	}
	for _, w := range []traffic.Weights{{Blue: 0, Green: 100}, {Blue: 100, Green: 0}, {Blue: 100, Green: 0}, {Blue: 10, Green: 90}} {
		if err := r.SetWeights(ctx, w, traffic.Options{}); err != nil {
			t.Fatalf("SetWeights %s: %v", w, err)
		}
		if got, err := r.Weights(ctx); err != nil || got != w {
			t.Fatalf("Weights after SetWeights %s = %v, %v", w, got, err)
		}
		vctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		ok, err := r.Verify(vctx, w)
		cancel()
		if !ok || err != nil {
			t.Fatalf("Verify %s = %v, %v", w, ok, err)
		}
	}
	if b, g := weightsOf(t, z.records(t, cfg.RecordName)); b != 10 || g != 90 {
		t.Errorf("AWS holds blue %d, green %d; want 10 and 90", b, g)
	}
	if err := r.SetWeights(ctx, traffic.Weights{}, traffic.Options{}); err == nil {
		t.Error("SetWeights wrote weight 0 to both records")
	}
	if b, g := weightsOf(t, z.records(t, cfg.RecordName)); b+g == 0 {
		t.Error("both records hold weight 0")
	}
	vctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	if ok, err := r.Verify(vctx, traffic.All(traffic.Blue)); ok || err != nil {
		t.Errorf("Verify of weights AWS does not hold = %v, %v; want false, nil", ok, err)
	}
}

// Someone edits the records out of band: Weights reports the split Route 53
// applies.
func TestWeightsReportOutOfBandChanges(t *testing.T) {
	z := newZone(t)
	ctx := context.Background()
	cfg := z.config()
	r := route53.New(z.api, cfg)
	if err := r.Ensure(ctx, traffic.Blue); err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	for _, tc := range []struct {
		blue, green int64
		want        traffic.Weights
	}{
		{30, 70, traffic.Weights{Blue: 30, Green: 70}},
		{1, 3, traffic.Weights{Blue: 25, Green: 75}},
		{0, 0, traffic.Weights{Blue: 50, Green: 50}}, // Route 53 splits equally
		{255, 0, traffic.Weights{Blue: 100, Green: 0}},
	} {
		z.upsert(t, cfg.RecordName, "checkout-blue", cfg.BlueValue, tc.blue)
		z.upsert(t, cfg.RecordName, "checkout-green", cfg.GreenValue, tc.green)
		if got, err := r.Weights(ctx); err != nil || got != tc.want {
			t.Errorf("records %d/%d: Weights = %v, %v; want %v", tc.blue, tc.green, got, err, tc.want)
		}
	}
}

func TestEnsureRefusesANameSharedWithRecordsItDoesNotOwn(t *testing.T) {
	z := newZone(t)
	cfg := z.config()
	z.upsert(t, cfg.RecordName, "search-blue", "search.internal", 10)
	err := route53.New(z.api, cfg).Ensure(context.Background(), traffic.Blue)
	if err == nil {
		t.Fatal("Ensure succeeded beside a weighted record it does not own")
	}
	if !strings.Contains(err.Error(), "search-blue") || !errors.Is(err, route53.ErrNotOwned) {
		t.Errorf("error %q does not name the foreign record search-blue as not owned", err)
	}
	if recs := z.records(t, cfg.RecordName); len(recs) != 1 {
		t.Errorf("Ensure changed the zone: %v", recs)
	}
}

// With only one of the two records left, that one serves everything today:
// Ensure keeps it that way and restores the other at weight 0.
func TestEnsureRestoresAMissingRecordWithoutMovingTraffic(t *testing.T) {
	z := newZone(t)
	cfg := z.config()
	z.upsert(t, cfg.RecordName, "checkout-green", cfg.GreenValue, 100)
	if err := route53.New(z.api, cfg).Ensure(context.Background(), traffic.Blue); err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	if b, g := weightsOf(t, z.records(t, cfg.RecordName)); b != 0 || g != 100 {
		t.Errorf("blue %d, green %d; want 0 and 100", b, g)
	}
}

func TestRemoveDeletesOnlyTheEnvironmentsRecords(t *testing.T) {
	z := newZone(t)
	ctx := context.Background()
	cfg := z.config()
	other := cfg
	other.Environment, other.RecordName = "search", "search."+z.name
	if err := route53.New(z.api, other).Ensure(ctx, traffic.Green); err != nil {
		t.Fatalf("Ensure of the other environment: %v", err)
	}
	r := route53.New(z.api, cfg)
	if err := r.Ensure(ctx, traffic.Blue); err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	if err := r.SetWeights(ctx, traffic.Weights{Blue: 40, Green: 60}, traffic.Options{}); err != nil {
		t.Fatalf("SetWeights: %v", err)
	}
	if err := r.Remove(ctx); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	if recs := z.records(t, cfg.RecordName); len(recs) != 0 {
		t.Errorf("records left after Remove: %v", recs)
	}
	if recs := z.records(t, other.RecordName); len(recs) != 2 {
		t.Errorf("the other environment's records after Remove: %v", recs)
	}
	if err := r.Remove(ctx); err != nil {
		t.Errorf("Remove with nothing to remove: %v", err)
	}
	if _, err := r.Weights(ctx); !errors.Is(err, route53.ErrNotFound) {
		t.Errorf("Weights after Remove = %v, want ErrNotFound", err)
	}
}

func TestEnsureNamesAMissingZone(t *testing.T) {
	z := newZone(t)
	cfg := z.config()
	cfg.ZoneID = "Z0000000000000MISSING"
	err := route53.New(z.api, cfg).Ensure(context.Background(), traffic.Blue)
	if err == nil || !strings.Contains(err.Error(), cfg.ZoneID) || !errors.Is(err, route53.ErrNotFound) {
		t.Errorf("Ensure with a missing zone = %v; want an error naming %s", err, cfg.ZoneID)
	}
}

func TestEnsureRefusesARecordOutsideTheZone(t *testing.T) {
	z := newZone(t)
	cfg := z.config()
	cfg.RecordName = "checkout.elsewhere.org"
	err := route53.New(z.api, cfg).Ensure(context.Background(), traffic.Blue)
	if err == nil || !strings.Contains(err.Error(), "checkout.elsewhere.org") {
		t.Errorf("Ensure of a record outside the zone = %v", err)
	}
}

func TestSettleTimeIsTheTTLAndTargetsAreUncounted(t *testing.T) {
	r := route53.New(nil, route53.Config{TTL: 300})
	if got := r.SettleTime(); got != 5*time.Minute {
		t.Errorf("SettleTime() = %s, want the TTL of 5m", got)
	}
	if n, err := r.HealthyTargets(context.Background(), traffic.Blue); n != -1 || err != nil {
		t.Errorf("HealthyTargets = %d, %v; want -1", n, err)
	}
}

func TestConfigForAnEnvironment(t *testing.T) {
	spec := &model.EnvironmentSpec{
		Name:    "checkout",
		Blue:    model.Slot{DNSValue: "blue.checkout.internal"},
		Green:   model.Slot{DNSValue: "green.checkout.internal"},
		Route53: &model.Route53{ZoneID: "Z0123456789", RecordName: "checkout.example.com", RecordType: "CNAME", TTL: 60},
	}
	cfg := route53.ConfigFor(spec)
	want := route53.Config{
		ZoneID: "Z0123456789", RecordName: "checkout.example.com", RecordType: "CNAME", TTL: 60,
		BlueValue: "blue.checkout.internal", GreenValue: "green.checkout.internal", Environment: "checkout",
	}
	if cfg != want {
		t.Errorf("ConfigFor = %+v\nwant %+v", cfg, want)
	}
	if cfg.SetIdentifier(traffic.Green) != "checkout-green" {
		t.Errorf("SetIdentifier(green) = %q", cfg.SetIdentifier(traffic.Green))
	}
}
