package worker

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Headers the worker sets on a dead-lettered copy. Purge-Error and
// Purge-Subject are part of the contract (docs/design.md); operators and
// `purgectl dlq` read them.
const (
	HeaderError   = "Purge-Error"
	HeaderSubject = "Purge-Subject"
	HeaderStream  = "Purge-Stream-Seq"
	HeaderOrigID  = "Purge-Msg-Id"
	// HeaderTruncated is set, to the original body length, on a copy
	// whose body had to be cut to fit the dead-letter stream.
	HeaderTruncated = "Purge-Truncated"
	// HeaderDropped is set on a copy that had to leave out the
	// publisher's headers to fit: it names them and their total size.
	HeaderDropped = "Purge-Dropped-Headers"
)

const (
	maxReasonBytes = 1024
	// maxKeptID is the longest publisher message id a trimmed copy keeps
	// in Purge-Msg-Id; a longer one is listed as dropped.
	maxKeptID = 256
	// trimRoom is what a trimmed copy leaves free of max_payload for the
	// subject, the reply and the protocol around the headers it counts.
	trimRoom = 4 << 10
	// errCodeHeaderTooLarge is JetStream's "header size exceeds maximum
	// allowed of 64k" (its store keeps a header's length in 16 bits);
	// nats.go has no constant for it.
	errCodeHeaderTooLarge jetstream.ErrorCode = 10097

	// maxDeadLetterDeliveries bounds the deliveries a message gets while
	// its dead-letter copy cannot be stored. The copy is retried on each,
	// after a delay that doubles from deadLetterRetry up to
	// maxDeadLetterRetry; after the last the message is terminated without
	// a copy, so that nothing is retried forever.
	maxDeadLetterDeliveries = 10
	deadLetterRetry         = 5 * time.Second
	maxDeadLetterRetry      = time.Minute
	// publishTimeout bounds one attempt to store a copy.
	publishTimeout = 10 * time.Second
)

// deadJob is a message to dead-letter and why.
type deadJob struct {
	id     uint64 // in the deadQueue
	msg    message
	kind   string // metric label: invalid, rejected
	reason string
}

// deadLetter copies a message to the dead-letter stream with the reason,
// and only once that copy is stored terminates the original: on a
// work-queue stream Term deletes, so terminating first could lose the
// intent. A copy too large for the stream is stored trimmed, saying what
// was left out. If no copy can be stored, the original is nak'ed with a
// delay and tried again, up to maxDeadLetterDeliveries, then terminated.
func (w *Worker) deadLetter(ctx context.Context, j deadJob) {
	msg := j.msg
	reason := cleanReason(j.reason)
	md := metadata(msg)
	var seq uint64
	if md != nil {
		seq = md.Sequence.Stream
	}
	err := w.storeCopy(ctx, msg, reason, seq)
	if err != nil && ctx.Err() != nil {
		// The shutdown deadline passed: not the stream's fault. Another
		// replica, or the next start, gets the message at once.
		_ = msg.Nak()
		w.metrics.acks.WithLabelValues("nak").Inc()
		return
	}
	if err != nil {
		w.copyFailed(msg, md, j.kind, reason, err)
		return
	}
	if err := msg.TermWithReason(truncate(reason, 200)); err != nil {
		w.log.Warn("term_failed", "seq", seq, "err", err)
	}
	w.track.deadLettered(msg, seq, reason, time.Now())
	w.metrics.deadLettered.WithLabelValues(j.kind).Inc()
	w.metrics.acks.WithLabelValues("term").Inc()
	w.log.Warn("dead_lettered", "seq", seq, "subject", msg.Subject(), "reason", reason)
}

// storeCopy publishes the copy, and when the dead-letter stream refuses it
// for its size, a trimmed one: without the publisher's headers and with as
// much of the body as fits, then without the body.
func (w *Worker) storeCopy(ctx context.Context, msg message, reason string, seq uint64) error {
	dl := w.fullCopy(msg, reason, seq)
	err := w.publishCopy(ctx, dl)
	if !tooLarge(err) {
		return err
	}
	w.log.Warn("dead_letter_too_large", "seq", seq, "body_bytes", len(dl.Data), "err", err)
	dl = trimmed(dl, msg, w.maxPayload())
	if err = w.publishCopy(ctx, dl); !tooLarge(err) {
		return err
	}
	if len(dl.Data) == 0 {
		return err
	}
	dl.Header.Set(HeaderTruncated, strconv.Itoa(len(msg.Data())))
	dl.Data = nil
	return w.publishCopy(ctx, dl)
}

func (w *Worker) publishCopy(ctx context.Context, dl *nats.Msg) error {
	pctx, cancel := context.WithTimeout(ctx, publishTimeout)
	defer cancel()
	_, err := w.dlq.PublishMsg(pctx, dl)
	return err
}

// maxPayload is the server's max_payload as the connection learnt it, or
// NATS's default when there is no connection (unit tests).
func (w *Worker) maxPayload() int {
	if w.js != nil {
		if mp := w.js.Conn().MaxPayload(); mp > 0 {
			return int(mp)
		}
	}
	return 1 << 20
}

// copyFailed settles a message whose copy could not be stored: nak'ed with
// a growing delay for another try, or terminated on its last delivery:
// the maxDeadLetterDeliveries-th, or the consumer's max_deliver-th if that
// comes first (JetStream would then leave it in the stream for good).
func (w *Worker) copyFailed(msg message, md *jetstream.MsgMetadata, kind, reason string, err error) {
	delivered := uint64(1)
	var seq uint64
	if md != nil {
		delivered, seq = max(md.NumDelivered, 1), md.Sequence.Stream
	}
	last := uint64(maxDeadLetterDeliveries)
	if w.cfg.MaxDeliver > 0 {
		last = min(last, uint64(w.cfg.MaxDeliver))
	}
	if delivered < last {
		delay := min(deadLetterRetry<<(delivered-1), maxDeadLetterRetry)
		w.log.Error("dead_letter_failed", "seq", seq, "delivered", delivered, "retry_in", delay.String(), "err", err)
		_ = msg.NakWithDelay(delay)
		w.metrics.acks.WithLabelValues("nak").Inc()
		return
	}
	// The reason goes to the log and the term: it is all that is left.
	w.log.Error("dead_letter_abandoned", "seq", seq, "subject", msg.Subject(), "delivered", delivered,
		"body_bytes", len(msg.Data()), "reason", reason, "err", err)
	if err := msg.TermWithReason(truncate("no dead-letter copy: "+reason, 200)); err != nil {
		w.log.Warn("term_failed", "seq", seq, "err", err)
	}
	w.track.deadLettered(msg, seq, "no dead-letter copy: "+reason, time.Now())
	w.metrics.deadLetterLost.WithLabelValues(kind).Inc()
	w.metrics.acks.WithLabelValues("term").Inc()
}

// fullCopy is the dead-letter copy of msg: its body and the publisher's
// headers, with the worker's Purge-* headers.
func (w *Worker) fullCopy(msg message, reason string, seq uint64) *nats.Msg {
	dl := &nats.Msg{
		Subject: dlqSubject(msg.Subject()),
		Data:    msg.Data(),
		Header:  nats.Header{},
	}
	for k, vs := range msg.Headers() {
		if !publisherHeader(k) {
			continue
		}
		dl.Header[k] = vs
	}
	if id := msg.Headers().Get(nats.MsgIdHdr); id != "" {
		dl.Header.Set(HeaderOrigID, id)
	}
	if seq != 0 {
		dl.Header.Set(HeaderStream, strconv.FormatUint(seq, 10))
		// Idempotent across a crash between the copy and the term.
		dl.Header.Set(nats.MsgIdHdr, fmt.Sprintf("dlq-%s-%d", w.cfg.Stream, seq))
	}
	dl.Header.Set(HeaderError, reason)
	dl.Header.Set(HeaderSubject, msg.Subject())
	return dl
}

// publisherHeader reports whether a header of the original message goes on
// the copy: Nats-* would be interpreted by the dead-letter stream, and
// Purge-* are ours, which a publisher must not forge.
func publisherHeader(k string) bool {
	lk := strings.ToLower(k)
	return !strings.HasPrefix(lk, "nats-") && !strings.HasPrefix(lk, "purge-")
}

// trimmed returns dl without the publisher's headers (and without a
// publisher message id too long to be one), naming what it left out in
// Purge-Dropped-Headers, and with the body cut to what fits in maxPayload.
func trimmed(dl *nats.Msg, msg message, maxPayload int) *nats.Msg {
	out := &nats.Msg{Subject: dl.Subject, Header: nats.Header{}}
	var dropped []string
	size := 0
	for k, vs := range dl.Header {
		if publisherHeader(k) {
			dropped = append(dropped, k)
			for _, v := range vs {
				size += len(k) + len(v) + 4 // "k: v\r\n"
			}
			continue
		}
		out.Header[k] = vs
	}
	if id := out.Header.Get(HeaderOrigID); len(id) > maxKeptID {
		out.Header.Del(HeaderOrigID)
		dropped = append(dropped, HeaderOrigID)
		size += len(HeaderOrigID) + len(id) + 4
	}
	if len(dropped) > 0 {
		slices.Sort(dropped)
		out.Header.Set(HeaderDropped, cleanReason(fmt.Sprintf("%d bytes: %s", size, strings.Join(dropped, ", "))))
	}
	room := maxPayload - headerBytes(out.Header) - len(out.Subject) - trimRoom
	out.Data = msg.Data()
	if len(out.Data) > room {
		out.Header.Set(HeaderTruncated, strconv.Itoa(len(out.Data)))
		out.Data = out.Data[:max(room, 0)]
	}
	return out
}

// headerBytes is the size of h on the wire, near enough.
func headerBytes(h nats.Header) int {
	n := len("NATS/1.0\r\n\r\n")
	for k, vs := range h {
		for _, v := range vs {
			n += len(k) + len(v) + 4
		}
	}
	return n
}

// tooLarge reports whether a publish failed for the size of the message
// or of its headers, which a smaller copy can fix.
func tooLarge(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, nats.ErrMaxPayload) {
		return true
	}
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && (apiErr.ErrorCode == errCodeHeaderTooLarge ||
		apiErr.ErrorCode == jetstream.JSErrCodeStreamMessageExceedsMaximum)
}

// metadata returns the JetStream metadata of msg, or nil.
func metadata(msg message) *jetstream.MsgMetadata {
	jm, ok := msg.(interface {
		Metadata() (*jetstream.MsgMetadata, error)
	})
	if !ok {
		return nil
	}
	md, err := jm.Metadata()
	if err != nil {
		return nil
	}
	return md
}

func dlqSubject(subject string) string {
	return dlqPrefix + strings.TrimPrefix(subject, "purge.")
}

// cleanReason makes a reason safe for a header: one line, bounded.
func cleanReason(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' || r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	return truncate(s, maxReasonBytes)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	// Cut on a rune boundary.
	for n > 0 && (s[n]&0xC0) == 0x80 {
		n--
	}
	return s[:n] + "..."
}
