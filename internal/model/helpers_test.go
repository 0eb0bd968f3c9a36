package model_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/bulwark-net/bulwark/internal/apierr"
	"github.com/bulwark-net/bulwark/internal/model"
)

// Identifiers used across the tests.
const (
	sgID  = "68cc7ec8-9aab-4295-ae6d-7d60c32757ea"
	sg2ID = "5c3d7a2e-0000-4000-8000-0123456789ab"
	agID  = "0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d"
	netID = "fa6d8a25-0ab4-4f84-b406-cc12b0f324be"
	subID = "cc8f8b7e-e110-4306-9f03-ae4b78314467"
)

// attrs decodes one resource object written as JSON.
func attrs(t testing.TB, body string) model.Attrs {
	t.Helper()
	var a model.Attrs
	if err := json.Unmarshal([]byte(body), &a); err != nil {
		t.Fatalf("bad test body %s: %v", body, err)
	}
	return a
}

// wantErr is what a failing case must produce; the zero value means
// "no error".
type wantErr struct {
	status int
	typ    string
	msg    string
}

func (w wantErr) ok() bool { return w.status == 0 }

// bad is the common 400 HTTPBadRequest.
func bad(msg string) wantErr { return wantErr{400, "HTTPBadRequest", msg} }

// invalidInput is 400 InvalidInput with Neutron's prefix and final dot.
func invalidInput(msg string) wantErr {
	return wantErr{400, "InvalidInput", "Invalid input for operation: " + msg}
}

// invalidAttr is the attribute validator's "Invalid input for X. Reason: Y."
func invalidAttr(name, reason string) wantErr {
	return bad("Invalid input for " + name + ". Reason: " + reason + ".")
}

func typed(status int, typ, msg string) wantErr { return wantErr{status, typ, msg} }

// check compares err with want: status, type and message exactly.
func check(t testing.TB, err error, want wantErr) {
	t.Helper()
	if want.ok() {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("no error; want %d %s %q", want.status, want.typ, want.msg)
	}
	e, ok := apierr.As(err)
	if !ok {
		t.Fatalf("error %v (%T) is not an *apierr.Error", err, err)
	}
	if e.Status != want.status || e.Type != want.typ || e.Message != want.msg {
		t.Fatalf("got  %d %s %q\nwant %d %s %q", e.Status, e.Type, e.Message, want.status, want.typ, want.msg)
	}
}

func strp(s string) *string { return &s }
func intp(i int) *int       { return &i }

func deref(p *string) string {
	if p == nil {
		return "<nil>"
	}
	return *p
}

func derefInt(p *int) string {
	if p == nil {
		return "<nil>"
	}
	return fmt.Sprint(*p)
}
