package vigil.decision_test

import data.vigil.decision

test_no_findings if {
	decision.decision == {"alert": false} with input as {"findings": [], "user": {}}
}

test_leaver_weighs_double if {
	d := decision.decision with input as {"findings": [{"rule": "x", "severity": "low"}], "user": {"employment": {"status": "notice"}}}
	d.risk_score == 40
}
