package sender

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/kehu-dev/kehu/shared/config"
)

// The sender's environment variables (template.yaml sets them; a test
// checks they are the ones read here).
const (
	EnvFrom      = "SENDER_FROM"           // required: the SES identity's address, optionally with a name
	EnvAPIURL    = "API_URL"               // required: the HTTP API's URL, where the links point
	EnvPublicURL = "PUBLIC_URL"            // optional: a custom domain to point the links to instead
	EnvSurvey    = "SENDER_SURVEY"         // default "update"
	EnvInterval  = "SENDER_INTERVAL"       // default 720h (30 days)
	EnvMaxPerRun = "SENDER_MAX_PER_RUN"    // default 500
	EnvSurveyTTL = "SENDER_LINK_TTL"       // default 336h (14 days)
	EnvConfigSet = "SES_CONFIGURATION_SET" // optional
	EnvSMTPAddr  = "SMTP_ADDR"             // optional: send through SMTP instead of SES (not in AWS)
)

// Required and Optional list the sender's variables.
var (
	Required = []string{config.EnvTable, config.EnvBlindIndexKey, EnvFrom, EnvAPIURL}
	Optional = []string{config.EnvCallTimeout, EnvPublicURL, EnvSurvey, EnvInterval, EnvMaxPerRun, EnvSurveyTTL, EnvConfigSet, EnvSMTPAddr}
)

// SettingsFromEnv reads the sender's settings over Defaults.
func SettingsFromEnv(getenv func(string) string) (Settings, error) {
	s := Defaults()
	var missing []string
	for _, name := range []string{EnvFrom, EnvAPIURL} {
		if strings.TrimSpace(getenv(name)) == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return s, &config.IncompleteError{Missing: missing}
	}
	s.From, s.PublicURL = strings.TrimSpace(getenv(EnvFrom)), strings.TrimSpace(getenv(EnvAPIURL))
	name := EnvAPIURL
	if v := strings.TrimSpace(getenv(EnvPublicURL)); v != "" {
		s.PublicURL, name = v, EnvPublicURL
	}
	if u, err := url.Parse(s.PublicURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return s, fmt.Errorf("%s must be an http(s) URL", name)
	}
	if v := getenv(EnvSurvey); v != "" {
		s.Survey = v
	}
	for name, d := range map[string]*time.Duration{EnvInterval: &s.Interval, EnvSurveyTTL: &s.SurveyTTL} {
		if v := getenv(name); v != "" {
			p, err := time.ParseDuration(v)
			if err != nil || p <= 0 {
				return s, fmt.Errorf("%s must be a positive duration such as 720h", name)
			}
			*d = p
		}
	}
	if v := getenv(EnvMaxPerRun); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return s, fmt.Errorf("%s must be a positive number", EnvMaxPerRun)
		}
		s.MaxPerRun = n
	}
	return s, nil
}
