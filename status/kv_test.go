package status_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/purge-worker/purge-worker/internal/testutil"
	"github.com/purge-worker/purge-worker/status"
)

func put(t *testing.T, kv jetstream.KeyValue, r status.Record) {
	t.Helper()
	data, _ := json.Marshal(r)
	if _, err := kv.Put(context.Background(), status.Key(r.ID), data); err != nil {
		t.Fatal(err)
	}
}

func TestWatcher(t *testing.T) {
	for _, n := range []int{2, 150} { // by key, and the whole bucket
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			ns := testutil.StartJetStream(t, t.TempDir(), -1)
			_, js := testutil.ConnectJS(t, ns.ClientURL())
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if _, err := status.Open(ctx, js); !errors.Is(err, status.ErrNoBucket) {
				t.Fatalf("Open before the bucket exists: %v", err)
			}
			kv, err := js.CreateKeyValue(ctx, status.BucketConfig(time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			ids := []string{"a.1", "b"}
			for i := 2; i < n; i++ {
				ids = append(ids, fmt.Sprint("other-", i))
			}
			// A record of an earlier intent with the same id.
			put(t, kv, status.Record{ID: "b", Seq: 1, State: status.Purged})
			w, err := status.Watch(ctx, kv, ids)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Stop()
			w.Expect("a.1", 7)
			w.Expect("b", 8)
			put(t, kv, status.Record{ID: "a.1", Seq: 7, State: status.Pending})
			put(t, kv, status.Record{ID: "b", Seq: 1, State: status.Purged}) // rewritten, still not ours
			put(t, kv, status.Record{ID: "a.1", Seq: 7, State: status.Purged})
			put(t, kv, status.Record{ID: "b", Seq: 8, State: status.DeadLettered, Reason: "why"})
			put(t, kv, status.Record{ID: "not-watched", Seq: 9, State: status.Purged})

			short, cancelShort := context.WithTimeout(ctx, 2*time.Second)
			var settled []string
			each := func(r status.Record) {
				if r.ID == "a.1" || r.ID == "b" {
					settled = append(settled, r.ID+"="+string(r.State))
				}
			}
			err = w.Wait(short, each)
			cancelShort()
			if n > 2 {
				// The other ids never settle.
				if !errors.Is(err, context.DeadlineExceeded) || len(w.Unsettled()) < n-2 {
					t.Fatalf("Wait = %v, unsettled %v", err, w.Unsettled())
				}
				for i := 2; i < n; i++ {
					put(t, kv, status.Record{ID: fmt.Sprint("other-", i), Seq: uint64(100 + i), State: status.Purged})
				}
				err = w.Wait(ctx, each)
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(settled, []string{"a.1=purged", "b=dead_lettered"}) {
				t.Errorf("settled %v", settled)
			}
			if r := w.Records()["b"]; r.Reason != "why" {
				t.Errorf("record of b %+v", r)
			}
			got, err := status.Get(ctx, kv, "a.1")
			if err != nil || got.State != status.Purged {
				t.Errorf("Get = %+v, %v", got, err)
			}
		})
	}
}
