package privacy

import (
	"testing"
	"time"
)

func TestTimingFromEnv(t *testing.T) {
	env := func(kv ...string) func(string) string {
		return func(k string) string {
			for i := 0; i < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1]
				}
			}
			return ""
		}
	}
	if got, err := TimingFromEnv(env()); err != nil || got.CoolingOff != 7*24*time.Hour || got.AnswerIn != 15*24*time.Hour {
		t.Fatalf("defaults: %+v %v", got, err)
	}
	if got, err := TimingFromEnv(env(EnvCoolingOff, "48h", EnvAnswerIn, "720h")); err != nil || got.CoolingOff != 48*time.Hour || got.AnswerIn != 720*time.Hour {
		t.Fatalf("set: %+v %v", got, err)
	}
	for _, bad := range [][]string{
		{EnvCoolingOff, "0h"}, // not "no cooling-off": refused, never turned into the default
		{EnvCoolingOff, "-1h"},
		{EnvAnswerIn, "soon"},
		{EnvCoolingOff, "360h"},                      // ends when the answer is due: no day for the sweep
		{EnvCoolingOff, "200h", EnvAnswerIn, "100h"}, // after it
	} {
		if _, err := TimingFromEnv(env(bad...)); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}
