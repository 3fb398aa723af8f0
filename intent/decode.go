package intent

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"unicode/utf8"
)

// Decode parses a message body into an Intent. It checks the JSON shape
// only; [Intent.Validate] and [Intent.Bind] check the values.
//
// Decode is stricter than encoding/json: it refuses bodies over
// [MaxBodySize], invalid UTF-8 (encoding/json would silently replace it),
// anything but one JSON object, trailing data, unknown fields and fields
// whose name differs in case (so a typo such as "mdoe" cannot silently
// change what is purged), a field given twice (encoding/json keeps the
// last), values of the wrong type, and more than [MaxItems] items, where
// it stops reading at the first item over the limit. A top-level null is
// taken as an absent field, because many encoders write null for an empty
// list; null inside a list or for a url is refused. Every error wraps
// [ErrInvalid].
func Decode(data []byte) (*Intent, error) {
	if len(data) > MaxBodySize {
		return nil, fieldError("body", strconv.Itoa(len(data))+" bytes, over the limit of "+
			strconv.Itoa(MaxBodySize)+"; split the intent")
	}
	if !utf8.Valid(data) {
		return nil, fieldError("body", "not valid UTF-8")
	}
	if in, ok := decodeFast(data); ok {
		return in, nil
	}
	d := newDecoder(data)
	in := new(Intent)
	if err := d.intent(in); err != nil {
		return nil, err
	}
	return in, nil
}

// decoder walks the JSON tokens of one intent. Walking tokens rather than
// unmarshalling into a struct is what lets Decode see repeated fields and
// stop at the item limit before it allocates the rest of a huge list.
type decoder struct {
	dec   *json.Decoder
	items int
}

func newDecoder(data []byte) *decoder {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber() // numbers are refused anyway; don't parse them
	return &decoder{dec: dec}
}

const knownFields = "zone, files, tags, hosts, prefixes, purge_everything, mode, priority, id, source"

func (d *decoder) intent(in *Intent) error {
	t, err := d.dec.Token()
	if err == io.EOF {
		return fieldError("body", "empty; want a JSON object")
	}
	if err != nil {
		return syntaxError(err)
	}
	if t != json.Delim('{') {
		return fieldError("body", "want a JSON object, got "+describe(t))
	}
	var seen uint16
	for d.dec.More() {
		name, err := d.key()
		if err != nil {
			return err
		}
		bit := fieldBit(name)
		switch {
		case bit == 0:
			return fieldValueError("body", name, "unknown field; the fields are "+knownFields)
		case seen&bit != 0:
			return fieldValueError("body", name, "field given twice")
		}
		seen |= bit
		if err := d.field(in, name); err != nil {
			return err
		}
	}
	if _, err := d.token(); err != nil { // the closing '}'
		return err
	}
	if _, err := d.dec.Token(); err != io.EOF {
		return fieldError("body", "trailing data after the JSON object")
	}
	return nil
}

// fieldBit returns the bit that marks a top-level field as seen, or 0 for
// an unknown field. Names match exactly, unlike encoding/json, which
// ignores case.
func fieldBit(name string) uint16 {
	switch name {
	case "zone":
		return 1 << 0
	case "files":
		return 1 << 1
	case "tags":
		return 1 << 2
	case "hosts":
		return 1 << 3
	case "prefixes":
		return 1 << 4
	case "purge_everything":
		return 1 << 5
	case "mode":
		return 1 << 6
	case "id":
		return 1 << 7
	case "source":
		return 1 << 8
	case "priority":
		return 1 << 9
	}
	return 0
}

func (d *decoder) field(in *Intent, name string) (err error) {
	switch name {
	case "zone":
		in.Zone, err = d.str(name)
	case "mode":
		in.Mode, err = d.str(name)
	case "priority":
		in.Priority, err = d.str(name)
	case "id":
		in.ID, err = d.str(name)
	case "source":
		in.Source, err = d.str(name)
	case "purge_everything":
		in.PurgeEverything, err = d.boolean(name)
	case "files":
		in.Files, err = d.files(name)
	case "tags":
		in.Tags, err = d.strs(name)
	case "hosts":
		in.Hosts, err = d.strs(name)
	case "prefixes":
		in.Prefixes, err = d.strs(name)
	}
	return err
}

// token returns the next token, turning JSON syntax errors into
// FieldErrors.
func (d *decoder) token() (json.Token, error) {
	t, err := d.dec.Token()
	if err != nil {
		return nil, syntaxError(err)
	}
	return t, nil
}

// key returns the next object key. Token only ever yields a string here.
func (d *decoder) key() (string, error) {
	t, err := d.token()
	if err != nil {
		return "", err
	}
	s, _ := t.(string)
	return s, nil
}

// str reads a string or null (as "").
func (d *decoder) str(field string) (string, error) {
	t, err := d.token()
	if err != nil {
		return "", err
	}
	switch v := t.(type) {
	case string:
		return v, nil
	case nil:
		return "", nil
	}
	return "", fieldError(field, "want a string, got "+describe(t))
}

// boolean reads true, false or null (as false).
func (d *decoder) boolean(field string) (bool, error) {
	t, err := d.token()
	if err != nil {
		return false, err
	}
	switch v := t.(type) {
	case bool:
		return v, nil
	case nil:
		return false, nil
	}
	return false, fieldError(field, "want true or false, got "+describe(t))
}

// list reads '[' (or null, as no list) and calls elem for each element
// token, stopping at the intent-wide item limit.
func (d *decoder) list(field string, elem func(i int, t json.Token) error) error {
	t, err := d.token()
	if err != nil || t == nil {
		return err
	}
	if t != json.Delim('[') {
		return fieldError(field, "want a list, got "+describe(t))
	}
	for i := 0; d.dec.More(); i++ {
		if d.items++; d.items > MaxItems {
			return fieldError(field, "more than "+strconv.Itoa(MaxItems)+
				" items in one intent; split it into several intents")
		}
		t, err := d.token()
		if err != nil {
			return err
		}
		if err := elem(i, t); err != nil {
			return err
		}
	}
	_, err = d.token() // the closing ']'
	return err
}

func (d *decoder) strs(field string) ([]string, error) {
	var out []string
	err := d.list(field, func(i int, t json.Token) error {
		s, ok := t.(string)
		if !ok {
			return fieldError(indexed(field, i), "want a string, got "+describe(t))
		}
		out = append(out, s)
		return nil
	})
	return out, err
}

func (d *decoder) files(field string) ([]File, error) {
	var out []File
	err := d.list(field, func(i int, t json.Token) error {
		f, err := d.file(field, i, t)
		out = append(out, f)
		return err
	})
	return out, err
}

// file reads a files entry whose first token is t; it is element i of
// field, or field itself when i < 0. The element's name is only built for
// an error, because most entries are plain strings and fine.
func (d *decoder) file(field string, i int, t json.Token) (File, error) {
	if i >= 0 {
		if s, ok := t.(string); ok {
			return File{URL: s}, nil
		}
		field = indexed(field, i)
	}
	switch v := t.(type) {
	case string:
		return File{URL: v}, nil
	case json.Delim:
		if v == '{' {
			return d.fileObject(field)
		}
	}
	return File{}, fieldError(field, `want a URL string or {"url": ..., "headers": {...}}, got `+describe(t))
}

// fileObject reads the rest of {"url": ..., "headers": {...}}.
func (d *decoder) fileObject(field string) (File, error) {
	var f File
	var hasURL, hasHeaders bool
	for d.dec.More() {
		name, err := d.key()
		if err != nil {
			return f, err
		}
		switch {
		case name == "url" && !hasURL:
			hasURL = true
			t, err := d.token()
			if err != nil {
				return f, err
			}
			s, ok := t.(string)
			if !ok {
				return f, fieldError(field+".url", "want a string, got "+describe(t))
			}
			f.URL = s
		case name == "headers" && !hasHeaders:
			hasHeaders = true
			if f.Headers, err = d.headers(field + ".headers"); err != nil {
				return f, err
			}
		case name == "url" || name == "headers":
			return f, fieldValueError(field, name, "field given twice")
		default:
			return f, fieldValueError(field, name, `unknown field; the fields are url, headers`)
		}
	}
	if _, err := d.token(); err != nil {
		return f, err
	}
	if !hasURL {
		return f, fieldError(field, `object has no "url"`)
	}
	return f, nil
}

// headers reads a {"Name": "value"} object or null, stopping past
// MaxHeaders so a hostile object cannot grow a big map.
func (d *decoder) headers(field string) (map[string]string, error) {
	t, err := d.token()
	if err != nil || t == nil {
		return nil, err
	}
	if t != json.Delim('{') {
		return nil, fieldError(field, "want an object of header names to values, got "+describe(t))
	}
	h := make(map[string]string)
	for d.dec.More() {
		name, err := d.key()
		if err != nil {
			return nil, err
		}
		if _, dup := h[name]; dup {
			return nil, fieldValueError(field, name, "header given twice")
		}
		if len(h) == MaxHeaders {
			return nil, fieldError(field, "more than "+strconv.Itoa(MaxHeaders)+" headers")
		}
		t, err := d.token()
		if err != nil {
			return nil, err
		}
		v, ok := t.(string)
		if !ok {
			return nil, fieldValueError(field, name, "header value must be a string, got "+describe(t))
		}
		h[name] = v
	}
	_, err = d.token()
	return h, err
}

// describe names the JSON type of a token for error messages.
func describe(t json.Token) string {
	switch v := t.(type) {
	case json.Delim:
		if v == '[' {
			return "a list"
		}
		return "an object"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return "an unexpected value"
}

// syntaxError reports malformed JSON with its byte offset. The messages of
// encoding/json quote the offending character as is, which may be any
// rune, so they are escaped to ASCII like every value in an error.
func syntaxError(err error) error {
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		return fieldError("body", "invalid JSON at byte "+strconv.FormatInt(se.Offset, 10)+": "+asciiSafe(se.Error()))
	case err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF):
		return fieldError("body", "invalid JSON: unexpected end of input")
	}
	return fieldError("body", "invalid JSON: "+asciiSafe(err.Error()))
}

// asciiSafe escapes everything but printable ASCII in s, as Go string
// literals do, without the surrounding quotes.
func asciiSafe(s string) string {
	q := strconv.QuoteToASCII(truncate(s))
	return q[1 : len(q)-1]
}
