package worker

import (
	"context"
	"log/slog"

	"github.com/purge-worker/purge-worker/cfclient"
	"github.com/purge-worker/purge-worker/intent"
)

// Purger sends one purge request for a zone. *cfclient.Client implements it;
// errors it returns are classified with errors.As into *cfclient.Error.
type Purger interface {
	Purge(ctx context.Context, zoneID string, mode cfclient.Mode, req cfclient.Request) (cfclient.Response, error)
}

// DryRun is the Purger used when no account has credentials: it logs the
// call it would make and succeeds, so the whole pipeline can be watched
// without a Cloudflare account.
type DryRun struct {
	Logger *slog.Logger
}

// Purge implements [Purger].
func (d DryRun) Purge(ctx context.Context, zoneID string, mode cfclient.Mode, req cfclient.Request) (cfclient.Response, error) {
	if err := ctx.Err(); err != nil {
		return cfclient.Response{}, err
	}
	if d.Logger != nil {
		d.Logger.LogAttrs(ctx, slog.LevelInfo, "dry_run_purge",
			slog.String("zone_id", zoneID),
			slog.String("endpoint", mode.String()),
			slog.String("type", req.Type()),
			slog.Int("keys", req.Len()),
			slog.Any("sample", sample(req, 3)))
	}
	return cfclient.Response{ID: "dry-run"}, nil
}

// sample returns the first n keys of r, for logs.
func sample(r cfclient.Request, n int) []string {
	var out []string
	for _, f := range r.Files {
		out = append(out, f.URL)
	}
	out = append(out, r.Tags...)
	out = append(out, r.Hosts...)
	out = append(out, r.Prefixes...)
	if len(out) > n {
		out = out[:n]
	}
	return out
}

// toRequest builds the body for keys of one kind.
func toRequest(kind intent.Kind, keys []intent.Key) cfclient.Request {
	var r cfclient.Request
	switch kind {
	case intent.KindEverything:
		r.Everything = true
	case intent.KindFile:
		r.Files = make([]cfclient.File, len(keys))
		for i, k := range keys {
			r.Files[i] = cfclient.File{URL: k.Value, Headers: k.HeaderMap()}
		}
	case intent.KindTag:
		r.Tags = values(keys)
	case intent.KindHost:
		r.Hosts = values(keys)
	case intent.KindPrefix:
		r.Prefixes = values(keys)
	}
	return r
}

func values(keys []intent.Key) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = k.Value
	}
	return out
}

func cfMode(m intent.Mode) cfclient.Mode {
	if m == intent.ModeInvalidate {
		return cfclient.ModeInvalidate
	}
	return cfclient.ModePurge
}
