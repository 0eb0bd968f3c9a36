package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/bulwark-net/bulwark/internal/cli/output"
	"github.com/gophercloud/gophercloud/v2"
)

// Exit codes scripts can rely on (docs/cli.md lists them).
const (
	ExitOK       = 0
	ExitError    = 1 // the server refused the request, or it could not be sent
	ExitUsage    = 2 // bad command line: nothing was sent to the server
	ExitNotFound = 3 // a named resource does not exist (or the server said 404)
	ExitConflict = 4 // the server answered 409 (in use, already exists, port security conflicts)
	ExitAuth     = 5 // authentication failed or the caller may not do this (401, 403)
)

// Error is an error with the exit code the process should end with.
type Error struct {
	Code int
	Err  error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// usagef is a command-line error: exit 2, nothing sent.
func usagef(format string, args ...any) error {
	return &Error{Code: ExitUsage, Err: fmt.Errorf(format, args...)}
}

// notFoundf is a resource that does not exist: exit 3.
func notFoundf(format string, args ...any) error {
	return &Error{Code: ExitNotFound, Err: fmt.Errorf(format, args...)}
}

// ExitCode maps an error returned by any verb to the process exit code.
func ExitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	var ue *output.UsageError
	if errors.As(err, &ue) {
		return ExitUsage
	}
	var rc gophercloud.ErrUnexpectedResponseCode
	if errors.As(err, &rc) {
		return codeForStatus(rc.Actual)
	}
	// cobra's own parse errors.
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand flag", "invalid argument", "flag needs an argument",
		"accepts ", "requires at least", "required flag", "if any flags in the group"} {
		if strings.HasPrefix(msg, p) {
			return ExitUsage
		}
	}
	return ExitError
}

func codeForStatus(status int) int {
	switch status {
	case http.StatusNotFound:
		return ExitNotFound
	case http.StatusConflict:
		return ExitConflict
	case http.StatusUnauthorized, http.StatusForbidden:
		return ExitAuth
	}
	return ExitError
}

// apiError turns a gophercloud error into the server's own message
// (NeutronError.message, or Keystone's error.message) with its exit code;
// other errors pass unchanged.
func apiError(err error) error {
	if err == nil {
		return nil
	}
	var rc gophercloud.ErrUnexpectedResponseCode
	if !errors.As(err, &rc) {
		return err
	}
	return &Error{Code: codeForStatus(rc.Actual), Err: errors.New(serverMessage(rc.Actual, rc.Body))}
}

// serverMessage extracts the human message of an error body.
func serverMessage(status int, body []byte) string {
	var b struct {
		NeutronError *struct {
			Type    string `json:"type"`
			Message string `json:"message"`
		} `json:"NeutronError"`
		Error *struct {
			Message string `json:"message"`
		} `json:"error"`
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &b) == nil {
		switch {
		case b.NeutronError != nil && b.NeutronError.Message != "":
			return b.NeutronError.Message
		case b.Error != nil && b.Error.Message != "":
			return b.Error.Message
		case b.Message != "":
			return b.Message
		}
	}
	if text := strings.TrimSpace(string(body)); text != "" && len(text) < 500 {
		return fmt.Sprintf("HTTP %d: %s", status, text)
	}
	return fmt.Sprintf("HTTP %d %s", status, http.StatusText(status))
}
