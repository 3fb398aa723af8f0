package config

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// planted is what every variable holds in FuzzParse. Its first line marks
// it; the rest tries to add keys if expansion were textual.
const (
	plantedMark      = "PLANTEDsecret"
	plantedToken     = plantedMark + "-0123456789abcdef"
	plantedMultiline = plantedMark + "\nbatch: {window: 0s}\n: x"
)

// FuzzParse checks that no input makes Parse panic, that no error shows a
// value taken from the environment, and that what Parse accepts is valid.
func FuzzParse(f *testing.F) {
	shipped, err := os.ReadFile("../config.yaml")
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{
		string(shipped),
		minimal,
		strings.ReplaceAll(string(shipped), "url: embedded", "url: nats://${NATS_HOST}:4222,tls://h2"),
		strings.ReplaceAll(string(shipped), "ingest_tokens: []", "ingest_tokens: [\"${INGEST}\", short]"),
		strings.ReplaceAll(string(shipped), "023e105f4ecef8ad9ca31a8372d0c353", "${ZONE_ID}"),
		strings.ReplaceAll(string(shipped), "window: 1s", "window: ${WINDOW:-2s}"),
		zonesOf("{name: a, plan: pro, api_email: \"${EMAIL}\", api_key: \"${KEY}\"}", zone),
		zonesOf("{name: a, plan: pro, api_token_file: \"${TOKEN_FILE}\"}", zone),
		zonesOf("{name: a, plan: gold, api_token: [x]}", "{name: EXAMPLE.com., id: \"${ID}\", account: b}"),
		minimal + "http:\n  webhooks:\n    - {name: g, provider: generic, secrets: [\"${S}\"], zone: example.com, cel: {urls: \"${EXPR}\", tags: '[\"a\"]'}}\n" +
			"    - {name: h, provider: ghost, secrets: [\"${S}\"], also: [\"${ALSO}\"], zone: \"${ZONE}\"}\n",
		"nats: {url: &a embedded}\nbatch: *a\nlog:\n  <<: {level: info}\n",
		"nats: {ack_wait: 30, max_deliver: x}\n---\nlog: {}\n",
	} {
		f.Add([]byte(seed), false)
		f.Add([]byte(seed), true)
	}
	f.Fuzz(func(t *testing.T, data []byte, multiline bool) {
		value := plantedToken
		if multiline {
			value = plantedMultiline
		}
		cfg, err := Parse(data, func(string) string { return value })
		if err != nil {
			if strings.Contains(err.Error(), plantedMark) && !bytes.Contains(data, []byte(plantedMark)) {
				t.Fatalf("error shows a value from the environment:\n%v", err)
			}
			return
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("Parse accepted a config that Validate refuses: %v", err)
		}
	})
}
