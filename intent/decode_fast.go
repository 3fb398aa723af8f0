package intent

// decodeFast decodes the common shape of an intent without encoding/json's
// tokenizer, which costs a few allocations per token: one object whose
// fields are known, each given once, with plain strings (no escapes), a
// boolean purge_everything and lists of plain strings. It reports false for
// anything else, valid or not (escapes, null, file objects, numbers, syntax
// errors, too many items), and Decode then takes the general path, which
// alone builds errors; so the fast path never changes what is accepted or
// what an error says. The fuzz test checks that both paths agree.
//
// The strings of the intent share one copy of the body: a message's body
// is held with the message until it is settled anyway.
//
// github.com/go-json-experiment/json was measured in its place and was
// 2.3× slower on a typical body, with rejections of its own to rebuild;
// BENCHMARKS.md has the figures.
func decodeFast(data []byte) (*Intent, bool) {
	p := fastParser{data: data}
	if !p.byte('{') {
		return nil, false
	}
	in := new(Intent)
	var seen uint16
	items := 0
	if p.peek() == '}' {
		p.i++
		return in, p.end()
	}
	for {
		name, ok := p.str()
		if !ok || !p.byte(':') {
			return nil, false
		}
		bit := fieldBit(name)
		if bit == 0 || seen&bit != 0 {
			return nil, false
		}
		seen |= bit
		if !p.field(in, name, &items) {
			return nil, false
		}
		switch p.next() {
		case ',':
			continue
		case '}':
			return in, p.end()
		}
		return nil, false
	}
}

// fastParser scans one body. Its strings are cut from body, a single copy
// of data made on first use.
type fastParser struct {
	data []byte
	body string
	i    int
}

func (p *fastParser) field(in *Intent, name string, items *int) (ok bool) {
	switch name {
	case "zone":
		in.Zone, ok = p.str()
	case "mode":
		in.Mode, ok = p.str()
	case "priority":
		in.Priority, ok = p.str()
	case "id":
		in.ID, ok = p.str()
	case "source":
		in.Source, ok = p.str()
	case "purge_everything":
		in.PurgeEverything, ok = p.boolean()
	case "files":
		var urls []string
		if urls, ok = p.strs(items); ok && urls != nil {
			in.Files = make([]File, len(urls))
			for i, u := range urls {
				in.Files[i].URL = u
			}
		}
	case "tags":
		in.Tags, ok = p.strs(items)
	case "hosts":
		in.Hosts, ok = p.strs(items)
	case "prefixes":
		in.Prefixes, ok = p.strs(items)
	}
	return ok
}

// strs reads a list of plain strings, counting them against the intent's
// item limit before it allocates. An empty list is nil, as on the general
// path.
func (p *fastParser) strs(items *int) ([]string, bool) {
	if !p.byte('[') {
		return nil, false
	}
	n, ok := p.countStrings()
	if !ok {
		return nil, false
	}
	if *items += n; *items > MaxItems {
		return nil, false
	}
	if n == 0 {
		return nil, p.byte(']')
	}
	out := make([]string, 0, n)
	for {
		s, ok := p.str()
		if !ok {
			return nil, false
		}
		out = append(out, s)
		if p.next() == ']' {
			return out, true
		}
	}
}

// countStrings counts the plain strings of the list starting at p.i
// without moving p.i past them; ok is false unless the list is well formed
// and holds only plain strings. It stops counting past MaxItems.
func (p *fastParser) countStrings() (n int, ok bool) {
	q := *p
	if q.peek() == ']' {
		return 0, true
	}
	for n <= MaxItems {
		if !q.skipStr() {
			return 0, false
		}
		n++
		switch q.next() {
		case ',':
			continue
		case ']':
			return n, true
		}
		return 0, false
	}
	return n, true
}

// str reads a string without escapes or control characters.
func (p *fastParser) str() (string, bool) {
	start, end, ok := p.scanStr()
	if !ok {
		return "", false
	}
	if p.body == "" {
		p.body = string(p.data)
	}
	return p.body[start:end], true
}

func (p *fastParser) skipStr() bool {
	_, _, ok := p.scanStr()
	return ok
}

// scanStr moves past a plain string and returns the bounds of its
// contents.
func (p *fastParser) scanStr() (start, end int, ok bool) {
	if !p.byte('"') {
		return 0, 0, false
	}
	start = p.i
	for ; p.i < len(p.data); p.i++ {
		switch c := p.data[p.i]; {
		case c == '"':
			p.i++
			return start, p.i - 1, true
		case c == '\\' || c < 0x20:
			return 0, 0, false
		}
	}
	return 0, 0, false
}

func (p *fastParser) boolean() (bool, bool) {
	p.skipSpace()
	rest := p.data[p.i:]
	switch {
	case len(rest) >= 4 && string(rest[:4]) == "true":
		p.i += 4
		return true, true
	case len(rest) >= 5 && string(rest[:5]) == "false":
		p.i += 5
		return false, true
	}
	return false, false
}

// byte consumes c after optional whitespace.
func (p *fastParser) byte(c byte) bool {
	if p.peek() != c {
		return false
	}
	p.i++
	return true
}

// next consumes and returns the next non-space byte, or 0 at the end.
func (p *fastParser) next() byte {
	c := p.peek()
	if c != 0 {
		p.i++
	}
	return c
}

// peek skips whitespace and returns the next byte without consuming it,
// or 0 at the end. A NUL byte in the body is not JSON anyway and makes the
// fast path give up like any other surprise.
func (p *fastParser) peek() byte {
	p.skipSpace()
	if p.i == len(p.data) {
		return 0
	}
	return p.data[p.i]
}

func (p *fastParser) skipSpace() {
	for p.i < len(p.data) {
		switch p.data[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// end reports whether only whitespace follows.
func (p *fastParser) end() bool {
	p.skipSpace()
	return p.i == len(p.data)
}
