package daemon

import (
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
)

// natsConnected exposes whether the NATS connection is up: the signal for
// "JetStream unreachable" that does not depend on the worker's role.
func natsConnected(nc *nats.Conn) prometheus.Collector {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "purge_worker_nats_connected",
		Help: "1 while the connection to NATS is up.",
	}, func() float64 {
		if nc.IsConnected() {
			return 1
		}
		return 0
	})
}
