package relay

import (
	"errors"
	"fmt"
	"io"
	"net/http"
)

// errTooLarge reports a token endpoint answer beyond MaxTokenResponse.
var errTooLarge = fmt.Errorf("token endpoint answer larger than %d bytes", MaxTokenResponse)

// tokenClient returns the client for token endpoint calls, built from hc
// (nil: a new one): a timeout (DefaultTokenTimeout unless hc has one), no
// redirects (credentials are not resent to another place), and answers read
// through a MaxTokenResponse limit whatever reads them, golang.org/x/oauth2
// included.
func tokenClient(hc *http.Client) *http.Client {
	c := &http.Client{}
	if hc != nil {
		*c = *hc
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTokenTimeout
	}
	base := c.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	c.Transport = limitTransport{base: base}
	c.CheckRedirect = func(*http.Request, []*http.Request) error {
		return errors.New("the token endpoint redirected; configure its final URL")
	}
	return c
}

// limitTransport bounds the response bodies of base.
type limitTransport struct{ base http.RoundTripper }

func (t limitTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	resp.Body = &limitedBody{rc: resp.Body}
	return resp, nil
}

// limitedBody fails a read once more than MaxTokenResponse bytes came.
type limitedBody struct {
	rc   io.ReadCloser
	read int
}

func (b *limitedBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	b.read += n
	if b.read > MaxTokenResponse {
		return n, errTooLarge
	}
	return n, err
}

func (b *limitedBody) Close() error { return b.rc.Close() }
