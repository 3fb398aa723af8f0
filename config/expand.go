package config

import (
	"errors"
	"strings"
)

// expand replaces ${NAME} in s with getenv(NAME), ${NAME:-fallback} with the
// fallback when the variable is unset or empty, and $$ with a single $. A $
// followed by anything else is kept as it is, so a literal value holding a
// lone $ (a password, say) needs no escaping. The substituted text is not
// expanded again. A fallback cannot contain "}".
//
// refs lists the variables used, as "${NAME}", so that error messages can
// name them instead of showing a value that may be secret. Errors never
// quote s for the same reason: the line number locates the value.
func expand(s string, getenv func(string) string) (out string, refs []string, err error) {
	if !strings.Contains(s, "$") {
		return s, nil, nil
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '$')
		if i < 0 {
			b.WriteString(s)
			return b.String(), refs, nil
		}
		b.WriteString(s[:i])
		s = s[i:]
		switch {
		case strings.HasPrefix(s, "$$"):
			b.WriteByte('$')
			s = s[2:]
		case strings.HasPrefix(s, "${"):
			end := strings.IndexByte(s, '}')
			if end < 0 {
				return "", nil, errors.New(`"${" without a closing "}"; write "$$" for a literal "$"`)
			}
			name, fallback, hasFallback := strings.Cut(s[2:end], ":-")
			if !isEnvName(name) {
				return "", nil, errors.New(`a "${...}" reference needs a variable name of letters, digits and "_", not starting with a digit`)
			}
			v := getenv(name)
			if v == "" && hasFallback {
				v = fallback
			}
			b.WriteString(v)
			refs = append(refs, "${"+name+"}")
			s = s[end+1:]
		default:
			b.WriteByte('$')
			s = s[1:]
		}
	}
}

// isEnvName reports whether s is a portable environment variable name.
func isEnvName(s string) bool {
	if s == "" || (s[0] >= '0' && s[0] <= '9') {
		return false
	}
	for _, r := range s {
		if r != '_' && !isASCIIAlnum(r) {
			return false
		}
	}
	return true
}

func isASCIIAlnum(r rune) bool {
	return (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9')
}
