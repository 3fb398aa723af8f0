package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/purge-worker/purge-worker/worker"
)

// streamMsgs returns how many messages a stream holds. On the work-queue
// intent stream that is how many intents are not yet acked or terminated.
func streamMsgs(ctx context.Context, js jetstream.JetStream, name string) (uint64, error) {
	st, err := js.Stream(ctx, name)
	if err != nil {
		return 0, err
	}
	info, err := st.Info(ctx)
	if err != nil {
		return 0, err
	}
	return info.State.Msgs, nil
}

// waitEmpty polls the intent stream until it is empty, and returns when it
// first saw it empty. Polling costs the server one request per pollEvery,
// the same for the worker and the raw baseline.
func waitEmpty(ctx context.Context, js jetstream.JetStream, stream string, timeout time.Duration) (time.Time, error) {
	const pollEvery = 5 * time.Millisecond
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for {
		n, err := streamMsgs(ctx, js, stream)
		if err == nil && n == 0 {
			return time.Now(), nil
		}
		select {
		case <-ctx.Done():
			if err == nil {
				err = fmt.Errorf("%d intents still in stream %s", n, stream)
			}
			return time.Time{}, fmt.Errorf("not drained within %s: %w", timeout, err)
		case <-tick.C:
		}
	}
}

// startProfile starts profiling the measured phase; finish or close stops
// it.
func (r *rig) startProfile() error {
	stop, err := startCPUProfile(r.profile)
	if err != nil {
		return err
	}
	r.stopProfile = func() { stop(); r.stopProfile = func() {} }
	return nil
}

// waitDelivered polls the consumer until it has delivered every message
// of the stream (none pending), and returns when it first saw that: the
// end of intake proper, before the last acks.
func waitDelivered(ctx context.Context, js jetstream.JetStream, stream, consumer string, timeout time.Duration) (time.Time, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		if c, err := js.Consumer(ctx, stream, consumer); err == nil {
			if ci, err := c.Info(ctx); err == nil && ci.NumPending == 0 {
				return time.Now(), nil
			}
		}
		select {
		case <-ctx.Done():
			return time.Time{}, fmt.Errorf("consumer %s still has messages to deliver: %w", consumer, ctx.Err())
		case <-tick.C:
		}
	}
}

// watchDelivered runs waitDelivered in the background; the returned func
// waits for its answer.
func watchDelivered(ctx context.Context, js jetstream.JetStream, stream, consumer string, timeout time.Duration) func() (time.Time, error) {
	type answer struct {
		at  time.Time
		err error
	}
	c := make(chan answer, 1)
	go func() {
		at, err := waitDelivered(ctx, js, stream, consumer, timeout)
		c <- answer{at, err}
	}()
	return func() (time.Time, error) {
		a := <-c
		return a.at, a.err
	}
}

var errNotEmpty = errors.New("dead-letter stream is not empty")

// checkDLQ fails if any intent was dead-lettered: every generated intent
// is valid, so one there is a bug.
func checkDLQ(ctx context.Context, js jetstream.JetStream, cfg worker.Config) error {
	n, err := streamMsgs(ctx, js, cfg.DLQStream)
	if err != nil {
		return err
	}
	if n > 0 {
		return fmt.Errorf("%w: %d intents", errNotEmpty, n)
	}
	return nil
}
