package worker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Subjects of the two streams. They are part of the contract (docs/design.md):
// publishers and operators rely on them.
const (
	IntentSubjects = "purge.>"
	DLQSubjects    = "purge_dlq.>"
	dlqPrefix      = "purge_dlq."
)

// StreamConfig is the configuration the worker creates the intent stream
// with when it does not exist: work-queue retention so that an ack deletes,
// file storage, and DiscardNew so that a full stream refuses publishes
// instead of silently dropping unprocessed intents.
func StreamConfig(name string) jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        name,
		Description: "purge intents (purge-worker)",
		Subjects:    []string{IntentSubjects},
		Retention:   jetstream.WorkQueuePolicy,
		Storage:     jetstream.FileStorage,
		Discard:     jetstream.DiscardNew,
		Duplicates:  2 * time.Minute,
		MaxMsgSize:  1 << 20,
	}
}

// DLQStreamConfig is the configuration of the dead-letter stream: limits
// retention, kept until an operator replays or purges it.
func DLQStreamConfig(name string) jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        name,
		Description: "dead-lettered purge intents (purge-worker)",
		Subjects:    []string{DLQSubjects},
		Retention:   jetstream.LimitsPolicy,
		Storage:     jetstream.FileStorage,
		Discard:     jetstream.DiscardNew,
		Duplicates:  2 * time.Minute,
	}
}

func (c *Config) consumerConfig() jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{
		Durable:       c.Consumer,
		Description:   "purge-worker",
		AckPolicy:     jetstream.AckExplicitPolicy,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckWait:       c.AckWait,
		MaxAckPending: c.MaxAckPending,
		MaxDeliver:    c.MaxDeliver,
		// InactiveThreshold stays 0: a durable must never be reaped
		// while a replica is busy flushing (nats.go#1318).
	}
}

// Ensure creates the intent stream, the dead-letter stream and the durable
// consumer if they are missing, and returns the consumer. It is idempotent
// and safe to run from several replicas at once. Streams an operator created
// beforehand are used as they are; the consumer's editable settings
// (ack_wait, max_ack_pending, max_deliver) are brought in line with cfg.
func Ensure(ctx context.Context, js jetstream.JetStream, cfg Config) (jetstream.Consumer, error) {
	if err := ensureStream(ctx, js, StreamConfig(cfg.Stream)); err != nil {
		return nil, err
	}
	if err := ensureStream(ctx, js, DLQStreamConfig(cfg.DLQStream)); err != nil {
		return nil, err
	}
	cons, err := js.CreateOrUpdateConsumer(ctx, cfg.Stream, cfg.consumerConfig())
	if err != nil {
		return nil, fmt.Errorf("ensure consumer %s on stream %s: %w", cfg.Consumer, cfg.Stream, err)
	}
	return cons, nil
}

func ensureStream(ctx context.Context, js jetstream.JetStream, sc jetstream.StreamConfig) error {
	_, err := js.Stream(ctx, sc.Name)
	if err == nil {
		return nil
	}
	if !errors.Is(err, jetstream.ErrStreamNotFound) {
		return fmt.Errorf("look up stream %s: %w", sc.Name, err)
	}
	_, err = js.CreateStream(ctx, sc)
	if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
		return nil // another replica created it first
	}
	if err != nil {
		return fmt.Errorf("create stream %s: %w", sc.Name, err)
	}
	return nil
}
