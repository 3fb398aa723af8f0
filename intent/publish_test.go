package intent_test

import (
	"context"
	"errors"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/purge-worker/purge-worker/intent"
	"github.com/purge-worker/purge-worker/internal/testutil"
)

// runJetStream starts an embedded JetStream server with the PURGE stream
// of docs/design.md and returns a JetStream client and the stream.
func runJetStream(t *testing.T) (jetstream.JetStream, jetstream.Stream) {
	t.Helper()
	s := testutil.StartJetStream(t, t.TempDir(), -1)
	_, js := testutil.ConnectJS(t, s.ClientURL())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	stream, err := js.CreateStream(ctx, jetstream.StreamConfig{
		Name: "PURGE", Subjects: []string{"purge.>"}, Retention: jetstream.WorkQueuePolicy,
		Storage: jetstream.FileStorage, Discard: jetstream.DiscardNew,
	})
	if err != nil {
		t.Fatal(err)
	}
	return js, stream
}

func TestPublish(t *testing.T) {
	js, stream := runJetStream(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	in := &intent.Intent{
		Zone:  "example.com",
		Files: []intent.File{{URL: "https://www.example.com/a?x=1&y=2"}},
		Tags:  []string{"post-42"},
	}
	ack, err := intent.Publish(ctx, js, intent.Subject(in), in)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(in.ID) {
		t.Errorf("Publish set id %q, want 32 hex digits", in.ID)
	}
	if ack.Stream != "PURGE" || ack.Duplicate {
		t.Errorf("ack = %+v, want a new message in PURGE", ack)
	}

	msg, err := stream.GetMsg(ctx, ack.Sequence)
	if err != nil {
		t.Fatal(err)
	}
	if got := msg.Header.Get(jetstream.MsgIDHeader); got != in.ID {
		t.Errorf("Nats-Msg-Id = %q, want %q", got, in.ID)
	}
	if msg.Subject != "purge.example_com" {
		t.Errorf("subject = %q, want purge.example_com", msg.Subject)
	}
	if !strings.Contains(string(msg.Data), `"https://www.example.com/a?x=1&y=2"`) {
		t.Errorf("body %s: URL not written as is", msg.Data)
	}
	back, err := intent.Decode(msg.Data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, in) {
		t.Errorf("stored body decodes to %+v, want %+v", back, in)
	}

	// The same id again is stored once and reported as a duplicate.
	again := *in
	ack2, err := intent.Publish(ctx, js, intent.Subject(&again), &again)
	if err != nil {
		t.Fatal(err)
	}
	if !ack2.Duplicate || ack2.Sequence != ack.Sequence {
		t.Errorf("republished id: ack = %+v, want a duplicate of sequence %d", ack2, ack.Sequence)
	}
	// A publisher-chosen id is used as is.
	own := &intent.Intent{Zone: "example.com", Hosts: []string{"www.example.com"}, ID: "cms-7f3a"}
	ack3, err := intent.Publish(ctx, js, "purge.cms", own)
	if err != nil {
		t.Fatal(err)
	}
	if msg, err := stream.GetMsg(ctx, ack3.Sequence); err != nil || msg.Header.Get(jetstream.MsgIDHeader) != "cms-7f3a" {
		t.Errorf("own id: message %+v, %v", msg, err)
	}
	if info, err := stream.Info(ctx); err != nil || info.State.Msgs != 2 {
		t.Errorf("stream holds %+v, %v; want 2 messages", info.State, err)
	}
}

func TestPublishRefusals(t *testing.T) {
	js, stream := runJetStream(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	// An invalid intent is neither published nor given an id.
	bad := &intent.Intent{Zone: "example.com", Files: []intent.File{{URL: "ftp://example.com/a"}}}
	if _, err := intent.Publish(ctx, js, "purge.x", bad); !errors.Is(err, intent.ErrInvalid) || bad.ID != "" {
		t.Errorf("invalid intent: error %v, id %q; want ErrInvalid and no id", err, bad.ID)
	}

	// An intent that encodes to more than MaxBodySize is refused before
	// publishing: the worker would refuse it.
	big := &intent.Intent{Zone: "example.com"}
	for i := range intent.MaxItems {
		u := "https://example.com/" + strings.Repeat("a", 2000) + "/" + string(rune('a'+i%26))
		big.Files = append(big.Files, intent.File{URL: u})
	}
	if _, err := intent.Publish(ctx, js, "purge.x", big); !errors.Is(err, intent.ErrInvalid) ||
		!strings.Contains(err.Error(), "over the limit of 1048576") {
		t.Errorf("oversized intent: error %v", err)
	}

	// A subject no stream stores is an error, not a silent loss.
	ok := &intent.Intent{Zone: "example.com", Tags: []string{"a"}}
	_, err := intent.Publish(ctx, js, "elsewhere.x", ok)
	if err == nil || errors.Is(err, intent.ErrInvalid) || !errors.Is(err, jetstream.ErrNoStreamResponse) {
		t.Errorf("unstored publish: error %v, want jetstream.ErrNoStreamResponse", err)
	}
	if info, err := stream.Info(ctx); err != nil || info.State.Msgs != 0 {
		t.Errorf("stream holds %+v, %v; want nothing", info.State, err)
	}
}

func TestSubject(t *testing.T) {
	for _, c := range []struct {
		zone, want string
	}{
		{"", "purge.auto"},
		{"example.com", "purge.example_com"},
		{"Shop.Example.COM.", "purge.shop_example_com_"},
		{"023e105f4ecef8ad9ca31a8372d0c353", "purge.023e105f4ecef8ad9ca31a8372d0c353"},
		{"a*b>c d\te\u00e9", "purge.a_b_c_d_e__"},
		{strings.Repeat("a", 300), "purge." + strings.Repeat("a", 255)},
	} {
		if got := intent.Subject(&intent.Intent{Zone: c.zone}); got != c.want {
			t.Errorf("Subject(zone %q) = %q, want %q", c.zone, got, c.want)
		}
	}
}

func TestNewID(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := intent.NewID()
		if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(id) || seen[id] {
			t.Fatalf("NewID() = %q: not 32 hex digits, or repeated", id)
		}
		seen[id] = true
	}
}
