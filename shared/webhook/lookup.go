package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// ErrLookup is wrapped by every Directory error. None of them carries the
// token, the user id or anything the provider answered about the person.
var ErrLookup = errors.New("provider directory lookup")

// lookupTimeout bounds a lookup when the context has no deadline, and is
// the default client's timeout. Slack wants its answer within 3 s in all:
// a caller in Slack's request path should pass a shorter deadline.
const lookupTimeout = 3 * time.Second

// Directory looks a provider's user up through the provider's API, to
// learn what the payload did not say (Slack and WeCom messages name the
// person by user id only).
//
// A person looked up is remembered for lookupTTL, by token and user id: a
// conversation's messages cost one call to the provider, not one each.
type Directory struct {
	HTTP         *http.Client // nil: a client with lookupTimeout that follows no redirect
	SlackBaseURL string       // "" : https://slack.com
	WeComBaseURL string       // "" : https://qyapi.weixin.qq.com
	// SurveyAPIBaseURL, when set, replaces every survey tool's API base
	// (a source's api_base_url included): tests point it at a stand-in.
	SurveyAPIBaseURL string

	mu   sync.Mutex
	seen map[string]lookedUp
}

type lookedUp struct {
	fields map[string]string
	at     time.Time
}

// lookupTTL is how long a looked-up person is remembered; lookupMax how
// many (then all are forgotten at once).
const (
	lookupTTL = 5 * time.Minute
	lookupMax = 1024
)

// remembered runs look once per api, token and user within lookupTTL;
// only answers are remembered, never errors.
func (d *Directory) remembered(api, token, user string, look func() (map[string]string, error)) (map[string]string, error) {
	if d == nil {
		return look()
	}
	k := api + "\x00" + token + "\x00" + user
	d.mu.Lock()
	if e, ok := d.seen[k]; ok && time.Since(e.at) < lookupTTL {
		d.mu.Unlock()
		return maps.Clone(e.fields), nil
	}
	d.mu.Unlock()
	fields, err := look()
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	if d.seen == nil || len(d.seen) >= lookupMax {
		d.seen = map[string]lookedUp{}
	}
	d.seen[k] = lookedUp{fields: maps.Clone(fields), at: time.Now()}
	d.mu.Unlock()
	return fields, nil
}

var defaultLookupClient = &http.Client{
	Timeout:       lookupTimeout,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

func (d *Directory) client() *http.Client {
	if d != nil && d.HTTP != nil {
		return d.HTTP
	}
	return defaultLookupClient
}

// Slack answers the catalogue fields Slack's users.info gives for userID
// ("T123:U456", as in Event.UserID): "email" (needs the users:read.email
// scope), "phone", "name". botToken is a bot token (xoxb-…), sent only as
// Authorization: Bearer.
func (d *Directory) Slack(ctx context.Context, botToken, userID string) (map[string]string, error) {
	const api = "slack users.info"
	_, user, ok := strings.Cut(userID, ":")
	if !ok || user == "" {
		return nil, fmt.Errorf("%w: %s: user id is not team:user", ErrLookup, api)
	}
	return d.remembered(api, botToken, userID, func() (map[string]string, error) { return d.slack(ctx, api, botToken, user) })
}

func (d *Directory) slack(ctx context.Context, api, botToken, user string) (map[string]string, error) {
	base := "https://slack.com"
	if d != nil && d.SlackBaseURL != "" {
		base = d.SlackBaseURL
	}
	body, err := d.get(ctx, api, base, "/api/users.info", url.Values{"user": {user}}, "Bearer "+botToken)
	if err != nil {
		return nil, err
	}
	// docs.slack.dev/reference/methods/users.info: {"ok": true, "user":
	// {"real_name", "profile": {"real_name", "email", "phone", …}}};
	// errors {"ok": false, "error": "user_not_found"} with HTTP 200.
	var res struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
		User  struct {
			RealName string `json:"real_name"`
			Profile  struct {
				RealName string `json:"real_name"`
				Email    string `json:"email"`
				Phone    string `json:"phone"`
			} `json:"profile"`
		} `json:"user"`
	}
	if err := json.Unmarshal(body, &res); err != nil {
		return nil, fmt.Errorf("%w: %s: answer is not the documented JSON", ErrLookup, api)
	}
	if !res.OK {
		code := token(res.Error)
		if code == "" {
			code = "unnamed error"
		}
		return nil, fmt.Errorf("%w: %s: %s", ErrLookup, api, code)
	}
	out := map[string]string{}
	put(out, "email", res.User.Profile.Email)
	put(out, "phone", res.User.Profile.Phone)
	put(out, "name", res.User.RealName)
	if out["name"] == "" {
		put(out, "name", res.User.Profile.RealName)
	}
	return out, nil
}

// WeCom answers the catalogue fields WeCom's externalcontact/get gives for
// userID ("corp:external_userid", as in Event.UserID): "name" alone —
// WeCom returns no phone and no email for an external contact (the only
// numbers, follow_user[].remark_mobiles, are what a member typed as a
// remark, not the person's own, and are not taken). accessToken is sent
// only as the access_token query parameter, as WeCom documents.
func (d *Directory) WeCom(ctx context.Context, accessToken, userID string) (map[string]string, error) {
	const api = "wecom externalcontact/get"
	_, user, ok := strings.Cut(userID, ":")
	if !ok || user == "" {
		return nil, fmt.Errorf("%w: %s: user id is not corp:user", ErrLookup, api)
	}
	return d.remembered(api, accessToken, userID, func() (map[string]string, error) { return d.weCom(ctx, api, accessToken, user) })
}

func (d *Directory) weCom(ctx context.Context, api, accessToken, user string) (map[string]string, error) {
	base := "https://qyapi.weixin.qq.com"
	if d != nil && d.WeComBaseURL != "" {
		base = d.WeComBaseURL
	}
	body, err := d.get(ctx, api, base, "/cgi-bin/externalcontact/get",
		url.Values{"access_token": {accessToken}, "external_userid": {user}}, "")
	if err != nil {
		return nil, err
	}
	// developer.work.weixin.qq.com/document/path/92114: {"errcode": 0,
	// "errmsg": "ok", "external_contact": {"name", …}, "follow_user": […]}.
	var res struct {
		ErrCode         *int64 `json:"errcode"`
		ExternalContact *struct {
			Name string `json:"name"`
		} `json:"external_contact"`
	}
	if err := json.Unmarshal(body, &res); err != nil || res.ErrCode == nil {
		return nil, fmt.Errorf("%w: %s: answer is not the documented JSON", ErrLookup, api)
	}
	if *res.ErrCode != 0 {
		return nil, fmt.Errorf("%w: %s: errcode %d", ErrLookup, api, *res.ErrCode)
	}
	if res.ExternalContact == nil {
		return nil, fmt.Errorf("%w: %s: answer has no external_contact", ErrLookup, api)
	}
	out := map[string]string{}
	put(out, "name", res.ExternalContact.Name)
	return out, nil
}

func put(m map[string]string, k, v string) {
	if v = strings.TrimSpace(v); v != "" {
		m[k] = v
	}
}

// get fetches base+path?query. Its errors never carry the URL (whose query
// may hold a token or a user id): only the API's name and the cause.
func (d *Directory) get(ctx context.Context, api, base, path string, query url.Values, authorization string) ([]byte, error) {
	h := map[string]string{}
	if authorization != "" {
		h["Authorization"] = authorization
	}
	return d.getWith(ctx, api, base, path, query, h)
}

// getWith is get with any request headers (a token's header).
func (d *Directory) getWith(ctx context.Context, api, base, path string, query url.Values, headers map[string]string) ([]byte, error) {
	u, err := url.Parse(strings.TrimRight(base, "/") + path)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("%w: %s: base URL is not an http(s) URL", ErrLookup, api)
	}
	u.RawQuery = query.Encode()
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, lookupTimeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: cannot build the request", ErrLookup, api)
	}
	req.Header.Set("Accept", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := d.client().Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error's text quotes the URL
		}
		return nil, fmt.Errorf("%w: %s: %w", ErrLookup, api, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: reading the answer: %w", ErrLookup, api, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, &StatusError{API: api, Status: resp.StatusCode}
	}
	return body, nil
}

// Survey tools' API bases: SurveyMonkey's default, and the hosts a
// source's api_base_url may name (a token is never sent anywhere else).
const SurveyMonkeyBaseURL = "https://api.surveymonkey.com"

// SurveyAPIHost reports whether base is an https URL of the provider's
// API hosts: SurveyMonkey's (api.surveymonkey.com, api.eu.surveymonkey.com,
// api.surveymonkey.ca), Qualtrics' datacenters (<dc>.qualtrics.com).
func SurveyAPIHost(p Provider, base string) bool {
	u, err := url.Parse(base)
	if err != nil || u.Scheme != "https" || u.User != nil || u.RawQuery != "" || strings.Trim(u.Path, "/") != "" || u.Port() != "" {
		return false
	}
	h := strings.ToLower(u.Hostname())
	switch p {
	case SurveyMonkey:
		return h == "api.surveymonkey.com" || h == "api.eu.surveymonkey.com" || h == "api.surveymonkey.ca"
	case Qualtrics:
		dc, ok := strings.CutSuffix(h, ".qualtrics.com")
		return ok && dc != "" && !strings.Contains(dc, ".") && apiID(dc)
	}
	return false
}

// surveyBase is where a survey tool's API is asked: the override (tests),
// or the source's base, which must be one of the tool's own hosts — a
// stored definition is checked again here, so a token never goes
// anywhere else whatever was written to the table.
func (d *Directory) surveyBase(p Provider, api, base string) (string, error) {
	if d != nil && d.SurveyAPIBaseURL != "" {
		return d.SurveyAPIBaseURL, nil
	}
	if !SurveyAPIHost(p, base) {
		return "", fmt.Errorf("%w: %s: the base URL is not one of the tool's API hosts", ErrLookup, api)
	}
	return base, nil
}

// SurveyMonkeyResponse fetches a completed response's details (GET
// /v3/surveys/{survey}/responses/{response}/details?simple=true) with the
// source's access token, sent only as Authorization: Bearer.
func (d *Directory) SurveyMonkeyResponse(ctx context.Context, base, accessToken string, ref SurveyRef) ([]byte, error) {
	const api = "surveymonkey response details"
	if !apiID(ref.SurveyID) || !apiID(ref.ResponseID) {
		return nil, fmt.Errorf("%w: %s: ids are not API ids", ErrLookup, api)
	}
	if base == "" {
		base = SurveyMonkeyBaseURL
	}
	base, err := d.surveyBase(SurveyMonkey, api, base)
	if err != nil {
		return nil, err
	}
	return d.get(ctx, api, base, "/v3/surveys/"+ref.SurveyID+"/responses/"+ref.ResponseID+"/details",
		url.Values{"simple": {"true"}}, "Bearer "+accessToken)
}

// QualtricsResponse fetches a response (GET
// /API/v3/surveys/{survey}/responses/{response}) with the source's API
// token, sent only as X-API-TOKEN, from the source's datacenter base.
func (d *Directory) QualtricsResponse(ctx context.Context, base, apiToken string, ref SurveyRef) ([]byte, error) {
	const api = "qualtrics response"
	if !apiID(ref.SurveyID) || !apiID(ref.ResponseID) {
		return nil, fmt.Errorf("%w: %s: ids are not API ids", ErrLookup, api)
	}
	base, err := d.surveyBase(Qualtrics, api, base)
	if err != nil {
		return nil, err
	}
	return d.getWith(ctx, api, base, "/API/v3/surveys/"+ref.SurveyID+"/responses/"+ref.ResponseID, nil,
		map[string]string{"X-API-TOKEN": apiToken})
}

// StatusError is a provider API's answer other than 200 (it wraps
// ErrLookup). Permanent says the same request will not succeed later: a
// 4xx other than 408 and 429.
type StatusError struct {
	API    string
	Status int
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("%s: %s: HTTP %d", ErrLookup, e.API, e.Status)
}

// Unwrap makes errors.Is(err, ErrLookup) hold.
func (e *StatusError) Unwrap() error { return ErrLookup }

// Permanent reports whether retrying the request is pointless.
func (e *StatusError) Permanent() bool {
	return e.Status >= 400 && e.Status < 500 && e.Status != http.StatusRequestTimeout && e.Status != http.StatusTooManyRequests
}
