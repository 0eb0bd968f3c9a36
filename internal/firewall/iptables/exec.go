package iptables

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
)

// Exec runs one command (argv[0] is the program) with stdin as its
// standard input and returns its standard output. It is the applier's only
// way to reach the kernel, so tests and benchmarks wrap it to count and
// record calls, and to run everything inside a network namespace.
type Exec func(ctx context.Context, stdin []byte, argv ...string) ([]byte, error)

// Direct runs commands in the current network namespace.
func Direct(ctx context.Context, stdin []byte, argv ...string) ([]byte, error) {
	return run(ctx, stdin, argv)
}

// Prefixed runs every command behind a fixed prefix, e.g.
// Prefixed("ip", "netns", "exec", "bwtest-1") runs it inside that network
// namespace.
func Prefixed(prefix ...string) Exec {
	p := append([]string(nil), prefix...)
	return func(ctx context.Context, stdin []byte, argv ...string) ([]byte, error) {
		full := make([]string, 0, len(p)+len(argv))
		full = append(append(full, p...), argv...)
		return run(ctx, stdin, full)
	}
}

// InNetns runs commands inside the named network namespace (ip netns exec).
func InNetns(name string) Exec { return Prefixed("ip", "netns", "exec", name) }

// CommandError is a command that could not run or exited non-zero.
type CommandError struct {
	Argv   []string
	Stderr string
	Err    error
}

func (e *CommandError) Error() string {
	msg := strings.TrimSpace(e.Stderr)
	if msg == "" {
		return fmt.Sprintf("%s: %v", strings.Join(e.Argv, " "), e.Err)
	}
	return fmt.Sprintf("%s: %v: %s", strings.Join(e.Argv, " "), e.Err, msg)
}

func (e *CommandError) Unwrap() error { return e.Err }

func run(ctx context.Context, stdin []byte, argv []string) ([]byte, error) {
	if len(argv) == 0 {
		return nil, errors.New("iptables: empty command")
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return stdout.Bytes(), &CommandError{Argv: argv, Stderr: stderr.String(), Err: err}
	}
	return stdout.Bytes(), nil
}
