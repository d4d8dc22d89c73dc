package wordpress_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/igny8/integrations/shared/ssrf"
	"github.com/igny8/integrations/shared/wordpress"
)

// A host that strips the Authorization header makes WordPress answer as if
// no credentials were sent. The error says so, and the sync worker drops
// the job instead of retrying it.
func ExampleClient_TestConnection() {
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		if r.URL.Path == "/wp-json/" {
			fmt.Fprint(w, `{"name":"Example","gmt_offset":"0","namespaces":["wp/v2"],"authentication":{"application-passwords":{"endpoints":{"authorization":"https://example.com/wp-admin/authorize-application.php"}}}}`)
			return
		}
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"code":"rest_not_logged_in","message":"You are not currently logged in.","data":{"status":401}}`)
	}))
	defer site.Close()

	client, err := wordpress.New(site.URL, wordpress.Credentials{Username: "editor", Password: "abcd efgh ijkl mnop qrst uvwx"},
		wordpress.Options{Policy: ssrf.Policy{AllowLoopback: true}})
	if err != nil {
		panic(err)
	}
	_, err = client.TestConnection(context.Background())
	if e, ok := wordpress.AsError(err); ok {
		fmt.Println(e.Code, e.Status, e.WPCode)
		fmt.Println("permanent:", wordpress.IsPermanent(err))
	}
	// Output:
	// auth_failed 401 rest_not_logged_in
	// permanent: true
}
