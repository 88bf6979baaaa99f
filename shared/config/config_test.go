package config

import (
	"strings"
	"testing"
	"time"
)

func TestFromEnv(t *testing.T) {
	env := map[string]string{EnvTable: "t", EnvConfidentialKey: "alias/c", EnvRestrictedKey: "alias/r", EnvBlindIndexKey: "alias/b"}
	get := func(k string) string { return env[k] }
	c, err := FromEnv(get)
	if err != nil || c.Table != "t" || c.MaxBodyBytes != 64<<10 || c.DataKeyMaxAge != 5*time.Minute {
		t.Fatalf("defaults: %+v %v", c, err)
	}
	env[EnvDataKeyMaxAge], env[EnvMaxBodyBytes] = "90s", "2048"
	if c, err = FromEnv(get); err != nil || c.DataKeyMaxAge != 90*time.Second || c.MaxBodyBytes != 2048 {
		t.Fatalf("overrides: %+v %v", c, err)
	}
	env[EnvDataKeyMaxUses] = "0"
	if _, err = FromEnv(get); err == nil || !strings.Contains(err.Error(), EnvDataKeyMaxUses) {
		t.Fatalf("bad max uses: %v", err)
	}
	delete(env, EnvTable)
	delete(env, EnvRestrictedKey)
	_, err = FromEnv(get)
	if err == nil || !strings.Contains(err.Error(), EnvTable) || !strings.Contains(err.Error(), EnvRestrictedKey) {
		t.Fatalf("missing variables not named: %v", err)
	}
}
