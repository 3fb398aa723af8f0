package chaos

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/purge-worker/purge-worker/intent"
)

// pub is one intent the chaos publishers stored.
type pub struct {
	id      string
	subject string
	in      *intent.Intent // nil for an invalid body
	bad     badIntent
	// at is taken before the first attempt to publish: the worker cannot
	// have received the message earlier, so a call that covers it must
	// have arrived at Cloudflare at or after at.
	at       time.Time
	attempts int
}

// publishers publish random intents until stopped, each retrying a
// publish that failed (NATS down or restarting) with the same Nats-Msg-Id:
// a failed publish may still have been stored, and the stream drops the
// repeat as a duplicate.
type publishers struct {
	js      jetstream.JetStream
	badPct  int
	stopped chan struct{}
	once    sync.Once
	wg      sync.WaitGroup

	mu   sync.Mutex
	pubs []*pub
	errs []error // publishes that never succeeded
}

func newPublishers(js jetstream.JetStream, badPct int) *publishers {
	return &publishers{js: js, badPct: badPct, stopped: make(chan struct{})}
}

// start runs n publishers, each pausing a random 5-60ms between intents.
func (p *publishers) start(n int, seed uint64) {
	for i := range n {
		g := newGen(seed + uint64(i)*7919)
		pause := rand.New(rand.NewPCG(seed, uint64(i)))
		p.wg.Go(func() {
			for k := 0; ; k++ {
				select {
				case <-p.stopped:
					return
				case <-time.After(time.Duration(5+pause.IntN(56)) * time.Millisecond):
				}
				p.one(g, fmt.Sprintf("chaos-%d-%d", i, k))
			}
		})
	}
}

// stop stops publishing and waits until every publish begun is stored. It
// may be called again.
func (p *publishers) stop() {
	p.once.Do(func() { close(p.stopped) })
	p.wg.Wait()
}

func (p *publishers) all() []*pub {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*pub(nil), p.pubs...)
}

func (p *publishers) refused() []error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]error(nil), p.errs...)
}

func (p *publishers) one(g *gen, id string) {
	x := &pub{id: id}
	if g.pct(p.badPct) {
		x.bad = g.invalid(id)
		x.subject = "purge.chaos"
	} else {
		x.in = g.valid(id)
		x.subject = intent.Subject(x.in)
	}
	x.at = time.Now()
	for {
		x.attempts++
		err := p.publish(x)
		if err == nil {
			break
		}
		if time.Since(x.at) > 2*time.Minute {
			p.mu.Lock()
			p.errs = append(p.errs, fmt.Errorf("intent %s: not stored after 2m of retries: %w", id, err))
			p.mu.Unlock()
			return
		}
		if errors.Is(err, intent.ErrInvalid) {
			p.mu.Lock()
			p.errs = append(p.errs, fmt.Errorf("generated intent %s: %w", id, err))
			p.mu.Unlock()
			return
		}
		time.Sleep(100 * time.Millisecond) // NATS is down; try again
	}
	p.mu.Lock()
	p.pubs = append(p.pubs, x)
	p.mu.Unlock()
}

func (p *publishers) publish(x *pub) error {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if x.in != nil {
		_, err := intent.Publish(ctx, p.js, x.subject, x.in)
		return err
	}
	msg := &nats.Msg{Subject: x.subject, Data: x.bad.body, Header: nats.Header{}}
	msg.Header.Set(nats.MsgIdHdr, x.id)
	_, err := p.js.PublishMsg(ctx, msg)
	return err
}
