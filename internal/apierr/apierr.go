// Package apierr defines the error every layer returns to a client: an HTTP
// status plus Neutron's exception type name and message. Keeping it apart
// from HTTP lets validation and the service layer produce exactly the
// NeutronError a real Neutron would, without importing net/http.
package apierr

import (
	"errors"
	"fmt"
)

// Error is a client-visible failure, rendered as
// {"NeutronError": {"type": Type, "message": Message, "detail": ""}}.
type Error struct {
	Status  int
	Type    string
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Type, e.Message) }

// New builds an Error with a formatted message.
func New(status int, typ, format string, args ...any) *Error {
	return &Error{Status: status, Type: typ, Message: fmt.Sprintf(format, args...)}
}

// BadRequest is Neutron's generic attribute-validation failure (HTTPBadRequest).
func BadRequest(format string, args ...any) *Error {
	return New(400, "HTTPBadRequest", format, args...)
}

// InvalidInput is Neutron's InvalidInput exception (400).
func InvalidInput(format string, args ...any) *Error {
	return New(400, "InvalidInput", "Invalid input for operation: "+format, args...)
}

// InvalidAttr is the message attribute validators produce in Neutron:
// "Invalid input for NAME. Reason: REASON."
func InvalidAttr(name, reason string) *Error {
	return BadRequest("Invalid input for %s. Reason: %s.", name, reason)
}

// Conflict builds a 409 with the given exception type.
func Conflict(typ, format string, args ...any) *Error { return New(409, typ, format, args...) }

// NotFound builds a 404 with the given exception type.
func NotFound(typ, format string, args ...any) *Error { return New(404, typ, format, args...) }

// As extracts an *Error from err's chain.
func As(err error) (*Error, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e, true
	}
	return nil, false
}
