package cfclient_test

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/purge-worker/purge-worker/cfclient"
	"github.com/purge-worker/purge-worker/cfclient/cftest"
)

const (
	zoneID   = "023e105f4ecef8ad9ca31a8372d0c353"
	zoneName = "example.com"
)

// TestKindsAgainstFake drives the client into every outcome against the
// fake Cloudflare, with both credential schemes.
func TestKindsAgainstFake(t *testing.T) {
	files := func(n int) []cfclient.File {
		out := make([]cfclient.File, n)
		for i := range out {
			out[i] = cfclient.File{URL: "https://www.example.com/f?n=" + strconv.Itoa(i)}
		}
		return out
	}
	tests := []struct {
		name  string
		setup func(*testing.T, *cftest.Server, *cftest.Account, *cfclient.Client)
		auth  cfclient.Auth
		zone  string
		req   cfclient.Request
		kind  cfclient.Kind // 0: success
		code  int
	}{
		{name: "ok bearer", req: cfclient.Request{Files: files(3)}},
		{name: "ok email key", auth: cfclient.Auth{Email: "ops@example.com", Key: "gk"}, req: cfclient.Request{Tags: []string{"a"}}},
		{name: "rate limited", setup: func(t *testing.T, _ *cftest.Server, a *cftest.Account, c *cfclient.Client) {
			a.SetLimits(cfclient.Limits{MaxURLsPerRequest: 100, MaxKeysPerRequest: 100, FlexPerSecond: 0.5, FlexBurst: 1, URLsPerSecond: 800})
			// Drain the one-token bucket, through the other endpoint: they share it.
			if _, err := c.Purge(context.Background(), zoneID, cfclient.ModeInvalidate, cfclient.Request{Tags: []string{"t"}}); err != nil {
				t.Fatalf("draining call: %v", err)
			}
		}, req: cfclient.Request{Hosts: []string{"example.com"}}, kind: cfclient.KindRateLimited, code: cfclient.CodeRateLimited},
		{name: "too many keys", req: cfclient.Request{Files: files(101)}, kind: cfclient.KindTooManyKeys, code: cfclient.CodeTooManyFiles},
		{name: "client out of zone", req: cfclient.Request{Files: []cfclient.File{{URL: "https://example.net/"}}}, kind: cfclient.KindClient, code: cfclient.CodeOutOfZone},
		{name: "client unknown zone", zone: "ffffffffffffffffffffffffffffffff", req: cfclient.Request{Tags: []string{"a"}}, kind: cfclient.KindClient, code: cfclient.CodeCouldNotRoute},
		{name: "auth bad token", auth: cfclient.Auth{Token: "nope"}, req: cfclient.Request{Tags: []string{"a"}}, kind: cfclient.KindAuth, code: cfclient.CodeAuthentication},
		{name: "auth bad key", auth: cfclient.Auth{Email: "ops@example.com", Key: "nope"}, req: cfclient.Request{Tags: []string{"a"}}, kind: cfclient.KindAuth, code: cfclient.CodeAuthentication},
		{name: "server", setup: func(_ *testing.T, s *cftest.Server, _ *cftest.Account, _ *cfclient.Client) { s.FailNext(1, 500) }, req: cfclient.Request{Everything: true}, kind: cfclient.KindServer},
		{name: "network", setup: func(_ *testing.T, s *cftest.Server, _ *cftest.Account, _ *cfclient.Client) { s.ResetNext(1) }, req: cfclient.Request{Prefixes: []string{"www.example.com/a"}}, kind: cfclient.KindNetwork},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := cftest.NewServer()
			defer srv.Close()
			acct := srv.AddAccount("main", "free", "tok")
			acct.SetEmailKey("ops@example.com", "gk")
			srv.AddZone(zoneID, zoneName, acct)
			auth, zone := tt.auth, tt.zone
			if auth == (cfclient.Auth{}) {
				auth = cfclient.Auth{Token: "tok"}
			}
			if zone == "" {
				zone = zoneID
			}
			c := cfclient.New(srv.URL, auth, nil)
			if tt.setup != nil {
				tt.setup(t, srv, acct, c)
			}
			_, err := c.Purge(context.Background(), zone, cfclient.ModePurge, tt.req)
			if tt.kind == 0 {
				if err != nil {
					t.Fatalf("Purge: %v", err)
				}
				return
			}
			var e *cfclient.Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v, want *cfclient.Error", err)
			}
			if e.Kind != tt.kind || (tt.code != 0 && !e.HasCode(tt.code)) {
				t.Errorf("err = %v, want %v with code %d", e, tt.kind, tt.code)
			}
			if tt.kind == cfclient.KindRateLimited && e.RetryAfter != 2*time.Second {
				t.Errorf("RetryAfter = %v, want 2s", e.RetryAfter)
			}
			if tt.kind == cfclient.KindTooManyKeys && e.MaxKeys != 100 {
				t.Errorf("MaxKeys = %d, want the 100 the refusal states", e.MaxKeys)
			}
		})
	}
}
