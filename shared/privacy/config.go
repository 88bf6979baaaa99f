package privacy

import (
	"fmt"
	"time"

	"github.com/kehu-dev/kehu/shared/config"
	"github.com/kehu-dev/kehu/shared/sender"
)

// Environment of the privacy function and its sweep.
const (
	EnvCoolingOff = "ERASURE_COOLING_OFF" // default 168h (7 days)
	EnvAnswerIn   = "REQUEST_ANSWER_IN"   // the statutory answer time; default 360h (15 days, PIPL)
)

var (
	// Required and Optional are the privacy function's variables: the
	// table, the blind-index key (the link secret is wrapped under it), and
	// the sender's (it emails the copy's link).
	Required = []string{config.EnvTable, config.EnvBlindIndexKey, sender.EnvFrom, sender.EnvAPIURL}
	Optional = []string{config.EnvMaxBodyBytes, config.EnvCallTimeout, sender.EnvPublicURL, sender.EnvConfigSet, EnvCoolingOff, EnvAnswerIn}
	// SweepRequired and SweepOptional are the privacy sweep's: the table,
	// and the segment thresholds (whose retention_days it applies).
	SweepRequired = []string{config.EnvTable}
	SweepOptional = []string{config.EnvThresholds}
)

// Timing is when an erasure runs and a request must be answered.
type Timing struct {
	CoolingOff time.Duration
	AnswerIn   time.Duration
}

// TimingFromEnv reads the timing over its defaults.
func TimingFromEnv(getenv func(string) string) (Timing, error) {
	t := Timing{CoolingOff: 7 * 24 * time.Hour, AnswerIn: 15 * 24 * time.Hour}
	for name, d := range map[string]*time.Duration{EnvCoolingOff: &t.CoolingOff, EnvAnswerIn: &t.AnswerIn} {
		if v := getenv(name); v != "" {
			p, err := time.ParseDuration(v)
			if err != nil || p < 0 {
				return t, fmt.Errorf("%s must be a duration such as 168h", name)
			}
			*d = p
		}
	}
	return t, nil
}
