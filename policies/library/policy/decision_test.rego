package vigil.decision_test

import data.vigil.decision

# Helpers -------------------------------------------------------------------

now := "2026-11-02T10:00:00Z"

finding(sev) := {
	"rule": "r", "severity": sev, "message": sprintf("%s finding", [sev]),
	"evidence": {"screenshot": true, "video": {"before": "2m", "after": "1m"}, "keystrokes": {"before": "5m"}},
}

bare(sev) := {"rule": "b", "severity": sev, "message": "bare"}

decide(u, fs) := r if {
	r := decision.decision with input as {"event": {"@timestamp": now}, "user": u, "findings": fs}
}

# Settings as shipped in data/config.yaml and data/people.yaml, so that the
# tests do not depend on later tuning of the data files.
shipped_config := {
	"alert_min_severity": "low",
	"evidence_min_severity": {"screenshot": "low", "clipboard": "medium", "terminal": "medium", "video": "medium", "keystrokes": "high"},
	"privacy": {
		"no_keystrokes_for_contractors": true,
		"no_keystrokes_groups": ["works-council", "legal-privilege"],
		"content_protected_groups": ["works-council", "ombuds"],
		"content_protected_users": ["hweber"],
		"content_evidence": ["keystrokes", "clipboard", "terminal", "screenshot", "video"],
	},
}

shipped_people := {
	"leaving_window_days": 30,
	"privileged_groups": ["domain-admins"],
	"contractor_groups": ["contractors"],
	"leaver_watchlists": ["leavers"],
	"high_risk_watchlists": ["insider-risk"],
	"weights": {"departed": 3, "leaving": 2, "high_risk_watchlist": 2, "on_leave": 1.5, "contractor": 1.5, "privileged": 1.5, "watchlist": 1.25},
	"escalation": {"departed": 2, "leaving": 1, "high_risk_watchlist": 1},
}

d(u, fs) := r if {
	r := decide(u, fs) with data.vigil.config as shipped_config with data.vigil.people as shipped_people
}

# No findings, one finding ----------------------------------------------------

test_no_findings_no_alert if {
	r := d({}, [])
	r.alert == false
	r.severity == "info"
	r.risk_score == 0
	r.evidence == null
	r.actions == []
}

test_high_finding_alerts if {
	r := d({}, [finding("high")])
	r.alert
	r.severity == "high"
	r.risk_score == 70
	r.reasons == ["high finding"]
	r.actions == ["notify-security"]
}

test_manager_notified_at_high if {
	r := d({"manager": "mgr7"}, [finding("high")])
	r.actions == ["notify-manager", "notify-security"]
}

test_manager_not_notified_below_high if {
	r := d({"manager": "mgr7"}, [finding("medium")])
	r.actions == []
}

test_critical_opens_a_case if {
	r := d({}, [finding("critical")])
	r.actions == ["notify-security", "open-case"]
	r.risk_score == 90
}

test_low_finding_alerts_by_default if {
	r := d({}, [finding("low")])
	r.alert
	r.risk_score == 20
}

test_info_finding_does_not_alert if {
	r := d({}, [finding("info")])
	r.alert == false
	r.severity == "info"
	r.risk_score == 5
}

test_alert_min_severity_is_configurable if {
	r := decide({}, [finding("low")]) with data.vigil.config as object.union(shipped_config, {"alert_min_severity": "medium"})
		with data.vigil.people as shipped_people
	r.alert == false
	r.severity == "low"
}

test_extra_findings_add_five_each if {
	r := d({}, [finding("medium"), bare("low"), bare("low")])
	r.severity == "medium"
	r.risk_score == 55
	r.reasons == ["medium finding", "bare", "bare"]
}

test_score_is_capped_at_100 if {
	r := d({"contractor": true}, [finding("critical"), bare("high")])
	r.risk_score == 100
}

# Leaving and gone ------------------------------------------------------------

test_notice_is_leaving if {
	r := d({"employment": {"status": "notice"}}, [finding("medium")])
	r.severity == "high"
	r.risk_score == 90
	"the user is leaving (notice given, end date within 30 days or on a leavers' watchlist)" in r.reasons
}

test_leaving_user_weighs_double_and_escalates if {
	r := d({"employment": {"end_date": "2026-11-20"}}, [finding("medium")])
	r.severity == "high"
	r.risk_score == 90
}

test_end_date_far_away_is_not_leaving if {
	r := d({"employment": {"end_date": "2027-06-01"}}, [finding("medium")])
	r.severity == "medium"
	r.risk_score == 45
}

test_leaving_window_is_configurable if {
	r := decide({"employment": {"end_date": "2026-12-20"}}, [finding("medium")]) with data.vigil.config as shipped_config
		with data.vigil.people as object.union(shipped_people, {"leaving_window_days": 60})
	r.severity == "high"
}

test_malformed_end_date_is_ignored if {
	r := d({"employment": {"end_date": "soon"}}, [finding("medium")])
	r.severity == "medium"
}

test_leavers_watchlist_is_leaving if {
	r := d({"watchlists": ["leavers"]}, [finding("low")])
	r.severity == "medium"
	r.risk_score == 40
}

test_last_day_is_still_leaving if {
	r := d({"employment": {"end_date": "2026-11-02"}}, [finding("low")])
	r.severity == "medium"
}

test_day_after_end_date_is_gone if {
	r := d({"employment": {"status": "notice", "end_date": "2026-11-01"}}, [finding("low")])
	r.severity == "high"
	r.risk_score == 60
	"the user has left: terminated, disabled in the directory or past their end date" in r.reasons
	not "the user is leaving (notice given, end date within 30 days or on a leavers' watchlist)" in r.reasons
}

test_terminated_is_gone if {
	r := d({"employment": {"status": "terminated"}, "manager": "mgr7"}, [finding("high")])
	r.severity == "critical"
	r.risk_score == 100
	r.actions == ["disable-account", "notify-hr", "notify-manager", "notify-security", "open-case"]
}

test_disabled_account_is_gone if {
	r := d({"active": false}, [finding("medium")])
	r.severity == "critical"
}

test_enabled_account_is_not_gone if {
	r := d({"active": true}, [finding("medium")])
	r.severity == "medium"
	r.risk_score == 45
}

test_escalation_never_exceeds_critical if {
	r := d({"employment": {"status": "terminated"}}, [finding("critical")])
	r.severity == "critical"
}

test_info_findings_are_never_raised if {
	r := d({"employment": {"status": "terminated"}}, [finding("info")])
	r.severity == "info"
	r.alert == false
	r.risk_score == 15
}

test_leaver_at_high_notifies_hr if {
	r := d({"employment": {"status": "notice"}}, [finding("medium")])
	r.actions == ["notify-hr", "notify-security"]
}

# Other people factors --------------------------------------------------------

test_contractor_by_flag_weighs_one_and_a_half if {
	r := d({"contractor": true}, [finding("medium")])
	r.severity == "medium"
	r.risk_score == 67.5
	"the user is a contractor" in r.reasons
}

test_contractor_by_employment_type if {
	r := d({"employment": {"type": "contract"}}, [finding("medium")])
	r.risk_score == 67.5
}

test_contractor_by_employment_type_contractor if {
	r := d({"employment": {"type": "contractor"}}, [finding("medium")])
	r.risk_score == 67.5
}

test_contractor_by_status if {
	r := d({"employment": {"status": "contractor"}}, [finding("medium")])
	r.risk_score == 67.5
}

test_contractor_by_group if {
	r := d({"groups": ["contractors"]}, [finding("medium")])
	r.risk_score == 67.5
}

test_privileged_by_flag if {
	r := d({"privileged": true}, [finding("medium")])
	r.risk_score == 67.5
	"the user is a privileged administrator" in r.reasons
}

test_privileged_by_group if {
	r := d({"groups": ["all-staff", "domain-admins"]}, [finding("medium")])
	r.risk_score == 67.5
}

test_on_leave_weighs_one_and_a_half if {
	r := d({"employment": {"status": "leave"}}, [finding("medium")])
	r.severity == "medium"
	r.risk_score == 67.5
	"the user is on leave of absence" in r.reasons
}

test_any_watchlist_weighs_a_quarter_more if {
	r := d({"watchlists": ["vip"]}, [finding("medium")])
	r.severity == "medium"
	r.risk_score == 56.25
	"the user is on watchlists [\"vip\"]" in r.reasons
}

test_high_risk_watchlist_escalates_and_weighs_double if {
	r := d({"watchlists": ["insider-risk"]}, [finding("medium")])
	r.severity == "high"
	r.risk_score == 90
}

test_largest_factor_wins if {
	r := d({"contractor": true, "privileged": true, "employment": {"status": "notice"}}, [finding("low")])
	r.risk_score == 40
	r.severity == "medium"
}

test_weights_come_from_data if {
	r := decide({"contractor": true}, [finding("medium")]) with data.vigil.config as shipped_config
		with data.vigil.people as object.union(shipped_people, {"weights": {"contractor": 2}})
	r.risk_score == 90
}

test_defaults_without_people_data if {
	r := decide({"contractor": true, "employment": {"status": "notice"}}, [finding("medium")]) with data.vigil.config as shipped_config
		with data.vigil.people as {}
	r.risk_score == 90
	r.severity == "high"
}

test_defaults_without_config_data if {
	r := decide({}, [finding("high")]) with data.vigil.config as {} with data.vigil.people as shipped_people
	r.alert
	r.evidence == {"screenshot": true, "video": {"before": "2m", "after": "1m"}, "keystrokes": {"before": "5m"}}
}

# Evidence by severity --------------------------------------------------------

test_high_gets_everything_asked_for if {
	r := d({}, [finding("high")])
	r.evidence == {"screenshot": true, "video": {"before": "2m", "after": "1m"}, "keystrokes": {"before": "5m"}}
}

test_no_video_or_keystrokes_below_medium if {
	r := d({}, [finding("low")])
	r.evidence == {"screenshot": true}
}

test_no_keystrokes_below_high if {
	r := d({}, [finding("medium")])
	r.evidence == {"screenshot": true, "video": {"before": "2m", "after": "1m"}}
}

test_escalation_unlocks_evidence if {
	r := d({"employment": {"status": "notice"}}, [finding("medium")])
	r.evidence.keystrokes == {"before": "5m"}
}

test_nothing_captured_at_info if {
	r := d({}, [finding("info")])
	r.evidence == null
}

test_no_evidence_requested if {
	r := d({}, [bare("high")])
	r.evidence == null
}

test_each_kind_from_the_most_severe_finding_asking if {
	low := {"rule": "a", "severity": "medium", "message": "a", "evidence": {"video": {"before": "10m"}, "terminal": {"before": "3m"}}}
	high := {"rule": "b", "severity": "high", "message": "b", "evidence": {"video": {"before": "1m"}}}
	r := d({}, [low, high])
	r.evidence == {"video": {"before": "1m"}, "terminal": {"before": "3m"}}
}

test_equal_severity_takes_the_first_finding if {
	a := {"rule": "a", "severity": "high", "message": "a", "evidence": {"video": {"before": "4m"}}}
	b := {"rule": "b", "severity": "high", "message": "b", "evidence": {"video": {"before": "9m"}}}
	r := d({}, [a, b])
	r.evidence == {"video": {"before": "4m"}}
}

# Privacy -----------------------------------------------------------------------

test_contractor_gets_no_keystrokes if {
	r := d({"contractor": true}, [finding("high")])
	r.evidence == {"screenshot": true, "video": {"before": "2m", "after": "1m"}}
	"keystrokes capture withheld: no keystroke capture for contractors" in r.reasons
}

test_contractor_keystrokes_when_allowed if {
	r := decide({"contractor": true}, [finding("high")])
		with data.vigil.config as object.union(shipped_config, {"privacy": object.union(shipped_config.privacy, {"no_keystrokes_for_contractors": false})})
		with data.vigil.people as shipped_people
	r.evidence.keystrokes == {"before": "5m"}
}

test_employee_gets_keystrokes_at_high if {
	r := d({}, [finding("high")])
	r.evidence.keystrokes.before == "5m"
}

test_no_keystrokes_group if {
	r := d({"groups": ["legal-privilege"]}, [finding("high")])
	r.evidence == {"screenshot": true, "video": {"before": "2m", "after": "1m"}}
	"keystrokes capture withheld: no keystroke capture for this group" in r.reasons
}

test_content_protected_group_gets_no_content_evidence if {
	r := d({"groups": ["works-council"], "manager": "mgr7"}, [finding("high")])
	r.alert
	r.evidence == null
	"keystrokes capture withheld: content-protected user" in r.reasons
	"screenshot capture withheld: content-protected user" in r.reasons
	"video capture withheld: content-protected user" in r.reasons
	r.actions == ["notify-security", "second-reviewer"]
}

test_content_protected_user_by_name if {
	r := d({"name": "hweber"}, [finding("medium")])
	r.evidence == null
	"second-reviewer" in r.actions
}

test_content_protection_keeps_kinds_not_listed if {
	r := decide({"name": "hweber", "contractor": true}, [finding("high")])
		with data.vigil.config as object.union(shipped_config, {"privacy": object.union(shipped_config.privacy, {"content_evidence": ["video"]})})
		with data.vigil.people as shipped_people
	r.evidence == {"screenshot": true}
	"keystrokes capture withheld: no keystroke capture for contractors" in r.reasons
	"video capture withheld: content-protected user" in r.reasons
}

test_below_minimum_severity_is_not_a_privacy_reason if {
	r := d({}, [finding("low")])
	r.reasons == ["low finding"]
}

test_screenshot_withheld_at_info_even_if_requested if {
	r := decide({}, [finding("low")])
		with data.vigil.config as object.union(shipped_config, {"evidence_min_severity": object.union(shipped_config.evidence_min_severity, {"screenshot": "medium"})})
		with data.vigil.people as shipped_people
	r.evidence == null
}
