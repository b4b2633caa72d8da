package authserver

import (
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// hostile are values an attacker controls on the login page (client_id,
// the authorization request's parameters, the message): each must come out
// as the same text, never as markup.
var hostile = []string{
	`"><script>alert(1)</script>`,
	`' autofocus onfocus='alert(1)`,
	`</strong><img src=x onerror=alert(1)>`,
	`&lt;already escaped&gt; & "quotes" 'single'`,
	"line\nbreak\ttab",
	`<!-- comment --><![CDATA[x]]>`,
	"ünïcödé ✓",
}

func TestPagesReplaceNUL(t *testing.T) {
	var b strings.Builder
	writeLoginPage(&b, "a\x00b", "", "c", []hiddenField{{"state", "x\x00y"}})
	if strings.Contains(b.String(), "\x00") || !strings.Contains(b.String(), "a\uFFFDb") || !strings.Contains(b.String(), "value=\"x\uFFFDy\"") {
		t.Fatalf("NUL in a page: %q", b.String())
	}
}

// parsePage reads page the way a browser's tokenizer does: the attributes
// of every hidden input by name, the text of every element, and every tag.
func parsePage(t *testing.T, page string) (hidden map[string]string, text string, tags []string) {
	t.Helper()
	hidden = map[string]string{}
	var sb strings.Builder
	z := html.NewTokenizer(strings.NewReader(page))
	for {
		switch z.Next() {
		case html.ErrorToken:
			return hidden, sb.String(), tags
		case html.TextToken:
			sb.Write(z.Text())
		case html.StartTagToken, html.SelfClosingTagToken:
			tok := z.Token()
			tags = append(tags, tok.Data)
			attrs := map[string]string{}
			for _, a := range tok.Attr {
				attrs[a.Key] = a.Val
			}
			if tok.Data == "input" && attrs["type"] == "hidden" {
				hidden[attrs["name"]] = attrs["value"]
			}
			for k := range attrs {
				if strings.HasPrefix(k, "on") {
					t.Errorf("page has an event handler attribute %q", k)
				}
			}
		}
	}
}

func TestLoginPageEscapesEveryValue(t *testing.T) {
	for _, v := range hostile {
		t.Run(v, func(t *testing.T) {
			var b strings.Builder
			writeLoginPage(&b, v, v, "csrf-token", []hiddenField{{"state", v}, {"scope", v}})
			hidden, text, tags := parsePage(t, b.String())
			if hidden["state"] != v || hidden["scope"] != v || hidden["csrf"] != "csrf-token" {
				t.Errorf("hidden fields = %q, want state and scope %q", hidden, v)
			}
			if strings.Count(text, v) != 2 { // the client's name and the message
				t.Errorf("page text %q does not hold %q twice", text, v)
			}
			want := []string{"html", "head", "meta", "meta", "style", "title", "body", "h1", "p", "strong", "p",
				"form", "input", "input", "input", "label", "input", "label", "input", "button"}
			if strings.Join(tags, " ") != strings.Join(want, " ") {
				t.Errorf("tags = %v, want %v (a value became markup)", tags, want)
			}
		})
	}
}

func TestErrorPageEscapesTheMessage(t *testing.T) {
	for _, v := range hostile {
		var b strings.Builder
		writeErrorPage(&b, v)
		_, text, tags := parsePage(t, b.String())
		if !strings.Contains(text, v) {
			t.Errorf("page text %q does not hold %q", text, v)
		}
		if got := strings.Join(tags, " "); got != "html head meta meta style title body h1 p" {
			t.Errorf("%q: tags = %v (a value became markup)", v, got)
		}
	}
}

func TestLoginPageOmitsWhatIsEmpty(t *testing.T) {
	var b strings.Builder
	writeLoginPage(&b, "", "", "c", nil)
	page := b.String()
	if strings.Contains(page, "to continue to") || strings.Contains(page, `class="error"`) {
		t.Errorf("a login page without client or message shows them:\n%s", page)
	}
	var out strings.Builder
	writeLoggedOutPage(&out, true)
	if !strings.Contains(out.String(), "Your session has ended") {
		t.Errorf("logged-out page after a session: %s", out.String())
	}
	out.Reset()
	writeLoggedOutPage(&out, false)
	if !strings.Contains(out.String(), "You are not signed in here") {
		t.Errorf("logged-out page without a session: %s", out.String())
	}
}
