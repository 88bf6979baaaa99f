package webhook

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"
)

const (
	slackToken = "xoxb-canary-1234-5678-SECRETTOKEN"
	weComToken = "CANARY_ACCESS_TOKEN_accesstoken000001"
)

// Slack's documented users.info answer (docs.slack.dev/reference/methods/users.info,
// trimmed), with profile.phone (documented, often empty) filled.
const slackUsersInfo = `{"ok": true, "user": {"id": "W012A3CDE", "team_id": "T012AB3C4", "name": "spengler", "deleted": false,
 "color": "9f69e7", "real_name": "Egon Spengler", "tz": "America/Los_Angeles", "tz_label": "Pacific Daylight Time", "tz_offset": -25200,
 "profile": {"avatar_hash": "ge3b51ca72de", "status_text": "Print is dead", "status_emoji": ":books:",
  "real_name": "Egon Spengler", "display_name": "spengler", "real_name_normalized": "Egon Spengler",
  "display_name_normalized": "spengler", "email": "spengler@ghostbusters.example.com", "phone": "+1 212 555 0100",
  "image_24": "https://.../avatar/e3b51ca72dee4ef87916ae2b9240df50.jpg", "team": "T012AB3C4"},
 "is_admin": true, "is_owner": false, "is_primary_owner": false, "is_restricted": false, "is_ultra_restricted": false,
 "is_bot": false, "updated": 1502138686, "is_app_user": false, "has_2fa": false}}`

// WeCom's documented externalcontact/get answer (developer.work.weixin.qq.com/document/path/92114).
const weComExternalContact = `{"errcode": 0, "errmsg": "ok",
 "external_contact": {"external_userid": "woAJ2GCAAAXtWyujaWJHDDGi0mACHAAA", "name": "李四", "position": "Manager",
  "avatar": "http://p.qlogo.cn/bizmail/IcsdgagqefergqerhewSdage/0", "corp_name": "腾讯", "corp_full_name": "腾讯科技有限公司",
  "type": 2, "gender": 1, "unionid": "ozynqsulJFCZ2z1aYeS8h-nuasdAAA",
  "external_profile": {"external_attr": [{"type": 0, "name": "文本名称", "text": {"value": "文本"}}]}},
 "follow_user": [
  {"userid": "rocky", "remark": "李部长", "description": "对接采购事务", "createtime": 1525779812,
   "tags": [{"group_name": "标签分组名称", "tag_name": "标签名称", "tag_id": "etAJ2GCAAAXtWyujaWJHDDGi0mACHAAA", "type": 1}],
   "remark_corp_name": "腾讯科技", "remark_mobiles": ["13800000001", "13000000002"], "oper_userid": "rocky", "add_way": 1},
  {"userid": "tommy", "remark": "李总", "description": "采购问题咨询", "createtime": 1525881637, "state": "外联二维码1",
   "oper_userid": "woAJ2GCAAAXtWyujaWJHDDGi0mACHAAA", "add_way": 3}],
 "next_cursor": "NEXT_CURSOR"}`

// stand is a provider stand-in: it checks where the token travels and
// answers status and body.
func stand(t *testing.T, check func(r *http.Request), status int, body string) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		check(r)
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(s.Close)
	return s
}

// slow never answers before the client gives up.
func slow(t *testing.T) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}))
	t.Cleanup(s.Close)
	return s
}

func checkSlackRequest(t *testing.T) func(r *http.Request) {
	return func(r *http.Request) {
		if r.Method != http.MethodGet || r.URL.Path != "/api/users.info" || r.URL.Query().Get("user") != "W012A3CDE" {
			t.Errorf("request %s %s", r.Method, r.URL)
		}
		if got := r.Header.Get("Authorization"); got != "Bearer "+slackToken {
			t.Errorf("Authorization %q", got)
		}
		if strings.Contains(r.URL.RawQuery, slackToken) {
			t.Error("the Slack token travels in the query")
		}
	}
}

func checkWeComRequest(t *testing.T) func(r *http.Request) {
	return func(r *http.Request) {
		q := r.URL.Query()
		if r.Method != http.MethodGet || r.URL.Path != "/cgi-bin/externalcontact/get" ||
			q.Get("external_userid") != "woAJ2GCAAAXtWyujaWJHDDGi0mACHAAA" || q.Get("access_token") != weComToken {
			t.Errorf("request %s %s", r.Method, r.URL.Path)
		}
		for name, v := range r.Header {
			if strings.Contains(strings.Join(v, " "), weComToken) {
				t.Errorf("the WeCom token travels in header %s", name)
			}
		}
	}
}

func TestDirectorySlack(t *testing.T) {
	cases := []struct {
		name   string
		status int
		body   string
		want   map[string]string
		errHas string // the error names this when not ""
	}{
		{"documented answer", 200, slackUsersInfo,
			map[string]string{"email": "spengler@ghostbusters.example.com", "phone": "+1 212 555 0100", "name": "Egon Spengler"}, ""},
		{"name from the profile, empty and null fields absent", 200,
			`{"ok": true, "user": {"id": "W012A3CDE", "real_name": "", "profile": {"real_name": "Egon Spengler", "email": null, "phone": ""}}}`,
			map[string]string{"name": "Egon Spengler"}, ""},
		{"user not found", 200, `{"ok": false, "error": "user_not_found"}`, nil, "user_not_found"},
		{"missing scope", 200, `{"ok": false, "error": "missing_scope", "needed": "users:read", "provided": "chat:write"}`, nil, "missing_scope"},
		{"error code not a plain name", 200, `{"ok": false, "error": "spengler@ghostbusters.example.com"}`, nil, "unnamed error"},
		{"rate limited", 429, `{"ok": false, "error": "ratelimited"}`, nil, "HTTP 429"},
		{"not JSON", 200, `<html>spengler@ghostbusters.example.com</html>`, nil, "not the documented JSON"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := stand(t, checkSlackRequest(t), c.status, c.body)
			d := &Directory{SlackBaseURL: s.URL}
			got, err := d.Slack(context.Background(), slackToken, "T012AB3C4:W012A3CDE")
			if c.errHas != "" {
				checkLookupError(t, err, c.errHas, slackToken)
				if strings.Contains(err.Error(), "spengler") {
					t.Errorf("error %q quotes the answer", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("Slack = %v, want %v", got, c.want)
			}
		})
	}
}

func TestDirectoryWeCom(t *testing.T) {
	cases := []struct {
		name   string
		status int
		body   string
		want   map[string]string
		errHas string
	}{
		// No phone or email: WeCom gives none, and remark_mobiles are a
		// member's notes, not the person's own numbers.
		{"documented answer", 200, weComExternalContact, map[string]string{"name": "李四"}, ""},
		{"invalid access token", 200, `{"errcode": 40014, "errmsg": "invalid access_token, hint: [1718000000_1_abc], from ip: 203.0.113.9"}`, nil, "errcode 40014"},
		{"no relation with the contact", 200, `{"errcode": 84061, "errmsg": "not exist external contact relation"}`, nil, "errcode 84061"},
		{"answer without errcode", 200, `{"external_contact": {"name": "李四"}}`, nil, "not the documented JSON"},
		{"answer without contact", 200, `{"errcode": 0, "errmsg": "ok"}`, nil, "no external_contact"},
		{"server error", 502, `bad gateway`, nil, "HTTP 502"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := stand(t, checkWeComRequest(t), c.status, c.body)
			d := &Directory{WeComBaseURL: s.URL + "/"}
			got, err := d.WeCom(context.Background(), weComToken, "ww1a2b3c4d5e6f7a8b:woAJ2GCAAAXtWyujaWJHDDGi0mACHAAA")
			if c.errHas != "" {
				checkLookupError(t, err, c.errHas, weComToken)
				if strings.Contains(err.Error(), "李四") || strings.Contains(err.Error(), "woAJ2") {
					t.Errorf("error %q quotes the answer or the user id", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("WeCom = %v, want %v", got, c.want)
			}
		})
	}
}

// A slow or absent provider answers an error in bounded time, and the
// error (which Go's HTTP client would write with the URL, WeCom's token in
// its query) names neither the token nor the user.
func TestDirectoryUnavailable(t *testing.T) {
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	fast := &http.Client{Timeout: 200 * time.Millisecond}
	cases := []struct {
		name string
		d    func(t *testing.T) *Directory
		ctx  func() (context.Context, context.CancelFunc)
	}{
		{"slow, client timeout", func(t *testing.T) *Directory {
			s := slow(t)
			return &Directory{HTTP: fast, SlackBaseURL: s.URL, WeComBaseURL: s.URL}
		}, func() (context.Context, context.CancelFunc) { return context.WithCancel(context.Background()) }},
		{"slow, context deadline", func(t *testing.T) *Directory {
			s := slow(t)
			return &Directory{HTTP: &http.Client{}, SlackBaseURL: s.URL, WeComBaseURL: s.URL}
		}, func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 200*time.Millisecond)
		}},
		{"connection refused", func(t *testing.T) *Directory {
			return &Directory{SlackBaseURL: dead.URL, WeComBaseURL: dead.URL}
		}, func() (context.Context, context.CancelFunc) { return context.WithCancel(context.Background()) }},
		{"base URL not http", func(t *testing.T) *Directory {
			return &Directory{SlackBaseURL: "ftp://example.com", WeComBaseURL: "::not a url"}
		}, func() (context.Context, context.CancelFunc) { return context.WithCancel(context.Background()) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := c.d(t)
			start := time.Now()
			ctx, cancel := c.ctx()
			defer cancel()
			_, err := d.Slack(ctx, slackToken, "T012AB3C4:W012A3CDE")
			checkLookupError(t, err, "slack users.info", slackToken)
			ctx, cancel = c.ctx()
			defer cancel()
			_, err = d.WeCom(ctx, weComToken, "ww1a2b3c4d5e6f7a8b:woAJ2GCAAAXtWyujaWJHDDGi0mACHAAA")
			checkLookupError(t, err, "wecom externalcontact/get", weComToken)
			if err != nil && strings.Contains(err.Error(), "woAJ2") {
				t.Errorf("error %q names the user", err)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("took %v", d)
			}
		})
	}
}

func TestDirectoryBadUserID(t *testing.T) {
	s := stand(t, func(r *http.Request) { t.Error("a request was made") }, 200, "{}")
	d := &Directory{SlackBaseURL: s.URL, WeComBaseURL: s.URL}
	for _, id := range []string{"", "W012A3CDE", "T012AB3C4:"} {
		_, err := d.Slack(context.Background(), slackToken, id)
		checkLookupError(t, err, "user id is not team:user", slackToken)
		_, err = d.WeCom(context.Background(), weComToken, id)
		checkLookupError(t, err, "user id is not corp:user", weComToken)
	}
}

// A person is looked up once per token and user for a few minutes; an
// error is not remembered; another token is another lookup.
func TestDirectoryRemembers(t *testing.T) {
	calls := 0
	s := stand(t, func(*http.Request) { calls++ }, 200, slackUsersInfo)
	failing := stand(t, func(*http.Request) { calls++ }, 503, `{}`)
	d := &Directory{SlackBaseURL: failing.URL}
	ctx := context.Background()
	if _, err := d.Slack(ctx, slackToken, "T012AB3C4:W012A3CDE"); err == nil {
		t.Fatal("a 503 answered")
	}
	d.SlackBaseURL = s.URL
	for i := range 3 {
		got, err := d.Slack(ctx, slackToken, "T012AB3C4:W012A3CDE")
		if err != nil || got["email"] != "spengler@ghostbusters.example.com" {
			t.Fatalf("lookup %d: %v %v", i, got, err)
		}
		got["email"] = "changed by the caller"
	}
	if calls != 2 {
		t.Fatalf("%d calls for one failed and three good lookups of one person, want 2", calls)
	}
	if _, err := d.Slack(ctx, "xoxb-another-workspace-token", "T012AB3C4:W012A3CDE"); err != nil || calls != 3 {
		t.Fatalf("another token: %d calls %v", calls, err)
	}
}

func TestDirectoryDefaults(t *testing.T) {
	var d *Directory // a nil Directory uses the defaults too
	if c := d.client(); c.Timeout != 3*time.Second || c.CheckRedirect == nil {
		t.Errorf("default client: timeout %v, redirects followed %v", c.Timeout, c.CheckRedirect == nil)
	}
	own := &http.Client{}
	if (&Directory{HTTP: own}).client() != own {
		t.Error("the given client is not used")
	}
}

// The default client follows no redirect: a token never travels to
// another host.
func TestDirectoryNoRedirect(t *testing.T) {
	elsewhere := stand(t, func(r *http.Request) { t.Errorf("redirect followed to %s", r.URL.Path) }, 200, slackUsersInfo)
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.URL+r.URL.RequestURI(), http.StatusFound)
	}))
	defer s.Close()
	d := &Directory{SlackBaseURL: s.URL, WeComBaseURL: s.URL}
	_, err := d.Slack(context.Background(), slackToken, "T012AB3C4:W012A3CDE")
	checkLookupError(t, err, "HTTP 302", slackToken)
	_, err = d.WeCom(context.Background(), weComToken, "ww1:woAJ2GCAAAXtWyujaWJHDDGi0mACHAAA")
	checkLookupError(t, err, "HTTP 302", weComToken)
}

func checkLookupError(t *testing.T, err error, has, token string) {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	if !errors.Is(err, ErrLookup) {
		t.Errorf("error %q does not wrap ErrLookup", err)
	}
	if !strings.Contains(err.Error(), has) {
		t.Errorf("error %q does not name %q", err, has)
	}
	if strings.Contains(err.Error(), token) || strings.Contains(err.Error(), "CANARY") || strings.Contains(err.Error(), "canary") {
		t.Errorf("error %q carries the token", err)
	}
}
