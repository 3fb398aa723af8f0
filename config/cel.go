package config

import (
	"errors"
	"fmt"
	"sync"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/ext"
)

// maxCELSource bounds an expression's text; a mapping that needs more is
// better written as a small service of its own.
const maxCELSource = 4096

// CELEnv returns the environment of a generic hook's expressions: variable
// body is the delivery's decoded JSON (dyn), headers its headers as
// map(string, string) with lower-cased names, and the strings extension
// (replace, split, join, lowerAscii, ...) is available. It is defined here,
// once, so that the expressions Validate type-checks are the ones the
// webhook package runs.
func CELEnv() (*cel.Env, error) {
	celEnvOnce.Do(func() {
		celEnv, celEnvErr = cel.NewEnv(
			cel.Variable("body", cel.DynType),
			cel.Variable("headers", cel.MapType(cel.StringType, cel.StringType)),
			ext.Strings(),
			cel.ParserRecursionLimit(100),
			cel.ParserExpressionSizeLimit(maxCELSource),
		)
	})
	return celEnv, celEnvErr
}

var (
	celEnvOnce sync.Once
	celEnv     *cel.Env
	celEnvErr  error
)

// CompiledCEL is the result of [CompileCEL]: the checked expression of
// each key that compiled, and the error of each that did not.
type CompiledCEL struct {
	ASTs map[string]*cel.Ast
	Errs map[string]error
}

// CompileCEL parses and type-checks each expression of c that is set. The
// list keys (urls, tags, hosts, prefixes) must give a list of strings, id a
// string; an expression typed dyn (reading a field of body, say) passes
// here and has its result checked when it runs.
func CompileCEL(c CEL) CompiledCEL {
	out := CompiledCEL{ASTs: map[string]*cel.Ast{}, Errs: map[string]error{}}
	env, err := CELEnv()
	if err != nil {
		out.Errs["urls"] = fmt.Errorf("cel environment: %w", err)
		return out
	}
	for key, src := range c.Exprs() {
		want := cel.ListType(cel.StringType)
		if key == "id" {
			want = cel.StringType
		}
		ast, err := compileOne(env, src, want)
		if err != nil {
			out.Errs[key] = err
			continue
		}
		out.ASTs[key] = ast
	}
	return out
}

func compileOne(env *cel.Env, src string, want *cel.Type) (*cel.Ast, error) {
	if len(src) > maxCELSource {
		return nil, fmt.Errorf("expression of %d bytes, over the limit of %d", len(src), maxCELSource)
	}
	ast, iss := env.Compile(src)
	if iss.Err() != nil {
		return nil, errors.New(iss.Err().Error())
	}
	got := ast.OutputType()
	switch {
	case got.IsExactType(want), got.IsExactType(cel.DynType):
	case want.Kind() == cel.ListType(cel.StringType).Kind() && got.Kind() == want.Kind() && got.Parameters()[0].IsExactType(cel.DynType):
	default:
		return nil, fmt.Errorf("gives %s, want %s", got, want)
	}
	return ast, nil
}
