package local

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// The console is served through the template's public routes, and the
// local stack alone hands it a token the authorizer accepts.
func TestConsoleOnTheLocalStack(t *testing.T) {
	st, _ := startStack(t, Options{})

	resp, err := http.Get(st.APIURL + "/console/settings/integration")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "Integration Settings") {
		t.Fatalf("settings page without a token: %d %.200s", resp.StatusCode, body)
	}

	resp, err = http.Get(st.APIURL + ConsoleTokenPath)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Token   string `json:"token"`
		Account string `json:"account"`
		Admin   bool   `json:"admin"`
	}
	err = json.NewDecoder(resp.Body).Decode(&got)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || got.Token == "" || got.Account != ConsoleAccount || !got.Admin {
		t.Fatalf("console token: %d %+v %v", resp.StatusCode, got, err)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", cc)
	}
	if resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("the token endpoint must not allow other origins to read it")
	}

	// The token works on an admin route.
	req, _ := http.NewRequest("GET", st.APIURL+"/api/v1/ai/settings/", nil)
	req.Header.Set("Authorization", "Bearer "+got.Token)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("GET /api/v1/ai/settings/ with the console token: %d, want 200", resp.StatusCode)
	}

	resp, err = http.Post(st.APIURL+ConsoleTokenPath, "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST %s: %d, want 405", ConsoleTokenPath, resp.StatusCode)
	}
}
