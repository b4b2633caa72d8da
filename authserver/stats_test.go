package authserver_test

import (
	"net/http"
	"net/url"
	"testing"
)

func TestStatsCountTokenResponses(t *testing.T) {
	e := newEnv(t)
	form := url.Values{"grant_type": {"client_credentials"}}
	if status, body := post(t, e, "/oauth2/token", form, "svc", svcSecret); status != http.StatusOK {
		t.Fatalf("client credentials: %d %v", status, body)
	}
	if status, _ := post(t, e, "/oauth2/token", form, "svc", "not-the-secret-at-all"); status != http.StatusUnauthorized {
		t.Fatalf("bad secret: %d", status)
	}
	if status, _ := post(t, e, "/oauth2/token", url.Values{"grant_type": {"magic"}}, "svc", svcSecret); status != http.StatusBadRequest {
		t.Fatalf("unknown grant: %d", status)
	}
	st := e.srv.Stats()
	if st.Issued["client_credentials"] != 1 || st.Refused["invalid_client"] != 1 || st.Refused["unsupported_grant_type"] != 1 {
		t.Fatalf("stats %+v", st)
	}
}
