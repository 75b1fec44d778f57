package email

import (
	"fmt"
	"os"
	"strings"

	"github.com/vigil-itm/vigil/sensors"
)

// Diagnosis is one finding of Diagnose: something the sensor needs, and
// whether this machine has it.
type Diagnosis = sensors.Diagnosis

// Diagnose checks the local machine for what the email sensor needs: Sent
// folders to watch, a postfix log when one is configured, and the
// organisation's domains.
func Diagnose(cfg Config) []Diagnosis {
	var out []Diagnosis
	folders := append([]Folder(nil), cfg.SentFolders...)
	if cfg.DiscoverClients {
		folders = append(folders, Discover(cfg.Homes)...)
	}
	if len(folders) == 0 {
		out = append(out, Diagnosis{Subject: "Sent folders", OK: true,
			Detail: "no Thunderbird or Evolution Sent folder found in " + strings.Join(cfg.Homes, ", ") + " (the sensor looks again every " + cfg.Rescan.String() + ")"})
	}
	for _, f := range folders {
		if _, err := os.Stat(f.Path); err != nil {
			out = append(out, Diagnosis{Subject: "Sent folder", Detail: err.Error(), Fix: "fix email.sent_folders or run the agent as root"})
			continue
		}
		out = append(out, Diagnosis{Subject: "Sent folder", OK: true, Detail: fmt.Sprintf("%s (%s, %s)", f.Path, formatOf(f), f.Client)})
	}
	found := ""
	for _, p := range cfg.PostfixLogs {
		if _, err := os.Stat(p); err == nil {
			found = p
			break
		}
	}
	switch {
	case len(cfg.PostfixLogs) == 0:
	case found == "":
		out = append(out, Diagnosis{Subject: "postfix log", OK: true, Detail: "none of " + strings.Join(cfg.PostfixLogs, ", ") + " exists: no local MTA to follow"})
	default:
		if f, err := os.Open(found); err != nil {
			out = append(out, Diagnosis{Subject: "postfix log", Detail: err.Error(), Fix: "run the agent as root or in the adm group"})
		} else {
			_ = f.Close()
			out = append(out, Diagnosis{Subject: "postfix log", OK: true, Detail: found + " is readable"})
		}
	}
	if len(cfg.OrganisationDomains) == 0 {
		out = append(out, Diagnosis{Subject: "organisation_domains", Detail: "not set: each message's sender domain counts as internal",
			Fix: "set email.organisation_domains to the organisation's mail domains"})
	} else {
		out = append(out, Diagnosis{Subject: "organisation_domains", OK: true, Detail: strings.Join(cfg.OrganisationDomains, ", ")})
	}
	return out
}
