package ssrf

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"
)

func TestCheck(t *testing.T) {
	tests := []struct {
		ip            string
		allowLoopback bool
		allowed       bool
	}{
		{"93.184.216.34", false, true},
		{"2606:4700::1111", false, true},
		{"127.0.0.1", false, false},
		{"127.0.0.1", true, true},
		{"::1", false, false},
		{"::ffff:127.0.0.1", false, false},
		{"10.1.2.3", true, false},
		{"172.16.0.1", false, false},
		{"192.168.1.1", false, false},
		{"169.254.169.254", true, false},
		{"fe80::1", false, false},
		{"100.64.0.1", false, false},
		{"0.0.0.0", false, false},
		{"::", false, false},
		{"224.0.0.1", false, false},
		{"ff02::1", false, false},
		{"fd00::1", false, false},
		{"::ffff:10.0.0.1", false, false},
		{"64:ff9b::a00:1", false, false},
		{"255.255.255.255", false, false},
		{"198.18.0.1", false, false},
	}
	for _, tt := range tests {
		err := Policy{AllowLoopback: tt.allowLoopback}.Check(netip.MustParseAddr(tt.ip))
		if (err == nil) != tt.allowed {
			t.Errorf("Check(%s, loopback=%v) = %v, want allowed=%v", tt.ip, tt.allowLoopback, err, tt.allowed)
		}
		if err != nil && !errors.Is(err, ErrForbiddenAddress) {
			t.Errorf("Check(%s) error %v does not wrap ErrForbiddenAddress", tt.ip, err)
		}
	}
}

func TestTransportRefusesAtConnectTimeIncludingRedirects(t *testing.T) {
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok")) }))
	defer target.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	get := func(p Policy, url string) error {
		c := &http.Client{Transport: p.Transport(2 * time.Second)}
		req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
		resp, err := c.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		return err
	}
	// A hostname resolving to loopback is refused after resolution.
	loopbackByName := "http://localhost:" + target.URL[len("http://127.0.0.1:"):]
	if err := get(Policy{}, loopbackByName); !errors.Is(err, ErrForbiddenAddress) {
		t.Fatalf("GET %s without the dev switch: err = %v, want ErrForbiddenAddress", loopbackByName, err)
	}
	if err := get(Policy{AllowLoopback: true}, target.URL); err != nil {
		t.Fatalf("GET loopback with the dev switch: %v", err)
	}

	// A redirect to the metadata address is dialled through the guard too.
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://169.254.169.254/latest/meta-data/", http.StatusFound)
	}))
	defer redirector.Close()
	if err := get(Policy{AllowLoopback: true}, redirector.URL); !errors.Is(err, ErrForbiddenAddress) {
		t.Fatalf("redirect to 169.254.169.254: err = %v, want ErrForbiddenAddress", err)
	}
}
