package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strconv"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/purge-worker/purge-worker/intent"
	"github.com/purge-worker/purge-worker/worker"
)

type dlqFlags struct {
	streamFlags
	seqs  strs
	all   bool
	limit int
}

func (e env) dlq(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return errors.New("missing subcommand: list, replay or purge")
	}
	sub := args[0]
	switch sub {
	case "list", "replay", "purge":
	default:
		return fmt.Errorf("unknown subcommand %q: want list, replay or purge", sub)
	}
	var f dlqFlags
	fs := flag.NewFlagSet("dlq "+sub, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	f.register(fs)
	fs.Var(&f.seqs, "seq", "DLQ sequence to act on (repeatable)")
	fs.BoolVar(&f.all, "all", false, "act on every dead-lettered intent")
	fs.IntVar(&f.limit, "limit", 100, "list: at most this many")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	nc, js, err := f.connect()
	if err != nil {
		return err
	}
	defer nc.Close()
	st, err := js.Stream(ctx, f.dlq)
	if err != nil {
		return fmt.Errorf("stream %s: %w", f.dlq, err)
	}
	switch sub {
	case "list":
		return e.dlqList(ctx, st, f.limit)
	case "replay", "purge":
		seqs, err := f.targets(ctx, st)
		if err != nil {
			return err
		}
		if sub == "replay" {
			return e.dlqReplay(ctx, js, st, seqs)
		}
		return e.dlqPurge(ctx, st, seqs)
	}
	return nil // unreachable: sub was checked above
}

// targets returns the sequences named with --seq, or all with --all.
func (f *dlqFlags) targets(ctx context.Context, st jetstream.Stream) ([]uint64, error) {
	if f.all == (len(f.seqs) > 0) {
		return nil, errors.New("give --seq N (repeatable) or --all")
	}
	if !f.all {
		out := make([]uint64, 0, len(f.seqs))
		for _, s := range f.seqs {
			n, err := strconv.ParseUint(s, 10, 64)
			if err != nil || n == 0 {
				return nil, fmt.Errorf("--seq %q is not a sequence number", s)
			}
			out = append(out, n)
		}
		return out, nil
	}
	var out []uint64
	err := eachMsg(ctx, st, 0, func(m *jetstream.RawStreamMsg) bool {
		out = append(out, m.Sequence)
		return true
	})
	return out, err
}

// eachMsg calls fn for every message of st in order, at most limit (0: all).
func eachMsg(ctx context.Context, st jetstream.Stream, limit int, fn func(*jetstream.RawStreamMsg) bool) error {
	info, err := st.Info(ctx)
	if err != nil {
		return err
	}
	n := 0
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := st.GetMsg(ctx, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			return fmt.Errorf("read seq %d: %w", seq, err)
		}
		if !fn(m) {
			return nil
		}
		if n++; limit > 0 && n >= limit {
			return nil
		}
	}
	return nil
}

func (e env) dlqList(ctx context.Context, st jetstream.Stream, limit int) error {
	count := 0
	err := eachMsg(ctx, st, limit, func(m *jetstream.RawStreamMsg) bool {
		count++
		body := string(m.Data)
		if len(body) > 200 {
			body = body[:200] + "..."
		}
		fmt.Fprintf(e.stdout, "seq=%d time=%s subject=%s\n  error: %s\n  body:  %s\n",
			m.Sequence, m.Time.UTC().Format("2006-01-02T15:04:05Z"), m.Header.Get(worker.HeaderSubject),
			m.Header.Get(worker.HeaderError), strings.TrimSpace(body))
		return true
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%d dead-lettered intents listed\n", count)
	return nil
}

// dlqReplay republishes each message to its original subject with a new
// Nats-Msg-Id (the old one may still be in the stream's duplicate window),
// and deletes it from the DLQ only once the replay is stored.
func (e env) dlqReplay(ctx context.Context, js jetstream.JetStream, st jetstream.Stream, seqs []uint64) error {
	done := 0
	for _, seq := range seqs {
		m, err := st.GetMsg(ctx, seq)
		if err != nil {
			return fmt.Errorf("seq %d: %w (%d replayed before it)", seq, err, done)
		}
		subject := m.Header.Get(worker.HeaderSubject)
		if subject == "" {
			return fmt.Errorf("seq %d has no %s header (%d replayed before it)", seq, worker.HeaderSubject, done)
		}
		msg := &nats.Msg{Subject: subject, Data: m.Data, Header: nats.Header{}}
		msg.Header.Set(nats.MsgIdHdr, "replay-"+intent.NewID())
		if _, err := js.PublishMsg(ctx, msg); err != nil {
			return fmt.Errorf("replay seq %d to %s: %w (%d replayed before it)", seq, subject, err, done)
		}
		if err := st.DeleteMsg(ctx, seq); err != nil {
			return fmt.Errorf("replayed seq %d but could not delete it from the DLQ: %w", seq, err)
		}
		done++
		fmt.Fprintf(e.stdout, "replayed seq=%d to %s\n", seq, subject)
	}
	fmt.Fprintf(e.stdout, "%d intents replayed\n", done)
	return nil
}

func (e env) dlqPurge(ctx context.Context, st jetstream.Stream, seqs []uint64) error {
	for i, seq := range seqs {
		if err := st.DeleteMsg(ctx, seq); err != nil {
			return fmt.Errorf("delete seq %d: %w (%d deleted before it)", seq, err, i)
		}
	}
	fmt.Fprintf(e.stdout, "%d dead-lettered intents deleted\n", len(seqs))
	return nil
}
