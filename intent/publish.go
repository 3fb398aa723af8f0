package intent

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// HeaderTrack is the message header that asks the worker to keep a status
// record of the intent, under its Nats-Msg-Id, in the status KV bucket:
// pending, then purged or dead-lettered. Its value is "true"; intents
// without it are not tracked and cost nothing extra.
const HeaderTrack = "Purge-Track"

// maxSubjectToken bounds the zone token of a subject; a valid zone is
// shorter, and Subject must not build a huge subject from an invalid one.
const maxSubjectToken = 255

// Subject returns the subject an intent is published on: "purge." followed
// by its zone as one subject token, or "purge.auto" when it has no zone.
// The zone is lowercased and every byte other than a letter, digit, '-' or
// '_' becomes '_', because '.', '*', '>' and whitespace have meaning in
// NATS subjects: zone "Example.com" gives "purge.example_com". The worker
// consumes all of "purge.>", so the subject only serves to let operators
// filter and partition; the body alone says where an intent goes.
func Subject(in *Intent) string {
	if in.Zone == "" {
		return "purge.auto"
	}
	zone := in.Zone
	if len(zone) > maxSubjectToken {
		zone = zone[:maxSubjectToken]
	}
	b := make([]byte, 0, len("purge.")+len(zone))
	b = append(b, "purge."...)
	for i := 0; i < len(zone); i++ {
		c := zone[i]
		switch {
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '_':
		default:
			c = '_'
		}
		b = append(b, c)
	}
	return string(b)
}

// NewID returns a new random intent id: 128 bits from crypto/rand, as 32
// lowercase hex digits. An id must be unique per intent, never derived from
// its content, because JetStream drops a second message with the same
// Nats-Msg-Id within the stream's duplicate window even after the first was
// consumed, and a second purge of the same URLs is legitimate.
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails; it crashes the program instead
	return hex.EncodeToString(b[:])
}

// PublishOption changes the message [Publish] sends.
type PublishOption func(*nats.Msg)

// Tracked sets the [HeaderTrack] header: the worker keeps a status record
// of the intent under its id.
func Tracked() PublishOption {
	return func(m *nats.Msg) { m.Header.Set(HeaderTrack, "true") }
}

// Publish validates in, gives it an id with [NewID] if it has none (setting
// in.ID), and publishes it on subject with the id as Nats-Msg-Id, waiting
// for the stream's acknowledgement.
//
// It returns an error wrapping [ErrInvalid] for an intent that fails
// [Intent.Validate] or encodes to more than [MaxBodySize] bytes (nothing is
// published then), and an error wrapping the jetstream error when the
// stream did not store the message. A republished id is not an error: the
// stream keeps one copy and the returned PubAck has Duplicate set.
func Publish(ctx context.Context, js jetstream.Publisher, subject string, in *Intent, opts ...PublishOption) (*jetstream.PubAck, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	if in.ID == "" {
		in.ID = NewID()
	}
	body, err := marshal(in)
	if err != nil {
		return nil, fmt.Errorf("encode intent %s: %w", quote(in.ID), err)
	}
	if len(body) > MaxBodySize {
		return nil, fieldError("body", "encodes to "+strconv.Itoa(len(body))+" bytes, over the limit of "+
			strconv.Itoa(MaxBodySize)+"; split the intent")
	}
	msg := &nats.Msg{Subject: subject, Data: body, Header: nats.Header{}}
	for _, o := range opts {
		o(msg)
	}
	ack, err := js.PublishMsg(ctx, msg, jetstream.WithMsgID(in.ID))
	if err != nil {
		return nil, fmt.Errorf("publish intent %s on %s: %w", quote(in.ID), quote(subject), err)
	}
	return ack, nil
}
