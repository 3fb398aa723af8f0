package status

import (
	"encoding/base64"
	"errors"
	"fmt"
	"time"
)

// Bucket is the KV bucket that holds status records.
const Bucket = "PURGE_STATUS"

// State is where a tracked intent is.
type State string

// The states. Pending moves to exactly one of the others.
const (
	Pending      State = "pending"
	Purged       State = "purged"
	DeadLettered State = "dead_lettered"
)

// Record is the status of one tracked intent, stored as JSON.
type Record struct {
	// ID is the intent's Nats-Msg-Id.
	ID    string `json:"id"`
	State State  `json:"state"`
	// Subject and Seq are where the worker received the intent: the
	// publish acknowledgement's stream sequence, so a waiter can tell
	// this intent's record from that of an earlier one with the same id.
	Subject string `json:"subject,omitempty"`
	Seq     uint64 `json:"stream_seq,omitempty"`
	// Received is when the worker received the intent; Updated when the
	// record last changed.
	Received time.Time `json:"received"`
	Updated  time.Time `json:"updated"`
	// Calls are the successful Cloudflare calls that covered the
	// intent's keys while the worker held it, one per call: for each key,
	// the last such call. It may be empty for a purged intent that was
	// settled without a call of its own (already covered on arrival).
	Calls []Call `json:"calls,omitempty"`
	// Reason says why the intent was dead-lettered.
	Reason string `json:"reason,omitempty"`
}

// Settled reports whether the record is final.
func (r *Record) Settled() bool { return r.State == Purged || r.State == DeadLettered }

// Call is one successful Cloudflare purge call.
type Call struct {
	// Type is the selector type: files, tags, hosts, prefixes or
	// purge_everything.
	Type string `json:"type"`
	// Mode is purge or invalidate.
	Mode   string `json:"mode"`
	ZoneID string `json:"zone_id"`
	// Keys is how many keys the call carried.
	Keys int `json:"keys"`
	// Issued is when the call was sent.
	Issued time.Time `json:"issued"`
	// CloudflareID is the result.id Cloudflare answered with.
	CloudflareID string `json:"cloudflare_id"`
}

// encodedPrefix marks a key that holds a base64url-encoded id.
const encodedPrefix = "="

// Key returns the KV key of the record of intent id (see the package
// documentation).
func Key(id string) string {
	if plain(id) {
		return id
	}
	return encodedPrefix + base64.RawURLEncoding.EncodeToString([]byte(id))
}

// ID returns the intent id a key was made from; it is the inverse of Key.
func ID(key string) (string, error) {
	if len(key) > len(encodedPrefix) && key[:len(encodedPrefix)] == encodedPrefix {
		b, err := base64.RawURLEncoding.DecodeString(key[len(encodedPrefix):])
		if err != nil {
			return "", fmt.Errorf("status key %q: %w", key, err)
		}
		return string(b), nil
	}
	if !plain(key) {
		return "", fmt.Errorf("status key %q: not a key made by status.Key", key)
	}
	return key, nil
}

// plain reports whether id is a valid key as it is: non-empty, only
// letters, digits, '-' and '_'.
func plain(id string) bool {
	if id == "" {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// ErrNoBucket is returned when the status bucket does not exist: no worker
// has started with tracking yet.
var ErrNoBucket = errors.New("status bucket " + Bucket + " does not exist (start purge-worker first)")
