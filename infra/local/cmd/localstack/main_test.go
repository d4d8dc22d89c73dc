package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/igny8/integrations/infra/local"
	"github.com/igny8/integrations/shared/awsclients"
)

// TestMain lets the tests run this very binary as the command: with
// LOCALSTACK_TEST_MAIN=1 it is main(), including the re-execution that sets
// KUMO_DATA_DIR, exactly as `go run ./infra/local/cmd/localstack` would.
func TestMain(m *testing.M) {
	if os.Getenv("LOCALSTACK_TEST_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

type runningStack struct {
	cmd      *exec.Cmd
	stderr   *syncBuffer
	apiURL   string
	emulator string
	token    string
	done     chan error
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startCommand runs the command and reads its banner.
func startCommand(t *testing.T, args ...string) *runningStack {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "LOCALSTACK_TEST_MAIN=1")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	rs := &runningStack{cmd: cmd, stderr: &syncBuffer{}, done: make(chan error, 1)}
	cmd.Stderr = rs.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-rs.done
		}
	})
	banner := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		nextIsToken := false
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			f := strings.Fields(line)
			switch {
			case nextIsToken:
				rs.token, nextIsToken = line, false
			case strings.HasPrefix(line, "HTTP API") && len(f) > 2:
				rs.apiURL = f[2]
			case strings.HasPrefix(line, "AWS emulator") && len(f) > 2:
				rs.emulator = f[2]
			case strings.HasPrefix(line, "Developer token"):
				nextIsToken = true
			case strings.Contains(line, "Stop: Ctrl-C"):
				banner <- nil
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
		banner <- fmt.Errorf("stdout closed before the banner ended")
	}()
	go func() { rs.done <- cmd.Wait() }()
	select {
	case err := <-banner:
		if err != nil {
			t.Fatalf("%v; stderr:\n%s", err, rs.stderr.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("no banner within 60 s; stderr:\n%s", rs.stderr.String())
	}
	return rs
}

// interrupt sends SIGINT (Ctrl-C) and requires a clean exit.
func (rs *runningStack) interrupt(t *testing.T) {
	t.Helper()
	if err := rs.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-rs.done:
		if err != nil {
			t.Fatalf("exit after Ctrl-C: %v; stderr:\n%s", err, rs.stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("still running 30 s after Ctrl-C; stderr:\n%s", rs.stderr.String())
	}
}

func TestCommandServesInterruptsCleanlyAndPersists(t *testing.T) {
	dir := t.TempDir()
	prefix := fmt.Sprintf("cmdtest-%d-", time.Now().UnixNano()%1e9)
	args := []string{"-api-addr", "127.0.0.1:0", "-webhook-addr", "127.0.0.1:0", "-data-dir", filepath.Join(dir, "data"),
		"-signing-key", filepath.Join(dir, "key.pem"), "-name-prefix", prefix, "-log-level", "warn"}
	table := prefix + "Table"
	key := map[string]ddbtypes.AttributeValue{"PK": &ddbtypes.AttributeValueMemberS{Value: "persist#1"}, "SK": &ddbtypes.AttributeValueMemberS{Value: "item"}}

	first := startCommand(t, args...)
	req, _ := http.NewRequest(http.MethodGet, first.apiURL+"/api/v1/integration/", nil)
	req.Header.Set("Authorization", "Bearer "+first.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /api/v1/integration/ with the banner's token: %d %s", resp.StatusCode, body)
	}
	ddb := clientFor(t, first.emulator)
	item := map[string]ddbtypes.AttributeValue{"PK": key["PK"], "SK": key["SK"], "note": &ddbtypes.AttributeValueMemberS{Value: "survives restarts"}}
	if _, err := ddb.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(table), Item: item}); err != nil {
		t.Fatal(err)
	}
	first.interrupt(t)
	if st, err := os.Stat(filepath.Join(dir, "key.pem")); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("signing key: %v mode %v, want 0600", err, st.Mode().Perm())
	}

	second := startCommand(t, args...)
	out, err := clientFor(t, second.emulator).GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String(table), Key: key})
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := out.Item["note"].(*ddbtypes.AttributeValueMemberS); !ok || v.Value != "survives restarts" {
		t.Errorf("after restart the item is %v, want it kept", out.Item)
	}
	second.interrupt(t)
}

func clientFor(t *testing.T, endpoint string) *dynamodb.Client {
	t.Helper()
	c, err := awsclients.New(context.Background(), awsclients.Options{Endpoint: endpoint})
	if err != nil {
		t.Fatal(err)
	}
	return c.DynamoDB
}

func TestTokenSubcommandMintsTokensTheStackAccepts(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "key.pem")
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), func() {}, []string{"token", "-account", "acme", "-admin", "-signing-key", keyFile, "-api-addr", "127.0.0.1:3999"}, os.Getenv, &stdout, &stderr)
	if err != nil {
		t.Fatalf("token: %v %s", err, stderr.String())
	}
	k, err := local.LoadOrCreateKey(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := local.NewSigner(k, "http://127.0.0.1:3999/local", local.DefaultAudience, "custom:account_id", "igny8/admin")
	claims, scopes, err := signer.Verify(strings.TrimSpace(stdout.String()), nil)
	if err != nil {
		t.Fatalf("the stack would refuse the token: %v", err)
	}
	if claims["custom:account_id"] != "acme" || len(scopes) != 1 || scopes[0] != "igny8/admin" {
		t.Errorf("claims %v scopes %v", claims, scopes)
	}
	if err := run(context.Background(), func() {}, []string{"token"}, os.Getenv, &stdout, &stderr); err == nil {
		t.Error("token without -account must fail")
	}
}
