package intent

import (
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// decodeSlow is Decode without the fast path.
func decodeSlow(data []byte) (*Intent, error) {
	in := new(Intent)
	if err := newDecoder(data).intent(in); err != nil {
		return nil, err
	}
	return in, nil
}

// The fast path takes the common shapes and gives up on everything else,
// and what it takes it decodes exactly as the general path does.
func TestDecodeFastAgreesWithGeneralPath(t *testing.T) {
	many := `{"files":["` + strings.Repeat(`https://a.com/x","`, MaxItems-1) + `https://a.com/y"]}`
	tooMany := `{"tags":["` + strings.Repeat(`t","`, MaxItems) + `t"]}`
	split := `{"tags":["` + strings.Repeat(`t","`, MaxItems/2) + `t"],"hosts":["` + strings.Repeat(`h","`, MaxItems/2) + `h"]}`
	for _, tc := range []struct {
		body string
		fast bool
	}{
		{`{}`, true},
		{` { "zone" : "example.com" , "files" : [ "https://a.com/" , "https://a.com/b" ] } `, true},
		{"{\n\t\"tags\": [\"a\", \"b\"],\r\n \"id\": \"x\", \"source\": \"cms\", \"mode\": \"invalidate\"}", true},
		{`{"zone":"z","purge_everything":true}`, true},
		{`{"zone":"z","purge_everything":false,"hosts":[],"prefixes":["a.com/x"]}`, true},
		{`{"zone":"z", "hosts": [ ], "tags": [ "a" ] }`, true},
		{`{"zone":"ünïcode","tags":["日本"]}`, true},
		{many, true},
		{`{"zone":"a\"b"}`, false},                           // escape
		{`{"zone":"a\u0041"}`, false},                        // escape
		{`{"zone":null}`, false},                             // null
		{`{"files":[{"url":"https://a.com/"}]}`, false},      // object
		{`{"files":["https://a.com/",]}`, false},             // syntax error
		{`{"zone":"a","zone":"b"}`, false},                   // repeated field
		{`{"Zone":"a"}`, false},                              // unknown field
		{`{"purge_everything":1}`, false},                    // number
		{`{"purge_everything":truex}`, false},                // bad literal
		{`{"zone":"a"} {}`, false},                           // trailing data
		{`{"zone":"a"`, false},                               // truncated
		{"{\"zone\":\"a\tb\"}", false},                       // control character
		{`[]`, false},                                        // not an object
		{``, false},                                          // empty
		{tooMany, false},                                     // over the limit
		{split, false},                                       // over the limit across lists
		{`{"tags":["a"],"hosts":["b"],"tags":["c"]}`, false}, // repeated list
		{`{"tags":["a" "b"]}`, false},                        // missing comma
		{`{"zone":"a",}`, false},                             // trailing comma
		{`{"zone":"a","files":["https://a.com/"],"hosts":null}`, false}, // null list
	} {
		fast, ok := decodeFast([]byte(tc.body))
		if ok != tc.fast {
			t.Errorf("decodeFast(%.60q) ok = %v, want %v", tc.body, ok, tc.fast)
			continue
		}
		slow, err := decodeSlow([]byte(tc.body))
		if ok && (err != nil || !reflect.DeepEqual(fast, slow)) {
			t.Errorf("decodeFast(%.60q) = %+v, general path %+v, %v", tc.body, fast, slow, err)
		}
	}
}

// FuzzDecodeFast checks that whatever the fast path accepts, the general
// path accepts too and decodes to the same intent. Decode refuses invalid
// UTF-8 before either path sees it.
func FuzzDecodeFast(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		if !utf8.Valid(data) {
			return
		}
		fast, ok := decodeFast(data)
		if !ok {
			return
		}
		slow, err := decodeSlow(data)
		if err != nil {
			t.Fatalf("fast path accepted %q, general path refuses it: %v", data, err)
		}
		if !reflect.DeepEqual(fast, slow) {
			t.Fatalf("paths disagree on %q:\nfast    %+v\ngeneral %+v", data, fast, slow)
		}
	})
}
