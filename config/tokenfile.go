package config

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"unicode"
)

// maxSecretFile bounds what api_token_file may hold. A token is 40 bytes; the
// bound keeps a wrong path (a log file, a disk image) from being read whole.
const maxSecretFile = 64 << 10

// readTokenFiles reads each account's api_token_file into its APIToken, so
// that consumers only ever read APIToken. An account that also sets api_token
// is skipped: Validate reports the conflict.
func (c *Config) readTokenFiles() error {
	var errs []error
	for i := range c.Cloudflare.Accounts {
		a := &c.Cloudflare.Accounts[i]
		if a.APITokenFile == "" || a.APIToken != "" {
			continue
		}
		key := fmt.Sprintf("cloudflare.accounts[%d].api_token_file", i)
		tok, err := readSecretFile(a.APITokenFile)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: cannot read %s: %w", key, c.fileName(key, a.APITokenFile), err))
			continue
		}
		a.APIToken, a.tokenFromFile = tok, true
	}
	return errors.Join(errs...)
}

// fileName names the file at key for an error message: quoted, or by the
// variables it came from (see [show]).
func (c *Config) fileName(key, path string) string {
	if refs, ok := c.envRefs[key]; ok {
		return "the file named by " + refs
	}
	return fmt.Sprintf("file %q", path)
}

// readSecretFile returns the content of the regular file at path with
// trailing whitespace (the usual final newline) trimmed. Its errors never
// hold the content, nor the path, which the caller shows in its own way.
func readSecretFile(path string) (Secret, error) {
	// Stat first: opening a FIFO or a terminal would block start-up.
	fi, err := os.Stat(path)
	if err != nil {
		return "", pathless(err)
	}
	if !fi.Mode().IsRegular() {
		return "", errors.New("not a regular file")
	}
	f, err := os.Open(path)
	if err != nil {
		return "", pathless(err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxSecretFile+1))
	if err != nil {
		return "", pathless(err)
	}
	if len(data) > maxSecretFile {
		return "", fmt.Errorf("larger than %d KiB, too large for a token", maxSecretFile>>10)
	}
	tok := strings.TrimRightFunc(string(data), unicode.IsSpace)
	if tok == "" {
		return "", errors.New("is empty")
	}
	return Secret(tok), nil
}

// pathless drops the path from an *fs.PathError, keeping the cause (such as
// "no such file or directory") for errors.Is.
func pathless(err error) error {
	if pe, ok := errors.AsType[*fs.PathError](err); ok {
		return pe.Err
	}
	return err
}
