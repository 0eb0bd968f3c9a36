package lab

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// startDetached starts argv in its own session with its output appended
// to logPath, so it outlives `lab up`. The child is reaped in the
// background while this process lives (a dead child must not linger as a
// zombie that still answers kill -0).
func startDetached(argv []string, env []string, logPath string) (int, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return 0, fmt.Errorf("lab: open log: %w", err)
	}
	defer logf.Close()
	fmt.Fprintf(logf, "---- %s started %s ----\n", time.Now().UTC().Format(time.RFC3339), strings.Join(argv, " "))
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("lab: start %s: %w", argv[0], err)
	}
	go func() { _ = cmd.Wait() }()
	return cmd.Process.Pid, nil
}

func writePID(path string, pid int) error {
	if err := os.WriteFile(path, []byte(strconv.Itoa(pid)+"\n"), 0o600); err != nil {
		return fmt.Errorf("lab: write pid file: %w", err)
	}
	return nil
}

func readPID(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

// cmdline returns a process's arguments joined by spaces ("" if gone or a
// zombie).
func cmdline(pid int) string {
	if pid <= 0 {
		return ""
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ""
	}
	if i := bytes.LastIndexByte(stat, ')'); i > 0 && i+2 < len(stat) && stat[i+2] == 'Z' {
		return ""
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(bytes.ReplaceAll(b, []byte{0}, []byte{' '})))
}

// aliveAs reports whether pid is running and its command line contains
// marker (so a recycled pid is never taken for the lab's process).
func aliveAs(pid int, marker string) bool {
	c := cmdline(pid)
	return c != "" && strings.Contains(c, marker)
}

// stopPID sends SIGTERM to pid if it still is the process marker names,
// waits up to grace for it to exit, then SIGKILLs it.
func stopPID(pid int, marker string, grace time.Duration) error {
	if !aliveAs(pid, marker) {
		return nil
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("lab: stop pid %d: %w", pid, err)
	}
	deadline := time.Now().Add(grace)
	for time.Now().Before(deadline) {
		if !aliveAs(pid, marker) {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("lab: kill pid %d: %w", pid, err)
	}
	for i := 0; i < 40 && aliveAs(pid, marker); i++ {
		time.Sleep(50 * time.Millisecond)
	}
	return nil
}

// findProcs lists the pids whose command line contains every marker:
// leftovers of a lab whose pid files are gone.
func findProcs(markers ...string) []int {
	ents, _ := os.ReadDir("/proc")
	var out []int
	self := os.Getpid()
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		c := cmdline(pid)
		if c == "" {
			continue
		}
		all := true
		for _, m := range markers {
			if !strings.Contains(c, m) {
				all = false
				break
			}
		}
		if all {
			out = append(out, pid)
		}
	}
	return out
}

// absDir makes a lab directory absolute, so markers and pid files agree
// whichever directory later commands run from.
func absDir(dir string) (string, error) {
	a, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("lab: directory %q: %w", dir, err)
	}
	return a, nil
}
