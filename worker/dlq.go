package worker

import (
	"context"
	"errors"
	"fmt"
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
	// whose body had to be cut to fit the server's max_payload.
	HeaderTruncated = "Purge-Truncated"
	maxReasonBytes  = 1024
	dlqHeaderRoom   = 4 << 10
)

// deadLetter copies msg to the dead-letter stream with the reason, and only
// once that copy is stored terminates the original: on a work-queue stream
// Term deletes, so terminating first could lose the intent. If the copy
// cannot be stored, the original is nak'ed with a delay and tried again.
func (w *Worker) deadLetter(ctx context.Context, msg Message, kind, reason string) {
	reason = cleanReason(reason)
	dl := &nats.Msg{
		Subject: dlqSubject(msg.Subject()),
		Data:    msg.Data(),
		Header:  nats.Header{},
	}
	var seq uint64
	for k, vs := range msg.Headers() {
		if lk := strings.ToLower(k); strings.HasPrefix(lk, "nats-") || strings.HasPrefix(lk, "purge-") {
			// Nats-Msg-Id etc. would be interpreted by the DLQ stream,
			// and Purge-* are ours: a publisher must not forge them.
			continue
		}
		dl.Header[k] = vs
	}
	if id := msg.Headers().Get(nats.MsgIdHdr); id != "" {
		dl.Header.Set(HeaderOrigID, id)
	}
	if s, ok := streamSeq(msg); ok {
		seq = s
		dl.Header.Set(HeaderStream, fmt.Sprint(seq))
		// Idempotent across a crash between the copy and the term.
		dl.Header.Set(nats.MsgIdHdr, fmt.Sprintf("dlq-%s-%d", w.cfg.Stream, seq))
	}
	dl.Header.Set(HeaderError, reason)
	dl.Header.Set(HeaderSubject, msg.Subject())

	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err := w.dlq.PublishMsg(pctx, dl)
	if errors.Is(err, nats.ErrMaxPayload) {
		// An intent close to the size limit does not fit with our
		// headers. Keep the reason and as much of the body as fits, and
		// say so, rather than retrying forever.
		dl.Header.Set(HeaderTruncated, strconv.Itoa(len(dl.Data)))
		dl.Data = dl.Data[:max(0, len(dl.Data)-dlqHeaderRoom)]
		_, err = w.dlq.PublishMsg(pctx, dl)
	}
	if err != nil {
		w.log.Error("dead_letter_failed", "seq", seq, "err", err)
		_ = msg.NakWithDelay(5 * time.Second)
		w.metrics.acks.WithLabelValues("nak").Inc()
		return
	}
	if err := msg.TermWithReason(truncate(reason, 200)); err != nil {
		w.log.Warn("term_failed", "seq", seq, "err", err)
	}
	w.metrics.deadLettered.WithLabelValues(kind).Inc()
	w.metrics.acks.WithLabelValues("term").Inc()
	w.log.Warn("dead_lettered", "seq", seq, "subject", msg.Subject(), "reason", reason)
}

// streamSeq returns the stream sequence of a JetStream message.
func streamSeq(msg Message) (uint64, bool) {
	jm, ok := msg.(interface {
		Metadata() (*jetstream.MsgMetadata, error)
	})
	if !ok {
		return 0, false
	}
	md, err := jm.Metadata()
	if err != nil {
		return 0, false
	}
	return md.Sequence.Stream, true
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
