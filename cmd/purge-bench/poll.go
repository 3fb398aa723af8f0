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

// pollEvery is how often the bench asks the server how far a drain is.
// Polling costs the server one request per tick, the same for the worker
// and the raw baseline.
const pollEvery = 5 * time.Millisecond

// pollUntil calls done every pollEvery until it reports true, and returns
// when it first did; once timeout has passed, an error naming what and
// wrapping done's last error, if any.
func pollUntil(ctx context.Context, timeout time.Duration, what string, done func(context.Context) (bool, error)) (time.Time, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for {
		ok, err := done(ctx)
		if ok {
			return time.Now(), nil
		}
		select {
		case <-ctx.Done():
			if err == nil {
				err = ctx.Err()
			}
			return time.Time{}, fmt.Errorf("%s: not within %s: %w", what, timeout, err)
		case <-tick.C:
		}
	}
}

// waitEmpty polls the intent stream until it is empty, and returns when it
// first saw it empty.
func waitEmpty(ctx context.Context, js jetstream.JetStream, stream string, timeout time.Duration) (time.Time, error) {
	return pollUntil(ctx, timeout, "draining stream "+stream, func(ctx context.Context) (bool, error) {
		n, err := streamMsgs(ctx, js, stream)
		if err == nil && n > 0 {
			err = fmt.Errorf("%d intents still in it", n)
		}
		return err == nil, err
	})
}

// waitDelivered polls the consumer until it has delivered every message
// of the stream (none pending), and returns when it first saw that: the
// end of intake proper, before the last acks.
func waitDelivered(ctx context.Context, js jetstream.JetStream, stream, consumer string, timeout time.Duration) (time.Time, error) {
	return pollUntil(ctx, timeout, "delivering every message to "+consumer, func(ctx context.Context) (bool, error) {
		c, err := js.Consumer(ctx, stream, consumer)
		if err != nil {
			return false, err
		}
		ci, err := c.Info(ctx)
		if err != nil {
			return false, err
		}
		return ci.NumPending == 0, nil
	})
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
