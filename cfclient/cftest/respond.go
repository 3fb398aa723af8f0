package cftest

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
)

// apiError is one entry of errors[] (and of error_chain).
type apiError struct {
	Code       int        `json:"code"`
	Message    string     `json:"message"`
	ErrorChain []apiError `json:"error_chain,omitempty"`
}

// failure is a refusal: the status, the errors[] to send, what to record.
type failure struct {
	status     int
	errs       []apiError
	outcome    string
	retryAfter int // seconds; 0: no Retry-After header
}

func fail(status int, outcome string, code int, msg string) *failure {
	return &failure{status: status, outcome: outcome, errs: []apiError{{Code: code, Message: msg}}}
}

func failf(status int, outcome string, code int, format string, args ...any) *failure {
	return fail(status, outcome, code, fmt.Sprintf(format, args...))
}

// codes lists the top-level codes of f, as recorded in Call.Codes.
func (f *failure) codes() []int {
	out := make([]int, len(f.errs))
	for i, e := range f.errs {
		out[i] = e.Code
	}
	return out
}

// envelope is Cloudflare's v4 response envelope.
type envelope struct {
	Success  bool       `json:"success"`
	Errors   []apiError `json:"errors"`
	Messages []apiError `json:"messages"`
	Result   any        `json:"result"`
}

type result struct {
	ID string `json:"id"`
}

// writeSuccess answers 200 {"success": true, ..., "result": {"id": id}}.
func writeSuccess(w http.ResponseWriter, ray, id string) {
	writeEnvelope(w, http.StatusOK, ray, envelope{Success: true, Errors: []apiError{}, Messages: []apiError{}, Result: result{ID: id}})
}

// writeFailure answers f with "success": false and "result": null.
func writeFailure(w http.ResponseWriter, ray string, f *failure) {
	if f.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(f.retryAfter))
	}
	errs := f.errs
	if errs == nil {
		errs = []apiError{}
	}
	writeEnvelope(w, f.status, ray, envelope{Errors: errs, Messages: []apiError{}})
}

func writeEnvelope(w http.ResponseWriter, status int, ray string, env envelope) {
	body, err := json.Marshal(env)
	if err != nil {
		// The envelope holds only strings and ints.
		panic(fmt.Sprintf("cftest: encode response: %v", err))
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cf-Ray", ray)
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// randomHex returns n random bytes in hex from the server's seeded source.
// Called with s.mu held.
func (s *Server) randomHex(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(s.rng.Uint32())
	}
	return hex.EncodeToString(b)
}
