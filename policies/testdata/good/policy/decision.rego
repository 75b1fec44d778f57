package vigil.decision

import data.vigil.settings

default decision := {"alert": false}

decision := {
	"alert": true,
	"severity": max_severity,
	"risk_score": risk,
	"reasons": [f.rule | some f in input.findings],
} if {
	count(input.findings) > 0
}

ranks := {"info": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}

max_severity := s if {
	top := max({ranks[f.severity] | some f in input.findings})
	some s, r in ranks
	r == top
}

points := [p |
	some f in input.findings
	p := ranks[f.severity] * 20
]

risk := min([100, sum(points) * factor])

factor := settings.leaver_factor if {
	input.user.employment.status == "notice"
} else := 1
