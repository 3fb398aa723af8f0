package config

import (
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
)

// maxPerRequest bounds the per-request overrides. Cloudflare's largest
// documented maximum is 500 URLs (Enterprise); the headroom is for plans that
// grow, not for typos of an extra zero or two.
const maxPerRequest = 1000

func (v *validator) cloudflare(c *Config) {
	cf := &c.Cloudflare
	v.apiBaseURL(cf.APIBaseURL)
	v.oneOf("cloudflare.dry_run", cf.DryRun, DryRunAuto, DryRunTrue, DryRunFalse)
	var live string // why the accounts need credentials; "" in a dry run
	switch {
	case c.DryRun():
	case cf.DryRun == DryRunFalse:
		live = "cloudflare.dry_run is false"
	case cf.anyCredentials():
		live = "other accounts have credentials, so this is not a dry run"
	default:
		live = fmt.Sprintf("nats.url is not %q, so this is not a trial dry run", EmbeddedURL)
	}
	accounts := make(map[string]int, len(cf.Accounts))
	for i, a := range cf.Accounts {
		v.account(fmt.Sprintf("cloudflare.accounts[%d]", i), a, live, accounts)
		if _, dup := accounts[a.Name]; !dup && a.Name != "" {
			accounts[a.Name] = i
		}
	}
	v.zones(cf.Zones, accounts, len(cf.Accounts))
}

func (v *validator) apiBaseURL(s string) {
	const key = "cloudflare.api_base_url"
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		v.addf(key, "%s is not an absolute http:// or https:// URL without query or fragment", v.show(key, redactURL(s)))
	}
}

// account checks one account; names maps the names seen so far to their index.
func (v *validator) account(p string, a Account, live string, names map[string]int) {
	switch first, dup := names[a.Name]; {
	case a.Name == "":
		v.addf(p+".name", "must not be empty")
	case dup:
		v.addf(p+".name", "%s is already the name of cloudflare.accounts[%d]", v.show(p+".name", a.Name), first)
	case !isAccountName(a.Name):
		v.addf(p+".name", "%s must be at most 64 letters, digits, '.', '_' or '-'", v.show(p+".name", a.Name))
	}
	v.oneOf(p+".plan", a.Plan, PlanFree, PlanPro, PlanBusiness, PlanEnterprise)
	v.credentials(p, a, live)
	v.perRequest(p+".max_urls_per_request", a.MaxURLsPerRequest)
	v.perRequest(p+".max_keys_per_request", a.MaxKeysPerRequest)
	v.rate(p+".flex_per_second", a.FlexPerSecond)
	v.rate(p+".urls_per_second", a.URLsPerSecond)
	if a.FlexBurst < 0 {
		v.addf(p+".flex_burst", "must be >= 0 (0 uses the plan's burst), got %s", v.show(p+".flex_burst", strconv.Itoa(a.FlexBurst)))
	}
}

// credentials checks that the account has at most one way to authenticate,
// that it is complete, and that a live account has one; live says why the
// account must have credentials, or is "" in a dry run.
func (v *validator) credentials(p string, a Account, live string) {
	tokenKey := p + ".api_token"
	if a.tokenFromFile {
		tokenKey = p + ".api_token_file"
	}
	switch {
	case a.APIToken != "" && a.APITokenFile != "" && !a.tokenFromFile:
		v.addf(p+".api_token_file", "set api_token or api_token_file, not both")
	case a.APIToken != "" && (a.APIEmail != "" || a.APIKey != ""):
		v.addf(tokenKey, "set an API token or api_email with api_key, not both")
	case a.APIEmail != "" && a.APIKey == "":
		v.addf(p+".api_key", "must be set with api_email")
	case a.APIKey != "" && a.APIEmail == "":
		v.addf(p+".api_email", "must be set with api_key")
	case live != "" && !a.HasCredentials() && a.APITokenFile == "":
		// With api_token_file set, Parse has already reported why it could
		// not read the token.
		v.addf(p, "has no credentials%s, and %s; set api_token, api_token_file, or api_email with api_key, "+
			"or set cloudflare.dry_run: true", v.emptyFrom(p, "api_token", "api_email", "api_key"), live)
	}
	if a.APIToken != "" {
		v.secretText(tokenKey, a.APIToken)
	}
	if a.APIKey != "" {
		v.secretText(p+".api_key", a.APIKey)
	}
	if a.APIEmail != "" && !isEmail(a.APIEmail) {
		v.addf(p+".api_email", "%s is not an email address", v.show(p+".api_email", a.APIEmail))
	}
}

func (v *validator) perRequest(key string, n int) {
	if n < 0 || n > maxPerRequest {
		v.addf(key, "must be between 1 and %d, or 0 for the plan's maximum, got %s", maxPerRequest, v.show(key, strconv.Itoa(n)))
	}
}

func (v *validator) rate(key string, r float64) {
	if r < 0 || math.IsNaN(r) || math.IsInf(r, 0) {
		v.addf(key, "must be a finite number > 0, or 0 for the plan's rate, got %s", v.show(key, strconv.FormatFloat(r, 'g', -1, 64)))
	}
}

// zones checks the zones; accounts maps the usable account names to indexes,
// out of nAccounts configured.
func (v *validator) zones(zones []Zone, accounts map[string]int, nAccounts int) {
	if len(zones) == 0 {
		v.addf("cloudflare.zones", "at least one zone is required")
	}
	names := make(map[string]int, len(zones))
	ids := make(map[string]int, len(zones))
	for i, z := range zones {
		p := fmt.Sprintf("cloudflare.zones[%d]", i)
		if !isZoneName(z.Name) {
			v.addf(p+".name", "%s is not a lowercase DNS name such as \"example.com\"", v.show(p+".name", z.Name))
		} else if first, dup := names[z.Name]; dup {
			v.addf(p+".name", "%s is already the name of cloudflare.zones[%d]", v.show(p+".name", z.Name), first)
		} else {
			names[z.Name] = i
		}
		if !isZoneID(z.ID) {
			v.addf(p+".id", "%s is not a 32-character lowercase hex zone ID", v.show(p+".id", z.ID))
		} else if first, dup := ids[z.ID]; dup {
			v.addf(p+".id", "%s is already the ID of cloudflare.zones[%d]", v.show(p+".id", z.ID), first)
		} else {
			ids[z.ID] = i
		}
		v.zoneAccount(p+".account", z.Account, accounts, nAccounts)
	}
}

func (v *validator) zoneAccount(key, name string, accounts map[string]int, nAccounts int) {
	switch _, ok := accounts[name]; {
	case name == "" && nAccounts == 0:
		v.addf(key, "names no account, and cloudflare.accounts is empty")
	case name == "" && nAccounts == 1:
		// The only account has no name, which is reported on its own.
	case name == "":
		v.addf(key, "must name one of cloudflare.accounts (it may be omitted only when there is exactly one)")
	case !ok:
		v.addf(key, "%s is not the name of an entry in cloudflare.accounts", v.show(key, name))
	}
}

// emptyFrom names the environment variables that the account's credential
// keys were read from, for the error of an account without credentials: the
// usual cause is a variable that is unset or misspelt.
func (v *validator) emptyFrom(p string, keys ...string) string {
	var from []string
	for _, k := range keys {
		if r, ok := v.refs[p+"."+k]; ok {
			from = append(from, k+" comes from "+r)
		}
	}
	if len(from) == 0 {
		return ""
	}
	return " (" + strings.Join(from, ", ") + ": unset or empty)"
}
