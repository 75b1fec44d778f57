# The decision: turns the findings of the detection rules and what the
# directory knows about the person into a verdict.
#
#   severity   = the top finding's severity, raised for people leaving or gone
#                and for open insider-risk cases (never above critical, never
#                for info findings);
#   risk_score = the top finding's base score times the largest weight that
#                applies to the person, plus 5 per further finding, at most 100;
#   alert      = severity at or above data.vigil.config.alert_min_severity;
#   evidence   = what the findings asked for, minus the kinds below their
#                minimum severity, minus what the privacy rules forbid;
#   actions    = who to tell.
#
# Every factor, weight and list is in data/ (config.yaml, people.yaml), so
# tuning is a reviewed data change. See docs/policy-library.md.
package vigil.decision

severity_rank := {"info": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}

severities := ["info", "low", "medium", "high", "critical"]

base_score := {"info": 5, "low": 20, "medium": 45, "high": 70, "critical": 90}

ns_per_day := (24 * 60) * ((60 * 1000) * 1000000)

# Settings and lists from data/config.yaml and data/people.yaml; the policy
# still decides (with its defaults) if either is missing.
default config := {}

config := data.vigil.config

default people := {}

people := data.vigil.people

privacy := object.get(config, "privacy", {})

# Lists from data, as sets; a missing list is empty.
data_set(obj, key) := {x | some x in object.get(obj, key, [])}

# People context ------------------------------------------------------------

user := object.get(input, "user", {})

groups := {g | some g in object.get(user, "groups", [])}

watchlists := {w | some w in object.get(user, "watchlists", [])}

status := object.get(user, ["employment", "status"], "")

end_date := object.get(user, ["employment", "end_date"], "")

now_ns := time.parse_rfc3339_ns(input.event["@timestamp"])

# Nanoseconds of the start (midnight UTC) of the end date, when it is a date.
end_ns := time.parse_ns("2006-01-02", end_date) if regex.match(`^\d{4}-\d{2}-\d{2}$`, end_date)

leaving_window_days := object.get(people, "leaving_window_days", 30)

# Gone: terminated, disabled in the directory (user.active present and
# false), or the day after the end date has begun.
departed if status == "terminated"

departed if user.active == false

departed if now_ns >= end_ns + ns_per_day

# Leaving: notice given, end date within the window, or on a leavers'
# watchlist; and not already gone.
leaving if {
	not departed
	leaving_signal
}

leaving_signal if status == "notice"

leaving_signal if {
	now_ns < end_ns + ns_per_day
	end_ns - now_ns <= leaving_window_days * ns_per_day
}

leaving_signal if {
	some w in watchlists
	w in data_set(people, "leaver_watchlists")
}

on_leave if status == "leave"

contractor if user.contractor == true

contractor if object.get(user, ["employment", "type"], "") in {"contractor", "contract"}

contractor if status == "contractor"

contractor if {
	some g in groups
	g in data_set(people, "contractor_groups")
}

privileged if user.privileged == true

privileged if {
	some g in groups
	g in data_set(people, "privileged_groups")
}

high_risk_watchlist if {
	some w in watchlists
	w in data_set(people, "high_risk_watchlists")
}

watchlisted if count(watchlists) > 0

# Which kinds of person this user is, in order of weight.
factors contains "departed" if departed

factors contains "leaving" if leaving

factors contains "high_risk_watchlist" if high_risk_watchlist

factors contains "on_leave" if on_leave

factors contains "contractor" if contractor

factors contains "privileged" if privileged

factors contains "watchlist" if watchlisted

default_weights := {
	"departed": 3, "leaving": 2, "high_risk_watchlist": 2, "on_leave": 1.5,
	"contractor": 1.5, "privileged": 1.5, "watchlist": 1.25,
}

weight(f) := object.get(object.get(people, "weights", {}), f, default_weights[f])

default_escalation := {"departed": 2, "leaving": 1, "high_risk_watchlist": 1}

escalation(f) := object.get(object.get(people, "escalation", {}), f, object.get(default_escalation, f, 0))

# The largest weight that applies; 1 for everybody else.
multiplier := max({weight(f) | some f in factors} | {1})

# The largest escalation that applies; 0 for everybody else.
raise := max({escalation(f) | some f in factors} | {0})

context_reasons contains "the user has left: terminated, disabled in the directory or past their end date" if departed

context_reasons contains sprintf("the user is leaving (notice given, end date within %v days or on a leavers' watchlist)", [leaving_window_days]) if leaving

context_reasons contains "the user is on leave of absence" if on_leave

context_reasons contains "the user is a contractor" if contractor

context_reasons contains "the user is a privileged administrator" if privileged

context_reasons contains sprintf("the user is on watchlists %v", [sort(watchlists)]) if watchlisted

# Verdict -------------------------------------------------------------------

top_rank := max({severity_rank[f.severity] | some f in input.findings})

# Info findings are context, never raised.
final_rank := top_rank if top_rank == 0

final_rank := min({top_rank + raise, 4}) if top_rank > 0

extra_findings := count(input.findings) - 1

score := min({100, (base_score[severities[top_rank]] * multiplier) + (5 * extra_findings)})

alert_min_rank := severity_rank[object.get(config, "alert_min_severity", "low")]

alert := final_rank >= alert_min_rank

# Evidence --------------------------------------------------------------------

evidence_kinds := ["video", "keystrokes", "clipboard", "terminal"]

# Each kind comes from the most severe finding that asks for it (the first
# such finding when several are equally severe).
requested[kind] := req if {
	some kind in evidence_kinds
	asking := [f | some f in input.findings; object.get(object.get(f, "evidence", {}), kind, null) != null]
	count(asking) > 0
	r := max({severity_rank[f.severity] | some f in asking})
	req := [f.evidence[kind] | some f in asking; severity_rank[f.severity] == r][0]
}

screenshot_requested if {
	some f in input.findings
	object.get(object.get(f, "evidence", {}), "screenshot", false) == true
}

default_min_severity := {"screenshot": "low", "clipboard": "medium", "terminal": "medium", "video": "medium", "keystrokes": "high"}

min_rank(kind) := severity_rank[object.get(object.get(config, "evidence_min_severity", {}), kind, default_min_severity[kind])]

content_protected if {
	some g in groups
	g in data_set(privacy, "content_protected_groups")
}

content_protected if object.get(user, "name", "") in data_set(privacy, "content_protected_users")

no_keystrokes_group if {
	some g in groups
	g in data_set(privacy, "no_keystrokes_groups")
}

# Why a kind the findings asked for is not captured.
withheld[kind] := "below its minimum severity" if {
	some kind, _ in requested
	final_rank < min_rank(kind)
}

withheld["screenshot"] := "below its minimum severity" if {
	screenshot_requested
	final_rank < min_rank("screenshot")
}

content_withheld(kind) if {
	content_protected
	kind in data_set(privacy, "content_evidence")
}

withheld[kind] := "content-protected user" if {
	some kind, _ in requested
	final_rank >= min_rank(kind)
	content_withheld(kind)
}

withheld["screenshot"] := "content-protected user" if {
	screenshot_requested
	final_rank >= min_rank("screenshot")
	content_withheld("screenshot")
}

withheld["keystrokes"] := "no keystroke capture for contractors" if {
	requested.keystrokes
	final_rank >= min_rank("keystrokes")
	not content_withheld("keystrokes")
	contractor_keystrokes_rule
}

withheld["keystrokes"] := "no keystroke capture for this group" if {
	requested.keystrokes
	final_rank >= min_rank("keystrokes")
	not content_withheld("keystrokes")
	not contractor_keystrokes_rule
	no_keystrokes_group
}

contractor_keystrokes_rule if {
	contractor
	object.get(privacy, "no_keystrokes_for_contractors", false) == true
}

captured := {kind: req |
	some kind, req in requested
	not withheld[kind]
}

captured_screenshot if {
	screenshot_requested
	not withheld.screenshot
}

evidence_object := object.union(captured, {"screenshot": true}) if captured_screenshot

evidence_object := captured if not captured_screenshot

default evidence := null

evidence := evidence_object if count(evidence_object) > 0

privacy_reasons contains sprintf("%s capture withheld: %s", [kind, why]) if {
	some kind, why in withheld
	why != "below its minimum severity"
}

# Actions ---------------------------------------------------------------------

actions contains "notify-security" if final_rank >= 3

actions contains "notify-manager" if {
	final_rank >= 3
	object.get(user, "manager", "") != ""
	not content_protected
}

actions contains "notify-hr" if {
	final_rank >= 3
	leaving_or_departed
}

actions contains "open-case" if final_rank == 4

actions contains "disable-account" if {
	departed
	final_rank >= 3
}

actions contains "second-reviewer" if {
	alert
	content_protected
}

leaving_or_departed if leaving

leaving_or_departed if departed

# Decision --------------------------------------------------------------------

decision := {
	"alert": alert,
	"severity": severities[final_rank],
	"risk_score": score,
	"reasons": array.concat(array.concat([f.message | some f in input.findings], sort(context_reasons)), sort(privacy_reasons)),
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
