package webhook

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"
)

// Published vectors, copied byte for byte (sources in each case's name),
// and their negative twins.

const slackBody = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"

// Slack's documentation and slackapi/python-slack-sdk
// tests/slack_sdk/signature/test_signature_verifier.py.
func slackRequest() (Request, Secrets) {
	return Request{Method: "POST", Body: []byte(slackBody), Now: time.Unix(1531420618, 0).Add(time.Minute),
			Header: map[string]string{"x-slack-request-timestamp": "1531420618",
				"x-slack-signature": "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"}},
		Secrets{Keys: [][]byte{[]byte("8f742231b10e8888abcd99yyyzzz85a5")}}
}

// standard-webhooks/standard-webhooks libraries' tests (vector A in every
// language's suite, vector B in the Rust one).
func standardRequest(t *testing.T, secret, id, ts, body, sig string) (Request, Secrets) {
	k, err := StandardSecret(secret)
	if err != nil {
		t.Fatal(err)
	}
	n := time.Unix(mustInt(t, ts), 0)
	return Request{Method: "POST", Body: []byte(body), Now: n,
		Header: map[string]string{"webhook-id": id, "webhook-timestamp": ts, "webhook-signature": sig}}, Secrets{Keys: [][]byte{k}}
}

func mustInt(t *testing.T, s string) int64 {
	var n int64
	for _, c := range s {
		n = n*10 + int64(c-'0')
	}
	return n
}

// Tencent's WXBizMsgCrypt samples (workweixin/weworkapi_cplusplus Sample.cpp
// and the other languages' samples): token QDG6eK, corp wx5823bf96d3bd56c7.
func weComSecrets(t *testing.T) Secrets {
	k, err := WeComKey("jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C")
	if err != nil {
		t.Fatal(err)
	}
	return Secrets{Keys: [][]byte{[]byte("QDG6eK")}, AESKey: k, CorpID: "wx5823bf96d3bd56c7"}
}

const weComEcho = "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ=="

const weComPost = `<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName><Encrypt><![CDATA[RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q==]]></Encrypt><AgentID><![CDATA[218]]></AgentID></xml>`

const weComPlain = "<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName>\n<FromUserName><![CDATA[mycreate]]></FromUserName>\n<CreateTime>1409659813</CreateTime>\n<MsgType><![CDATA[text]]></MsgType>\n<Content><![CDATA[hello]]></Content>\n<MsgId>4561255354251345929</MsgId>\n<AgentID>218</AgentID>\n</xml>"

func TestPublishedVectors(t *testing.T) {
	t.Run("slack", func(t *testing.T) {
		r, s := slackRequest()
		if _, err := Verify(Slack, r, s); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("standard webhooks A", func(t *testing.T) {
		r, s := standardRequest(t, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330",
			`{"test": 2432232314}`, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
		v, err := Verify(Standard, r, s)
		if err != nil || v.EventID != "msg_p5jXN8AQM9LWM0D4loKWxJek" {
			t.Fatal(v, err)
		}
	})
	t.Run("standard webhooks B, among other signatures", func(t *testing.T) {
		r, s := standardRequest(t, "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD", "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk", "1649367553",
			`{"email":"test@example.com","username":"test_user"}`,
			"v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= v2,x v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=")
		if _, err := Verify(Standard, r, s); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("wecom URL check", func(t *testing.T) {
		r := Request{Method: "GET", Now: time.Unix(1409659589, 0), Query: map[string]string{"msg_signature": "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3",
			"timestamp": "1409659589", "nonce": "263014780", "echostr": weComEcho}}
		v, err := Verify(WeCom, r, weComSecrets(t))
		if err != nil || v.Challenge != "1616140317555161061" {
			t.Fatalf("%+v %v", v, err)
		}
	})
	t.Run("wecom message", func(t *testing.T) {
		v, err := Verify(WeCom, weComPostRequest(), weComSecrets(t))
		if err != nil || string(v.Payload) != weComPlain {
			t.Fatalf("%q %v", v.Payload, err)
		}
	})
}

func weComPostRequest() Request {
	return Request{Method: "POST", Now: time.Unix(1409659813, 0), Body: []byte(weComPost),
		Query: map[string]string{"msg_signature": "477715d11cdb4164915debcba66cb864d751f3e6", "timestamp": "1409659813", "nonce": "1372623149"}}
}

// Zendesk and Intercom publish no vector whose key is known: these are
// computed by an independent implementation (Python's hmac, in the
// research notes of the webhook sources issue) from the documented scheme.
func TestIndependentVectors(t *testing.T) {
	zendeskBody := `{"ticket":{"id":"35436","subject":"Help"}}`
	ts := "2026-11-23T10:15:30Z"
	m := hmac.New(sha256.New, []byte("this_secret_is_for_testing_only"))
	m.Write([]byte(ts + zendeskBody))
	zsig := base64.StdEncoding.EncodeToString(m.Sum(nil))
	r := Request{Method: "POST", Body: []byte(zendeskBody), Now: time.Date(2026, 11, 23, 10, 16, 0, 0, time.UTC),
		Header: map[string]string{"x-zendesk-webhook-signature": zsig, "x-zendesk-webhook-signature-timestamp": ts, "x-zendesk-webhook-invocation-id": "inv-1"}}
	// The invocation id header is not signed: never the event's id.
	if v, err := Verify(Zendesk, r, Secrets{Keys: [][]byte{[]byte("this_secret_is_for_testing_only")}}); err != nil || v.EventID != "" {
		t.Fatalf("zendesk: %+v %v", v, err)
	}
	// body then timestamp (an old documentation example's order) must fail.
	m = hmac.New(sha256.New, []byte("this_secret_is_for_testing_only"))
	m.Write([]byte(zendeskBody + ts))
	r.Header["x-zendesk-webhook-signature"] = base64.StdEncoding.EncodeToString(m.Sum(nil))
	if _, err := Verify(Zendesk, r, Secrets{Keys: [][]byte{[]byte("this_secret_is_for_testing_only")}}); !errors.Is(err, ErrSignature) {
		t.Fatalf("zendesk, reversed order: %v", err)
	}
	ir, is := intercomRequest()
	if _, err := Verify(Intercom, ir, is); err != nil {
		t.Fatalf("intercom: %v", err)
	}
}

// intercomRequest is an Intercom ping signed with a client secret, first
// sent a minute before Now.
func intercomRequest() (Request, Secrets) {
	return signedIntercom(`{"type":"notification_event","id":"notif_1","topic":"ping","first_sent_at":1795428870,"created_at":1795428870}`)
}

func signedIntercom(body string) (Request, Secrets) {
	h := hmac.New(sha1.New, []byte("intercom-client-secret"))
	h.Write([]byte(body))
	return Request{Method: "POST", Body: []byte(body), Now: time.Unix(1795428930, 0),
		Header: map[string]string{"x-hub-signature": "sha1=" + hex.EncodeToString(h.Sum(nil))}}, Secrets{Keys: [][]byte{[]byte("intercom-client-secret")}}
}

// Each check has its negative twins: tampered body, wrong secret, missing
// header, stale timestamp, a rotated-out secret.
func TestNegativeTwins(t *testing.T) {
	type variant struct {
		name string
		mod  func(*Request, *Secrets)
		want error
	}
	tamper := func(r *Request, _ *Secrets) { r.Body = append(append([]byte{}, r.Body...), ' ') }
	wrong := func(_ *Request, s *Secrets) { s.Keys = [][]byte{[]byte("not-the-secret-not-the-secret-00")} }
	stale := func(r *Request, _ *Secrets) { r.Now = r.Now.Add(6 * time.Minute) }
	future := func(r *Request, _ *Secrets) { r.Now = r.Now.Add(-7 * time.Minute) }
	rotated := func(_ *Request, s *Secrets) {
		s.Keys = append([][]byte{[]byte("new-secret-new-secret-new-secret")}, s.Keys...)
	}
	cases := []struct {
		provider Provider
		base     func() (Request, Secrets)
		header   string
		variants []variant
	}{
		{Slack, slackRequest, "x-slack-signature", []variant{{"tampered", tamper, ErrSignature}, {"wrong secret", wrong, ErrSignature},
			{"stale", stale, ErrStale}, {"from the future", future, ErrStale}, {"second active secret", rotated, nil},
			{"no secrets", func(_ *Request, s *Secrets) { s.Keys = nil }, ErrSignature},
			{"timestamp changed", func(r *Request, _ *Secrets) { r.Header["x-slack-request-timestamp"] = "1531420619" }, ErrSignature}}},
		{Standard, func() (Request, Secrets) {
			return standardRequest(t, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330",
				`{"test": 2432232314}`, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
		}, "webhook-signature", []variant{{"tampered", tamper, ErrSignature}, {"wrong secret", wrong, ErrSignature}, {"stale", stale, ErrStale},
			{"id changed", func(r *Request, _ *Secrets) { r.Header["webhook-id"] = "msg_other" }, ErrSignature},
			{"partial", func(r *Request, _ *Secrets) { r.Header["webhook-signature"] = "v1," }, ErrSignature},
			{"wrong version", func(r *Request, _ *Secrets) {
				r.Header["webhook-signature"] = "v2,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
			}, ErrSignature}, {"second active secret", rotated, nil}}},
		// Intercom signs no time: the signed first_sent_at bounds a replay.
		{Intercom, intercomRequest, "x-hub-signature", []variant{{"tampered", tamper, ErrSignature}, {"wrong secret", wrong, ErrSignature},
			{"second active secret", rotated, nil}, {"a day old", func(r *Request, _ *Secrets) { r.Now = r.Now.Add(24 * time.Hour) }, nil},
			{"older than its delivery mark", func(r *Request, _ *Secrets) { r.Now = r.Now.Add(IntercomMaxAge + time.Minute) }, ErrStale},
			{"from the future", future, ErrStale},
			{"no time", func(r *Request, s *Secrets) {
				*r, *s = signedIntercom(`{"type":"notification_event","id":"notif_2","topic":"ping"}`)
			}, ErrMalformed},
			{"not json", func(r *Request, s *Secrets) { *r, *s = signedIntercom(`first_sent_at=1795428870`) }, ErrMalformed}}},
		{WeCom, func() (Request, Secrets) { return weComPostRequest(), weComSecrets(t) }, "", []variant{
			{"tampered ciphertext", func(r *Request, _ *Secrets) { r.Body = []byte(strings.Replace(string(r.Body), "RypEv", "RypEw", 1)) }, ErrSignature},
			{"wrong token", wrong, ErrSignature}, {"stale", stale, ErrStale},
			{"another corp", func(_ *Request, s *Secrets) { s.CorpID = "wx0000000000000000" }, ErrSignature},
			{"no signature", func(r *Request, _ *Secrets) { delete(r.Query, "msg_signature") }, ErrMissing},
			{"second active token", rotated, nil}}},
	}
	for _, c := range cases {
		for _, v := range c.variants {
			t.Run(string(c.provider)+"/"+v.name, func(t *testing.T) {
				r, s := c.base()
				r.Header = cloneMap(r.Header)
				r.Query = cloneMap(r.Query)
				v.mod(&r, &s)
				_, err := Verify(c.provider, r, s)
				if !errors.Is(err, v.want) || (v.want == nil) != (err == nil) {
					t.Fatalf("err %v, want %v", err, v.want)
				}
			})
		}
		if c.header != "" {
			t.Run(string(c.provider)+"/missing header", func(t *testing.T) {
				r, s := c.base()
				r.Header = cloneMap(r.Header)
				delete(r.Header, c.header)
				if _, err := Verify(c.provider, r, s); !errors.Is(err, ErrMissing) {
					t.Fatalf("err %v", err)
				}
			})
		}
	}
}

func cloneMap(m map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = v
	}
	return out
}

// WeComEncrypt and WeComSign produce what Verify accepts (used by the
// fixtures and the local replay tool).
func TestWeComRoundTrip(t *testing.T) {
	s := weComSecrets(t)
	ct, err := WeComEncrypt(s.AESKey, s.CorpID, [16]byte{1, 2, 3}, []byte("<xml><MsgType>text</MsgType></xml>"))
	if err != nil {
		t.Fatal(err)
	}
	q := map[string]string{"timestamp": "1700000000", "nonce": "42", "msg_signature": WeComSign("QDG6eK", "1700000000", "42", ct)}
	body := "<xml><Encrypt><![CDATA[" + ct + "]]></Encrypt></xml>"
	v, err := Verify(WeCom, Request{Method: "POST", Query: q, Body: []byte(body), Now: time.Unix(1700000000, 0)}, s)
	if err != nil || string(v.Payload) != "<xml><MsgType>text</MsgType></xml>" {
		t.Fatalf("%q %v", v.Payload, err)
	}
	_ = url.QueryEscape
}

func FuzzVerify(f *testing.F) {
	f.Add(string(Slack), []byte(slackBody), "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503", "1531420618")
	f.Add(string(Standard), []byte(`{"test": 2432232314}`), "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", "1614265330")
	f.Add(string(WeCom), []byte(weComPost), "477715d11cdb4164915debcba66cb864d751f3e6", "1409659813")
	f.Add(string(Intercom), []byte(`{}`), "sha1=00", "")
	f.Add(string(Zendesk), []byte(`{}`), "AAAA", "2026-11-23T10:15:30Z")
	f.Add(string(Typeform), []byte(`{"form_response":{"submitted_at":"2014-09-02T12:00:00Z"}}`), "sha256=AAAA", "")
	f.Add(string(SurveyMonkey), []byte(`{"event_datetime":"2014-09-02T12:00:00+00:00"}`), "AAAA", "")
	f.Add(string(Qualtrics), []byte(`MSG=%7B%7D&HMAC=00&Topic=x`), "", "")
	f.Fuzz(func(t *testing.T, provider string, body []byte, sig, ts string) {
		p := Provider(provider)
		if !p.Valid() {
			return
		}
		key, _ := WeComKey("jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C")
		s := Secrets{Keys: [][]byte{[]byte("QDG6eK"), []byte("8f742231b10e8888abcd99yyyzzz85a5")}, AESKey: key, CorpID: "wx5823bf96d3bd56c7"}
		h := map[string]string{"x-hub-signature": sig, "x-slack-signature": sig, "x-slack-request-timestamp": ts, "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
			"webhook-timestamp": ts, "webhook-signature": sig, "x-zendesk-webhook-signature": sig, "x-zendesk-webhook-signature-timestamp": ts,
			"typeform-signature": sig, "sm-signature": sig}
		q := map[string]string{"msg_signature": sig, "timestamp": ts, "nonce": "1372623149", "echostr": string(body)}
		for _, m := range []string{"POST", "GET"} {
			v, err := Verify(p, Request{Method: m, Header: h, Query: q, Body: body, Now: time.Unix(1409659813, 0)}, s)
			if err == nil && v.Payload == nil && v.Challenge == "" && len(body) > 0 {
				t.Fatalf("accepted with nothing authenticated")
			}
		}
	})
}

// A captured WeCom message (its signature and ciphertext) replayed as the
// URL check's echostr is not answered in plain text.
func TestWeComURLCheckAnswersNoMessage(t *testing.T) {
	key, _ := WeComKey("jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C")
	s := Secrets{Keys: [][]byte{[]byte("QDG6eK")}, AESKey: key, CorpID: "wx5823bf96d3bd56c7"}
	var env weComEnvelope
	if err := xml.Unmarshal([]byte(weComPost), &env); err != nil {
		t.Fatal(err)
	}
	q := map[string]string{"msg_signature": "477715d11cdb4164915debcba66cb864d751f3e6", "timestamp": "1409659813", "nonce": "1372623149", "echostr": env.Encrypt}
	// The same ciphertext posted is the message (the signature is good).
	if v, err := Verify(WeCom, Request{Method: "POST", Query: q, Body: []byte(weComPost), Now: time.Unix(1409659813, 0)}, s); err != nil || string(v.Payload) != weComPlain {
		t.Fatalf("the genuine post: %v", err)
	}
	v, err := Verify(WeCom, Request{Method: "GET", Query: q, Now: time.Unix(1409659813, 0)}, s)
	if err == nil || strings.Contains(v.Challenge, "hello") {
		t.Fatalf("the message replayed as a URL check: %q %v", v.Challenge, err)
	}
}
