package main

import (
	"context"
	"errors"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/purge-worker/purge-worker/internal/natsconn"
	"github.com/purge-worker/purge-worker/worker"
)

// running is a worker started in this process on its own connection, as
// the daemon runs it.
type running struct {
	nc      *nats.Conn
	js      jetstream.JetStream
	reg     *prometheus.Registry
	started time.Time
	cancel  context.CancelFunc
	done    chan error
}

// startWorker connects to url and runs a worker with cfg until stop, as
// the daemon (internal/daemon) connects and runs it.
func startWorker(url string, cfg worker.Config) (*running, error) {
	nc, err := natsconn.Connect(natsconn.Options{Servers: []string{url}, Name: "purge-bench-worker"})
	if err != nil {
		return nil, err
	}
	js, err := jetstream.New(nc, jetstream.WithDefaultTimeout(10*time.Second))
	if err != nil {
		nc.Close()
		return nil, err
	}
	reg := prometheus.NewRegistry()
	cfg.Registerer = reg
	w, err := worker.New(js, cfg)
	if err != nil {
		nc.Close()
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{nc: nc, js: js, reg: reg, cancel: cancel, done: make(chan error, 1), started: time.Now()}
	go func() { r.done <- w.Run(ctx) }()
	return r, nil
}

// stop shuts the worker down as SIGTERM would and waits for Run.
func (r *running) stop() error {
	if r.cancel == nil {
		return nil
	}
	r.cancel()
	r.cancel = nil
	defer r.nc.Close()
	select {
	case err := <-r.done:
		return err
	case <-time.After(time.Minute):
		return errors.New("worker did not stop within a minute")
	}
}

// acked returns how many messages the worker acked, from its metrics.
func (r *running) acked() int {
	return int(counter(r.reg, "purge_worker_acks_total", "result", "ack"))
}

// counter returns the value of a counter with one label set to value.
func counter(g prometheus.Gatherer, name, label, value string) float64 {
	mfs, err := g.Gather()
	if err != nil {
		return 0
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetName() == label && lp.GetValue() == value {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}
