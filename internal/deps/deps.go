// Package deps pins module dependencies until the packages that use them exist.
package deps

import (
	_ "github.com/cenkalti/backoff/v4"
	_ "github.com/lmittmann/tint"
	_ "github.com/nats-io/nats-server/v2/server"
	_ "github.com/nats-io/nats.go/jetstream"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/prometheus/client_golang/prometheus/promhttp"
	_ "go.yaml.in/yaml/v3"
	_ "golang.org/x/time/rate"
	_ "pgregory.net/rapid"
	_ "go.uber.org/goleak"
)

