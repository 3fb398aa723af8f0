package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/purge-worker/purge-worker/internal/lease"
	"github.com/purge-worker/purge-worker/status"
)

type streamFlags struct {
	conn
	stream, consumer, dlq string
}

func (f *streamFlags) register(fs *flag.FlagSet) {
	f.conn.register(fs)
	fs.StringVar(&f.stream, "stream", "PURGE", "intent stream")
	fs.StringVar(&f.consumer, "consumer", "purge-worker", "durable consumer of the worker")
	fs.StringVar(&f.dlq, "dlq-stream", "PURGE_DLQ", "dead-letter stream")
}

func (e env) status(ctx context.Context, args []string) error {
	var f streamFlags
	var id string
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	f.register(fs)
	fs.StringVar(&id, "id", "", "show the status record of the tracked intent with this id")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	nc, js, err := f.connect()
	if err != nil {
		return err
	}
	defer nc.Close()
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	defer tw.Flush()
	if id != "" {
		return intentStatus(ctx, js, tw, id)
	}

	st, err := js.Stream(ctx, f.stream)
	if err != nil {
		return fmt.Errorf("stream %s: %w", f.stream, err)
	}
	si := st.CachedInfo()
	fmt.Fprintf(tw, "stream\t%s\tmessages %d\tbytes %d\tretention %s\n", f.stream, si.State.Msgs, si.State.Bytes, si.Config.Retention)
	ci, err := js.Consumer(ctx, f.stream, f.consumer)
	switch {
	case errors.Is(err, jetstream.ErrConsumerNotFound):
		fmt.Fprintf(tw, "consumer\t%s\tnot created yet (start purge-worker)\n", f.consumer)
	case err != nil:
		return fmt.Errorf("consumer %s: %w", f.consumer, err)
	default:
		info := ci.CachedInfo()
		fmt.Fprintf(tw, "consumer\t%s\tpending %d\tack-pending %d\tredelivered %d\twaiting pulls %d\n",
			f.consumer, info.NumPending, info.NumAckPending, info.NumRedelivered, info.NumWaiting)
	}
	if err := activeReplica(ctx, js, tw, f.consumer); err != nil {
		return err
	}
	dlq, err := js.Stream(ctx, f.dlq)
	switch {
	case errors.Is(err, jetstream.ErrStreamNotFound):
		fmt.Fprintf(tw, "dlq\t%s\tnot created yet\n", f.dlq)
	case err != nil:
		return fmt.Errorf("stream %s: %w", f.dlq, err)
	default:
		fmt.Fprintf(tw, "dlq\t%s\tmessages %d\n", f.dlq, dlq.CachedInfo().State.Msgs)
	}
	return nil
}

// activeReplica prints which replica holds the consumer's lease.
func activeReplica(ctx context.Context, js jetstream.JetStream, w io.Writer, consumer string) error {
	kv, err := js.KeyValue(ctx, lease.Bucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		fmt.Fprintf(w, "active\tnone\tno replica has started yet\n")
		return nil
	}
	if err != nil {
		return fmt.Errorf("kv bucket %s: %w", lease.Bucket, err)
	}
	rec, term, ok, err := lease.Current(ctx, kv, consumer)
	switch {
	case err != nil:
		return fmt.Errorf("lease of %s: %w", consumer, err)
	case !ok:
		fmt.Fprintf(w, "active\tnone\tno replica holds the lease (standbys take over within lease_ttl)\n")
	default:
		fmt.Fprintf(w, "active\t%s\tterm %d\tsince %s\trenewed %s ago\n", rec.Holder, term,
			rec.Since.UTC().Format(time.RFC3339), time.Since(rec.Renewed).Round(time.Second))
	}
	return nil
}

// intentStatus prints the status record of one tracked intent.
func intentStatus(ctx context.Context, js jetstream.JetStream, w io.Writer, id string) error {
	kv, err := status.Open(ctx, js)
	if err != nil {
		return err
	}
	r, err := status.Get(ctx, kv, id)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return fmt.Errorf("no status record for id %q: not published with --wait (or Purge-Track: true), not received yet, or expired", id)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "id\t%s\n", r.ID)
	fmt.Fprintf(w, "state\t%s\n", r.State)
	fmt.Fprintf(w, "stream\t%s seq %d\n", r.Subject, r.Seq)
	fmt.Fprintf(w, "received\t%s\n", r.Received.Format(time.RFC3339Nano))
	fmt.Fprintf(w, "updated\t%s\n", r.Updated.Format(time.RFC3339Nano))
	for _, c := range r.Calls {
		fmt.Fprintf(w, "call\t%s %s\tzone %s\tkeys %d\tissued %s\tcloudflare id %s\n",
			c.Mode, c.Type, c.ZoneID, c.Keys, c.Issued.Format(time.RFC3339Nano), c.CloudflareID)
	}
	if r.Reason != "" {
		fmt.Fprintf(w, "reason\t%s\n", r.Reason)
	}
	return nil
}
