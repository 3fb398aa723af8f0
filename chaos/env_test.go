package chaos

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/purge-worker/purge-worker/internal/testutil"
	"github.com/purge-worker/purge-worker/worker"
)

// The secrets of the chaos configuration. The test checks that neither
// shows up in anything the worker writes.
const (
	cfToken     = "chaos-cf-token-6c0ffee5ecret0a1b2c3d"
	ingestToken = "chaos-ingest-token-f00dfacade9e8d7c"
)

// Names of the streams and the consumer, as config.yaml defaults them.
const (
	streamName   = "PURGE"
	dlqName      = "PURGE_DLQ"
	consumerName = "purge-worker"
)

// testZones are the three zones every test uses, all in one account.
func testZones() []worker.Zone {
	return []worker.Zone{
		{ID: "023e105f4ecef8ad9ca31a8372d0c353", Name: "example.com", Account: "acct"},
		{ID: "1b2c3d4e5f60718293a4b5c6d7e8f901", Name: "example.org", Account: "acct"},
		{ID: "abcdefabcdefabcdefabcdefabcdef12", Name: "example.net", Account: "acct"},
	}
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func hostPort(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }

// consumerState describes the stream and the consumer, for a failure.
func consumerState(js jetstream.JetStream) string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := js.Stream(ctx, streamName)
	if err != nil {
		return err.Error()
	}
	info, err := st.Info(ctx)
	if err != nil {
		return err.Error()
	}
	c, err := js.Consumer(ctx, streamName, consumerName)
	if err != nil {
		return err.Error()
	}
	ci, err := c.Info(ctx)
	if err != nil {
		return err.Error()
	}
	return fmt.Sprintf("stream holds %d messages (seq %d-%d); consumer: %d pending, %d ack-pending, %d redelivered unacked, delivered seq %d/%d, ack floor %d/%d",
		info.State.Msgs, info.State.FirstSeq, info.State.LastSeq, ci.NumPending, ci.NumAckPending, ci.NumRedelivered,
		ci.Delivered.Consumer, ci.Delivered.Stream, ci.AckFloor.Consumer, ci.AckFloor.Stream)
}

// drained reports whether every intent was settled: the work-queue stream
// is empty and the consumer holds and owes nothing.
func drained(js jetstream.JetStream) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := js.Stream(ctx, streamName)
	if err != nil {
		return false
	}
	info, err := st.Info(ctx)
	if err != nil || info.State.Msgs != 0 {
		return false
	}
	c, err := js.Consumer(ctx, streamName, consumerName)
	if err != nil {
		return false
	}
	ci, err := c.Info(ctx)
	return err == nil && ci.NumAckPending == 0 && ci.NumPending == 0
}

// redeliveries returns how many times the consumer has delivered a message
// again, since it was created. ConsumerInfo.NumRedelivered cannot be used:
// it counts only redelivered messages not yet acked, and drops to zero as
// they are acked. The consumer sequence counts every delivery and the
// stream sequence each message once (the consumer sees the whole stream in
// order), so their difference is the cumulative number of redeliveries.
func redeliveries(ctx context.Context, js jetstream.JetStream) (uint64, error) {
	c, err := js.Consumer(ctx, streamName, consumerName)
	if err != nil {
		return 0, err
	}
	ci, err := c.Info(ctx)
	if err != nil {
		return 0, err
	}
	if ci.Delivered.Consumer < ci.Delivered.Stream {
		return 0, errors.New("consumer sequence behind stream sequence")
	}
	return ci.Delivered.Consumer - ci.Delivered.Stream, nil
}

// dlqMessages returns every message in the dead-letter stream.
func dlqMessages(t testing.TB, js jetstream.JetStream) []*jetstream.RawStreamMsg {
	t.Helper()
	return testutil.NamedStreamMsgs(t, js, dlqName)
}
