package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/purge-worker/purge-worker/cfclient"
	"github.com/purge-worker/purge-worker/cfclient/cftest"
	"github.com/purge-worker/purge-worker/intent"
	"github.com/purge-worker/purge-worker/internal/natsconn"
	"github.com/purge-worker/purge-worker/worker"
)

// publishWindow bounds the asynchronous publishes awaiting the stream's
// acknowledgement, so that publishing a million intents does not buffer
// them all in the client.
const publishWindow = 4096

// rig is one scenario's world: an embedded JetStream server in a fresh
// store, a publisher connection, and cftest with one account holding the
// three bench zones. The worker runs beside it (see [rig.startWorker]),
// wired as the daemon wires it.
type rig struct {
	dir    string
	ns     *natsconn.Embedded
	nc     *nats.Conn
	js     jetstream.JetStream // the publisher's, with a bounded async window
	cf     *cftest.Server
	zones  *intent.Zones
	cfg    worker.Config
	plan   cfclient.Limits // the plan's limits (cftest's unless unlimited)
	pubErr atomic.Int64    // async publishes the stream refused

	run *running // the worker, while it runs

	profile     string
	stopProfile func() // ends the measured phase's CPU profile
	watchIntake bool   // drain also notes when every message was delivered
	tracked     bool   // publish with Purge-Track: true
}

// rigOptions say how to build a rig.
type rigOptions struct {
	plan      string
	unlimited bool
	window    time.Duration
	log       *slog.Logger
	profile   string // CPU profile of the measured phase, if set
}

func newRig(ctx context.Context, o rigOptions) (r *rig, err error) {
	limits, ok := cfclient.PlanLimits(o.plan)
	if !ok {
		return nil, fmt.Errorf("plan %q: want one of %v", o.plan, cfclient.Plans)
	}
	r = &rig{plan: limits, profile: o.profile, stopProfile: func() {}}
	defer func() {
		if err != nil {
			r.close()
		}
	}()
	if r.dir, err = os.MkdirTemp("", "purge-bench-*"); err != nil {
		return nil, err
	}
	if r.ns, err = natsconn.StartEmbedded("127.0.0.1:0", r.dir, nil); err != nil {
		return nil, err
	}
	if err = r.connect(r.ns.ClientURL()); err != nil {
		return nil, err
	}
	r.cf = newCloud(o.plan, o.unlimited)
	r.cfg = workerConfig(r.cf.URL, workerLimits(limits, o.unlimited), o.window, o.log)
	if r.zones, err = intentZones(); err != nil {
		return nil, err
	}
	// The streams exist before anything is published, as in production
	// where the daemon (or purgectl) created them long ago.
	if _, err = worker.Ensure(ctx, r.js, r.cfg); err != nil {
		return nil, err
	}
	return r, nil
}

// newCloud starts cftest with the bench account on plan and its zones.
func newCloud(plan string, unlimited bool) *cftest.Server {
	var opts []cftest.Option
	if unlimited {
		opts = append(opts, cftest.WithUnlimited())
	}
	cf := cftest.NewServer(opts...)
	acct := cf.AddAccount(benchAccount, plan, benchToken)
	for _, z := range benchZones {
		cf.AddZone(z.ID, z.Name, acct)
	}
	return cf
}

// connect opens the publisher's connection.
func (r *rig) connect(url string) error {
	nc, err := nats.Connect(url, nats.Name("purge-bench-publisher"))
	if err != nil {
		return fmt.Errorf("connect publisher: %w", err)
	}
	r.nc = nc
	r.js, err = jetstream.New(nc,
		jetstream.WithPublishAsyncMaxPending(publishWindow),
		jetstream.WithPublishAsyncErrHandler(func(jetstream.JetStream, *nats.Msg, error) { r.pubErr.Add(1) }))
	return err
}

// workerLimits returns the limits the worker is configured with: the
// plan's, or for an unlimited cftest the plan's per-request maxima (which
// cftest still enforces) with rates high enough never to hold it back.
func workerLimits(plan cfclient.Limits, unlimited bool) cfclient.Limits {
	if !unlimited {
		return plan
	}
	plan.FlexPerSecond, plan.FlexBurst = 1e6, 1e6
	plan.URLsPerSecond = 1e8
	return plan
}

// workerConfig is the daemon's configuration with config.yaml's defaults,
// one account and the bench zones.
func workerConfig(cfURL string, l cfclient.Limits, window time.Duration, log *slog.Logger) worker.Config {
	return worker.Config{
		Stream: "PURGE", Consumer: "purge-worker", DLQStream: "PURGE_DLQ",
		AckWait: 30 * time.Second, MaxAckPending: 20000, MaxDeliver: -1,
		Window: window, ShutdownTimeout: 20 * time.Second,
		RememberKeys: 1_000_000, // the daemon's default
		Accounts: []worker.Account{{Name: benchAccount, Limits: l,
			Purger: cfclient.New(cfURL, cfclient.Auth{Token: benchToken}, nil)}},
		Zones:  benchZones,
		Logger: log,
	}
}

func intentZones() (*intent.Zones, error) {
	zs := make([]intent.Zone, len(benchZones))
	for i, z := range benchZones {
		zs[i] = intent.Zone{ID: z.ID, Name: z.Name}
	}
	return intent.NewZones(zs)
}

// publish binds in (to count and later check it) and publishes it
// asynchronously. It returns the parts and the time publishing began.
func (r *rig) publish(in *intent.Intent) (sent, error) {
	parts, err := in.Bind(r.zones)
	if err != nil {
		return sent{}, fmt.Errorf("generated intent %s is invalid: %w", in.ID, err)
	}
	body, err := json.Marshal(in)
	if err != nil {
		return sent{}, err
	}
	msg := &nats.Msg{Subject: intent.Subject(in), Data: body}
	if r.tracked {
		msg.Header = nats.Header{intent.HeaderTrack: []string{"true"}}
	}
	at := time.Now()
	_, err = r.js.PublishMsgAsync(msg, jetstream.WithMsgID(in.ID), jetstream.WithStallWait(time.Minute))
	if err != nil {
		return sent{}, fmt.Errorf("publish: %w", err)
	}
	return sent{at: at, parts: parts}, nil
}

// flush waits until every asynchronous publish is acknowledged and checks
// that the stream stored all of them.
func (r *rig) flush(ctx context.Context) error {
	select {
	case <-r.js.PublishAsyncComplete():
	case <-ctx.Done():
		return ctx.Err()
	}
	if n := r.pubErr.Load(); n > 0 {
		return fmt.Errorf("the stream refused %d publishes", n)
	}
	return nil
}

// close stops everything the rig started and removes its store.
func (r *rig) close() {
	r.stopProfile()
	if r.run != nil {
		_ = r.run.stop()
	}
	if r.nc != nil {
		r.nc.Close()
	}
	if r.cf != nil {
		r.cf.Close()
	}
	if r.ns != nil {
		r.ns.Shutdown()
	}
	if r.dir != "" {
		_ = os.RemoveAll(r.dir)
	}
}

// shutdownNATS stops the embedded server but keeps its store, for a
// process that starts its own server on it.
func (r *rig) shutdownNATS() {
	if r.nc != nil {
		r.nc.Close()
		r.nc = nil
	}
	if r.ns != nil {
		r.ns.Shutdown()
		r.ns = nil
	}
}
