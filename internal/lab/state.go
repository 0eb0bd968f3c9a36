package lab

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// State is what `lab up` made, kept as state.json in the lab directory so
// status, story and down find it again (down also works without it).
type State struct {
	Name      string    `json:"name"`
	Dir       string    `json:"dir"`
	CreatedAt time.Time `json:"created_at"`
	// Server is the API root; PrivateServer says the lab started it (a
	// noauth server with its database in Dir) and must stop it.
	Server        string    `json:"server"`
	PrivateServer bool      `json:"private_server"`
	Host          string    `json:"host"`
	HostNS        string    `json:"host_netns"`
	ClientNS      string    `json:"client_netns"`
	NetworkID     string    `json:"network_id,omitempty"`
	SubnetID      string    `json:"subnet_id,omitempty"`
	GroupID       string    `json:"security_group_id,omitempty"`
	VMs           []VMState `json:"vms"`
}

// VMState is one keepalived node as built.
type VMState struct {
	Name     string `json:"name"`
	NetNS    string `json:"netns"`
	PortID   string `json:"port_id,omitempty"`
	IP       string `json:"ip"`
	MAC      string `json:"mac,omitempty"`
	Tap      string `json:"tap,omitempty"`
	Priority int    `json:"priority"`
}

const stateFile = "state.json"

// DefaultDir is where a lab keeps its files when --dir is not given.
func DefaultDir(name string) string { return filepath.Join("var", "lab", name) }

func (s *State) save() error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(s.Dir, stateFile+".tmp")
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("lab: write state: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(s.Dir, stateFile)); err != nil {
		return fmt.Errorf("lab: write state: %w", err)
	}
	return nil
}

// ErrNoLab means the lab directory has no state file.
var ErrNoLab = errors.New("no lab state")

func loadState(dir string) (*State, error) {
	b, err := os.ReadFile(filepath.Join(dir, stateFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("lab: %s: %w (run 'bulwark lab up')", dir, ErrNoLab)
	}
	if err != nil {
		return nil, fmt.Errorf("lab: read state: %w", err)
	}
	var s State
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("lab: parse %s: %w", filepath.Join(dir, stateFile), err)
	}
	return &s, nil
}

func (s *State) vm(name string) *VMState {
	for i := range s.VMs {
		if s.VMs[i].Name == name {
			return &s.VMs[i]
		}
	}
	return nil
}
