package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"testing"
	"testing/iotest"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/toggle"
)

func oldMetadata(t *toggle.Toggle, res toggle.Result) map[string]any {
	md := map[string]any{"version": t.Version, "kind": t.Kind}
	if res.Rule != "" {
		md["rule"] = res.Rule
	}
	if res.AllOn {
		md["allOn"] = true
	}
	if res.Hold != nil {
		md["heldBy"] = res.Hold.Kind
		md[res.Hold.Kind] = res.Hold.Name
	} else if res.Reason == toggle.ReasonDisabled {
		md["disabledBy"] = "kill switch"
	}
	if res.DefaultBecause != "" {
		md["defaultReason"] = "the rollout buckets by " + strconv.Quote(res.DefaultBecause) + ", which the evaluation context lacks"
	}
	return md
}

type oldSuccess struct {
	Key      string          `json:"key"`
	Value    json.RawMessage `json:"value"`
	Reason   string          `json:"reason"`
	Variant  string          `json:"variant"`
	Metadata map[string]any  `json:"metadata"`
}

func TestTmpMetadataSame(t *testing.T) {
	n := 0
	for _, kind := range []string{"release", "ops", "a<b>&c\"é\u2028"} {
		for _, ver := range []int64{0, 1, -5, 1 << 60} {
			for _, rule := range []string{"", "employees", "<script>&\"\\\u2028"} {
				for _, allOn := range []bool{false, true} {
					for _, reason := range []string{toggle.ReasonDisabled, "SPLIT", "DEFAULT", "TARGETING_MATCH"} {
						for _, db := range []string{"", "accountId", "<a>&\"\u2029"} {
							for _, hold := range []*toggle.Hold{nil, {Kind: "alarm", Name: "p99<&>"}, {Kind: "kind", Name: "x"}, {Kind: "rule", Name: "y"}, {Kind: "version", Name: "z"}, {Kind: "heldBy", Name: "h"}, {Kind: "allOn", Name: "a"}, {Kind: "defaultReason", Name: "d"}, {Kind: "disabledBy", Name: "e"}} {
								tg := &toggle.Toggle{Kind: kind, Version: ver}
								res := toggle.Result{Value: json.RawMessage(`true`), Variant: "on<>", Reason: reason, Rule: rule, AllOn: allOn, DefaultBecause: db, Hold: hold}
								want, _ := json.Marshal(oldSuccess{Key: "k&", Value: res.Value, Reason: res.Reason, Variant: res.Variant, Metadata: oldMetadata(tg, res)})
								rec := &recW{h: map[string][]string{}}
								writeOFREP(rec, 200, ofrepSuccess{Key: "k&", Value: res.Value, Reason: res.Reason, Variant: res.Variant, Metadata: metadata(tg, res)})
								if !bytes.Equal(want, rec.b.Bytes()) {
									t.Fatalf("\nwant %s\ngot  %s", want, rec.b.Bytes())
								}
								n++
							}
						}
					}
				}
			}
		}
	}
	t.Log(n, "cases")
}

type recW struct {
	h map[string][]string
	b bytes.Buffer
}

func (w *recW) Header() http.Header         { return w.h }
func (w *recW) Write(p []byte) (int, error) { return w.b.Write(p) }
func (w *recW) WriteHeader(int)             {}

func oldReadAll(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	var b bytes.Buffer
	_, err := b.ReadFrom(http.MaxBytesReader(unwrap(w), r.Body, limit))
	return b.Bytes(), err
}

func TestTmpReadAllSame(t *testing.T) {
	for _, size := range []int{0, 1, 67, 511, 512, 513, 1000, 4095, 4096, 4097, 10000} {
		for _, limit := range []int64{1, 67, 512, 4096, 4097, 1 << 20} {
			for _, cl := range []int{-1, size} {
				body := bytes.Repeat([]byte("x"), size)
				mk := func() *http.Request {
					r, _ := http.NewRequest("POST", "/", bytes.NewReader(body))
					r.ContentLength = int64(cl)
					if cl < 0 {
						r.Body = io.NopCloser(iotest.OneByteReader(bytes.NewReader(body)))
					}
					return r
				}
				w1, w2 := &recW{h: http.Header{}}, &recW{h: http.Header{}}
				b1, e1 := oldReadAll(w1, mk(), limit)
				b2, e2 := readAll(w2, mk(), limit)
				if !bytes.Equal(b1, b2) || fmt.Sprint(e1) != fmt.Sprint(e2) {
					t.Fatalf("size %d limit %d cl %d: %d %v vs %d %v", size, limit, cl, len(b1), e1, len(b2), e2)
				}
			}
		}
	}
}
