package vigil.decision_test

import data.vigil.decision

finding(sev) := {
	"rule": "r", "severity": sev, "message": "m",
	"evidence": {"screenshot": true, "keystrokes": {"before": "5m"}},
}

test_no_findings_no_alert if {
	d := decision.decision with input as {"event": {"@timestamp": "2026-11-02T10:00:00Z"}, "user": {}, "findings": []}
	d.alert == false
}

test_high_finding_alerts if {
	d := decision.decision with input as {"event": {"@timestamp": "2026-11-02T10:00:00Z"}, "user": {}, "findings": [finding("high")]}
	d.alert
	d.severity == "high"
	d.risk_score == 70
	"notify-security" in d.actions
}

test_leaving_user_weighs_double_and_escalates if {
	u := {"employment": {"end_date": "2026-11-20"}}
	d := decision.decision with input as {"event": {"@timestamp": "2026-11-02T10:00:00Z"}, "user": u, "findings": [finding("medium")]}
	d.severity == "high"
	d.risk_score == 90
}

test_end_date_far_away_is_not_leaving if {
	u := {"employment": {"end_date": "2027-06-01"}}
	d := decision.decision with input as {"event": {"@timestamp": "2026-11-02T10:00:00Z"}, "user": u, "findings": [finding("medium")]}
	d.severity == "medium"
	d.risk_score == 45
}

test_contractor_gets_no_keystrokes if {
	d := decision.decision with input as {"event": {"@timestamp": "2026-11-02T10:00:00Z"}, "user": {"contractor": true}, "findings": [finding("low")]}
		with data.vigil.config.privacy.no_keystrokes_for_contractors as true
	d.evidence.screenshot
	not d.evidence.keystrokes
}

test_employee_gets_keystrokes if {
	d := decision.decision with input as {"event": {"@timestamp": "2026-11-02T10:00:00Z"}, "user": {}, "findings": [finding("low")]}
	d.evidence.keystrokes.before == "5m"
}
