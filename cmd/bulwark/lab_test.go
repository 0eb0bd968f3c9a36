package main

import (
	"bytes"
	"slices"
	"strings"
	"testing"
)

// TestLabVerbs: `bulwark lab` is registered with its four verbs and their
// flags, and a lab that does not exist is named as such.
func TestLabVerbs(t *testing.T) {
	cmd := labCmd()
	var verbs []string
	for _, c := range cmd.Commands() {
		verbs = append(verbs, c.Name())
	}
	slices.Sort(verbs)
	if want := []string{"down", "status", "story", "up"}; !slices.Equal(verbs, want) {
		t.Errorf("lab verbs %v, want %v", verbs, want)
	}
	for _, f := range []string{"name", "dir", "server", "private-server"} {
		if cmd.PersistentFlags().Lookup(f) == nil {
			t.Errorf("lab has no --%s", f)
		}
	}
	found := false
	for _, mk := range registered {
		if mk().Name() == "lab" {
			found = true
		}
	}
	if !found {
		t.Error("lab is not in the verb registry")
	}
	sub, _, err := cmd.Find([]string{"status"})
	if err != nil || sub.Flags().Lookup("json") == nil {
		t.Errorf("lab status --json: %v", err)
	}
	if sub, _, err = cmd.Find([]string{"story"}); err != nil || sub.Flags().Lookup("yes") == nil {
		t.Errorf("lab story --yes: %v", err)
	}

	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs([]string{"status", "--name", "nosuchlab", "--dir", t.TempDir()})
	err = cmd.Execute()
	if err == nil || !strings.Contains(err.Error(), "no lab state") || !strings.Contains(err.Error(), "bulwark lab up") {
		t.Errorf("status of a missing lab: %v", err)
	}
	cmd.SetArgs([]string{"status", "--name", "Bad-Name"})
	if err := cmd.Execute(); err == nil || !strings.Contains(err.Error(), "lower-case letters and digits") {
		t.Errorf("status with a bad name: %v", err)
	}
}
