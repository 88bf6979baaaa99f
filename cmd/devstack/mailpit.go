package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// mailpit is the local mail catcher (github.com/axllent/mailpit, installed
// into bin/ by `make deps`): SMTP for the survey sender, and a web UI and
// API where a person (or a test) reads what was sent.
type mailpit struct {
	cmd     *exec.Cmd
	done    chan struct{}
	smtp    string
	ui      string
	tempDir string
}

// findMailpit locates the binary: KEHU_MAILPIT, bin/mailpit, or PATH.
func findMailpit() (string, error) {
	if p := os.Getenv("KEHU_MAILPIT"); p != "" {
		return p, nil
	}
	if p, err := filepath.Abs(filepath.Join("bin", "mailpit")); err == nil {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	if p, err := exec.LookPath("mailpit"); err == nil {
		return p, nil
	}
	return "", errors.New("mailpit not found: run `make deps` (it installs github.com/axllent/mailpit into bin/) or set KEHU_MAILPIT")
}

func startMailpit(ctx context.Context, o options, log *slog.Logger) (*mailpit, error) {
	bin, err := findMailpit()
	if err != nil {
		return nil, err
	}
	for _, addr := range []string{o.smtpAddr, o.mailUI} {
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			c.Close()
			return nil, fmt.Errorf("%s is already in use: stop what uses it or set KEHU_SMTP_ADDR / KEHU_MAILPIT_UI", addr)
		}
	}
	m := &mailpit{done: make(chan struct{}), smtp: o.smtpAddr, ui: o.mailUI}
	// Its database: the data folder for `make run`, a temporary one for tests.
	dir := filepath.Join(o.dataDir, "mailpit")
	if o.inMemory || o.execArgs != nil {
		if dir, err = os.MkdirTemp("", "kehu-mailpit-"); err != nil {
			return nil, err
		}
		m.tempDir = dir
	} else if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	m.cmd = exec.Command(bin, "--smtp", o.smtpAddr, "--listen", o.mailUI, "--database", filepath.Join(dir, "mailpit.db"),
		"--quiet", "--disable-version-check")
	ownGroup(m.cmd)
	if err := m.cmd.Start(); err != nil {
		m.removeTemp()
		return nil, fmt.Errorf("start mailpit: %w", err)
	}
	go func() { _ = m.cmd.Wait(); close(m.done) }()
	deadline := time.Now().Add(20 * time.Second)
	for _, addr := range []string{o.smtpAddr, o.mailUI} {
		for {
			c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
			if err == nil {
				c.Close()
				break
			}
			select {
			case <-m.done:
				m.removeTemp()
				return nil, errors.New("mailpit exited at start")
			case <-ctx.Done():
				m.stop()
				return nil, ctx.Err()
			case <-time.After(100 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				m.stop()
				return nil, errors.New("mailpit did not start within 20s")
			}
		}
	}
	log.Info("mailpit started", "smtp", o.smtpAddr, "ui", "http://"+o.mailUI)
	return m, nil
}

func (m *mailpit) removeTemp() {
	if m.tempDir != "" {
		_ = os.RemoveAll(m.tempDir)
	}
}

func (m *mailpit) stop() {
	if m == nil || m.cmd == nil || m.cmd.Process == nil {
		return
	}
	_ = signalGroup(m.cmd.Process, false)
	select {
	case <-m.done:
	case <-time.After(5 * time.Second):
		_ = signalGroup(m.cmd.Process, true)
		<-m.done
	}
	m.removeTemp()
}
