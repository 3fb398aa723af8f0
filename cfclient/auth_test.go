package cfclient

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
)

const (
	secretToken = "tok-SECRET-6b1f"
	secretKey   = "key-SECRET-93ac"
)

// TestSecretsNeverPrinted prints credentials, and a client holding them,
// every way a log line or error could, and checks the secret never shows.
func TestSecretsNeverPrinted(t *testing.T) {
	auths := []Auth{{Token: secretToken}, {Email: "ops@example.com", Key: secretKey}}
	for _, a := range auths {
		c := New("https://api.example.test/client/v4", a, nil)
		var out []string
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"} {
			out = append(out, fmt.Sprintf(verb, a), fmt.Sprintf(verb, &a), fmt.Sprintf(verb, c), fmt.Sprintf(verb, *c))
			out = append(out, fmt.Sprintf(verb, struct{ A Auth }{a}))
		}
		var logBuf bytes.Buffer
		logger := slog.New(slog.NewJSONHandler(&logBuf, nil))
		logger.Info("creds", "auth", a, "client", c)
		slog.New(slog.NewTextHandler(&logBuf, nil)).Info("creds", "auth", a, "client", c)
		out = append(out, logBuf.String())
		j, err := json.Marshal(struct{ A Auth }{a})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(j))
		for _, s := range out {
			if strings.Contains(s, secretToken) || strings.Contains(s, secretKey) {
				t.Fatalf("secret leaked: %s", s)
			}
		}
	}
}

func TestAuthApplyAndScheme(t *testing.T) {
	tests := []struct {
		auth   Auth
		scheme string
		want   http.Header
	}{
		{Auth{Token: "t1"}, "bearer", http.Header{"Authorization": {"Bearer t1"}}},
		{Auth{Token: "t1", Email: "a@b.c", Key: "k"}, "bearer", http.Header{"Authorization": {"Bearer t1"}}},
		{Auth{Email: "a@b.c", Key: "k"}, "email_key", http.Header{"X-Auth-Email": {"a@b.c"}, "X-Auth-Key": {"k"}}},
	}
	for _, tt := range tests {
		if got := tt.auth.Scheme(); got != tt.scheme {
			t.Errorf("%v Scheme = %q, want %q", tt.auth, got, tt.scheme)
		}
		h := http.Header{}
		tt.auth.apply(h)
		if fmt.Sprint(h) != fmt.Sprint(tt.want) {
			t.Errorf("%v apply = %v, want %v", tt.auth, h, tt.want)
		}
		if err := tt.auth.Validate(); err != nil {
			t.Errorf("%v Validate: %v", tt.auth, err)
		}
	}
	for _, bad := range []Auth{{}, {Email: "a@b.c"}, {Key: "k"}, {Token: "sec\nret"}, {Token: " secret"}} {
		err := bad.Validate()
		if err == nil {
			t.Errorf("Validate(%#v) = nil, want error", bad)
			continue
		}
		if bad.Token != "" && strings.Contains(err.Error(), bad.Token) {
			t.Errorf("Validate error %q holds the token", err)
		}
	}
}
