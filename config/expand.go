package config

import (
	"errors"
	"os"
	"strings"
)

// expand replaces variable references in s as a shell or docker compose
// would, with [os.Expand]: ${NAME} and $NAME by getenv(NAME),
// ${NAME:-fallback} by the fallback when the variable is unset or empty, and
// $$ by a single $. The substituted text is not expanded again. A fallback
// cannot contain "}".
//
// os.Expand silently drops a "${" without its "}" and an empty "${}"; in a
// config file both are mistakes, so they are refused first, as is a
// reference that is not a portable variable name ($1, ${A B}).
//
// refs lists the variables used, as "${NAME}", so that error messages can
// name them instead of showing a value that may be secret. Errors never
// quote s for the same reason: the line number locates the value.
func expand(s string, getenv func(string) string) (out string, refs []string, err error) {
	if !strings.Contains(s, "$") {
		return s, nil, nil
	}
	if err := checkBraces(s); err != nil {
		return "", nil, err
	}
	badName := false
	out = os.Expand(s, func(ref string) string {
		if ref == "$" {
			return "$"
		}
		name, fallback, hasFallback := strings.Cut(ref, ":-")
		if !isEnvName(name) {
			badName = true
			return ""
		}
		refs = append(refs, "${"+name+"}")
		if v := getenv(name); v != "" || !hasFallback {
			return v
		}
		return fallback
	})
	if badName {
		return "", nil, errors.New(`a "$" reference needs a variable name of letters, digits and "_", not starting with a digit; write "$$" for a literal "$"`)
	}
	return out, refs, nil
}

// checkBraces refuses the "${" forms that os.Expand would drop unnoticed.
func checkBraces(s string) error {
	for i := 0; i+1 < len(s); i++ {
		if s[i] != '$' {
			continue
		}
		switch s[i+1] {
		case '$':
			i++ // "$$" is a literal "$"
		case '{':
			end := strings.IndexByte(s[i:], '}')
			switch end {
			case -1:
				return errors.New(`"${" without a closing "}"; write "$$" for a literal "$"`)
			case 2:
				return errors.New(`an empty "${}"; write "$$" for a literal "$"`)
			}
			i += end
		}
	}
	return nil
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
