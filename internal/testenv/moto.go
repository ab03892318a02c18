package testenv

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"
)

var (
	motoOnce sync.Once
	motoURL  string
	motoErr  error
)

// Moto returns the endpoint of a moto server for AWS calls and points the
// AWS SDK's standard environment at it (AWS_ENDPOINT_URL, a region and dummy
// credentials). It uses AWS_ENDPOINT_URL when that is already set; otherwise
// it starts bin/moto_server (made by `make tools`) once for this process.
func Moto(t testing.TB) string {
	t.Helper()
	motoOnce.Do(func() {
		if u := os.Getenv("AWS_ENDPOINT_URL"); u != "" {
			motoURL = u
			return
		}
		motoURL, motoErr = startMoto()
	})
	if motoErr != nil {
		Unavailable(t, "moto_server", motoErr.Error()+"; run `make tools` or set AWS_ENDPOINT_URL")
	}
	t.Setenv("AWS_ENDPOINT_URL", motoURL)
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "testing")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "testing")
	t.Setenv("AWS_SESSION_TOKEN", "testing")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	return motoURL
}

func startMoto() (string, error) {
	bin := findProgram("moto_server")
	if bin == "" {
		return "", fmt.Errorf("moto_server not found in bin/ or on PATH")
	}
	port, err := freePort()
	if err != nil {
		return "", err
	}
	cmd := exec.CommandContext(context.Background(), bin, "-H", "127.0.0.1", "-p", fmt.Sprint(port))
	log, err := os.CreateTemp("", "moto-*.log")
	if err != nil {
		return "", err
	}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		return "", err
	}
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	atExit(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		_ = os.Remove(log.Name())
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url+"/moto-api/", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			return url, nil
		}
		select {
		case <-ctx.Done():
			out, _ := os.ReadFile(log.Name())
			return "", fmt.Errorf("moto_server did not answer on %s within 60s:\n%s", url, out)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
