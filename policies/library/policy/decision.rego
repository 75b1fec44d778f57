# The decision: turns the findings of the detection rules and what the
# directory knows about the person into a verdict.
package vigil.decision

severity_rank := {"info": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}

severities := ["info", "low", "medium", "high", "critical"]

base_score := {"info": 5, "low": 20, "medium": 45, "high": 70, "critical": 90}

ns_per_day := (24 * 60) * ((60 * 1000) * 1000000)

# People context ------------------------------------------------------------

# Someone who has given notice, or whose end date is within 30 days.
leaving if input.user.employment.status in {"notice", "terminated"}

leaving if {
	end := input.user.employment.end_date
	end != ""
	now := time.parse_rfc3339_ns(input.event["@timestamp"])
	days := (time.parse_ns("2006-01-02", end) - now) / ns_per_day
	days <= 30
}

contractor if input.user.contractor == true

contractor if input.user.employment.type == "contractor"

privileged if input.user.privileged == true

watchlisted if count(object.get(input.user, "watchlists", [])) > 0

# How much more a finding weighs for this person.
weights contains 2 if leaving

weights contains 1.5 if contractor

weights contains 1.5 if privileged

weights contains 1.25 if watchlisted

multiplier := max(weights) if count(weights) > 0

default multiplier := 1

context_reasons contains "the user is leaving (notice given or end date within 30 days)" if leaving

context_reasons contains "the user is a contractor" if contractor

context_reasons contains "the user is a privileged administrator" if privileged

context_reasons contains sprintf("the user is on watchlists %v", [input.user.watchlists]) if watchlisted

# Verdict -------------------------------------------------------------------

top_rank := max({severity_rank[f.severity] | some f in input.findings})

# A leaving user's findings go up one severity level.
final_rank := min({top_rank + 1, 4}) if leaving

final_rank := top_rank if not leaving

score := min({100, max({base_score[f.severity] | some f in input.findings}) * multiplier})

top_finding := [f | some f in input.findings; severity_rank[f.severity] == top_rank][0]

evidence := object.remove(top_finding.evidence, ["keystrokes"]) if {
	contractor
	data.vigil.config.privacy.no_keystrokes_for_contractors
	top_finding.evidence
}

default evidence := null

evidence := top_finding.evidence if {
	not contractor
	top_finding.evidence
}

evidence := top_finding.evidence if {
	contractor
	not data.vigil.config.privacy.no_keystrokes_for_contractors
	top_finding.evidence
}

actions contains "notify-security" if final_rank >= 3

actions contains "notify-manager" if {
	final_rank >= 3
	input.user.manager
}

decision := {
	"alert": count(input.findings) > 0,
	"severity": severities[final_rank],
	"risk_score": score,
	"reasons": array.concat([f.message | some f in input.findings], sort(context_reasons)),
	"evidence": evidence,
	"actions": sort(actions),
} if count(input.findings) > 0

decision := {
	"alert": false,
	"severity": "info",
	"risk_score": 0,
	"reasons": [],
	"evidence": null,
	"actions": [],
} if count(input.findings) == 0
