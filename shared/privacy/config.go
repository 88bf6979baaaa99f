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
	// table, the blind-index key (the link secret is wrapped under it), the
	// sender's (it emails the copy's link), and the segment thresholds (it
	// tells a person who withdrew every purpose when the data goes).
	Required = []string{config.EnvTable, config.EnvBlindIndexKey, sender.EnvFrom, sender.EnvAPIURL}
	Optional = []string{config.EnvMaxBodyBytes, config.EnvCallTimeout, sender.EnvPublicURL, sender.EnvConfigSet, EnvCoolingOff, EnvAnswerIn,
		config.EnvThresholds}
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

// TimingFromEnv reads the timing over its defaults. Both are positive,
// and an erasure's cooling-off ends at least a day (the sweep's period)
// before the answer is due.
func TimingFromEnv(getenv func(string) string) (Timing, error) {
	t := Timing{CoolingOff: 7 * 24 * time.Hour, AnswerIn: 15 * 24 * time.Hour}
	for _, v := range []struct {
		name string
		d    *time.Duration
	}{{EnvCoolingOff, &t.CoolingOff}, {EnvAnswerIn, &t.AnswerIn}} {
		if s := getenv(v.name); s != "" {
			p, err := time.ParseDuration(s)
			if err != nil || p <= 0 {
				return t, fmt.Errorf("%s must be a positive duration such as 168h", v.name)
			}
			*v.d = p
		}
	}
	if t.CoolingOff+24*time.Hour > t.AnswerIn {
		return t, fmt.Errorf("%s (%v) must end at least a day before %s (%v): the erasure must be done within the answer time",
			EnvCoolingOff, t.CoolingOff, EnvAnswerIn, t.AnswerIn)
	}
	return t, nil
}
