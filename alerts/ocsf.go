package alerts

import (
	"strings"

	"github.com/vigil-itm/vigil/event"
)

// OCSF Detection Finding constants (class 2004 of the Findings category).
const (
	ocsfDetectionFinding = 2004
	ocsfFindings         = 2
	ocsfActivityCreate   = 1
)

// ocsfRenderer renders an alert as an OCSF Detection Finding.
type ocsfRenderer struct{ opts RenderOptions }

func (ocsfRenderer) Format() Format { return FormatOCSF }

func (r ocsfRenderer) Append(dst []byte, a *Alert) ([]byte, error) {
	return appendJSON(dst, r.finding(a))
}

// The OCSF objects below carry the attributes Vigil fills, in schema
// order; empty attributes are left out.
type (
	ocsfFinding struct {
		ClassUID     int64            `json:"class_uid"`
		ClassName    string           `json:"class_name"`
		CategoryUID  int64            `json:"category_uid"`
		CategoryName string           `json:"category_name"`
		ActivityID   int64            `json:"activity_id"`
		ActivityName string           `json:"activity_name"`
		TypeUID      int64            `json:"type_uid"`
		TypeName     string           `json:"type_name"`
		Time         int64            `json:"time"`
		SeverityID   int64            `json:"severity_id"`
		Severity     string           `json:"severity"`
		StatusID     int64            `json:"status_id"`
		Status       string           `json:"status"`
		IsAlert      bool             `json:"is_alert"`
		RiskScore    int64            `json:"risk_score"`
		Message      string           `json:"message,omitempty"`
		Metadata     ocsfMetadata     `json:"metadata"`
		FindingInfo  ocsfFindingInfo  `json:"finding_info"`
		Actor        *ocsfActor       `json:"actor,omitempty"`
		Device       *ocsfDevice      `json:"device,omitempty"`
		Evidences    []ocsfEvidence   `json:"evidences,omitempty"`
		Unmapped     *ocsfVigilFields `json:"unmapped,omitempty"`
	}
	ocsfMetadata struct {
		Version        string      `json:"version"`
		UID            string      `json:"uid,omitempty"`
		CorrelationUID string      `json:"correlation_uid,omitempty"`
		Product        ocsfProduct `json:"product"`
		Labels         []string    `json:"labels,omitempty"`
		LoggedTime     int64       `json:"logged_time,omitempty"`
	}
	ocsfProduct struct {
		Name       string `json:"name"`
		VendorName string `json:"vendor_name"`
		Version    string `json:"version,omitempty"`
	}
	ocsfFindingInfo struct {
		UID              string             `json:"uid"`
		Title            string             `json:"title,omitempty"`
		Desc             string             `json:"desc,omitempty"`
		Types            []string           `json:"types,omitempty"`
		CreatedTime      int64              `json:"created_time,omitempty"`
		Analytic         *ocsfAnalytic      `json:"analytic,omitempty"`
		RelatedAnalytics []ocsfAnalytic     `json:"related_analytics,omitempty"`
		RelatedEvents    []ocsfRelatedEvent `json:"related_events,omitempty"`
	}
	ocsfAnalytic struct {
		UID     string `json:"uid"`
		Name    string `json:"name,omitempty"`
		Type    string `json:"type"`
		TypeID  int64  `json:"type_id"`
		Version string `json:"version,omitempty"`
	}
	ocsfRelatedEvent struct {
		UID      string `json:"uid"`
		TypeUID  int64  `json:"type_uid,omitempty"`
		TypeName string `json:"type_name,omitempty"`
	}
	ocsfEvidence struct {
		Actor       *ocsfActor    `json:"actor,omitempty"`
		Device      *ocsfDevice   `json:"device,omitempty"`
		File        *ocsfFile     `json:"file,omitempty"`
		Process     *ocsfProcess  `json:"process,omitempty"`
		URL         *ocsfURL      `json:"url,omitempty"`
		DstEndpoint *ocsfEndpoint `json:"dst_endpoint,omitempty"`
		Email       *ocsfEmail    `json:"email,omitempty"`
		// Data is the original event in its own OCSF class.
		Data *OCSFEvent `json:"data,omitempty"`
	}
	ocsfVigilFields struct {
		Vigil ocsfVigil `json:"vigil"`
	}
	ocsfVigil struct {
		AlertStatus    string   `json:"alert_status,omitempty"`
		Severity       string   `json:"severity,omitempty"`
		RiskScore      float64  `json:"risk_score"`
		RuleIDs        []string `json:"rule_ids,omitempty"`
		BundleName     string   `json:"bundle_name,omitempty"`
		BundleRevision string   `json:"bundle_revision,omitempty"`
		Reasons        []string `json:"reasons,omitempty"`
		Action         string   `json:"action,omitempty"`
	}
)

// ocsfSeverity maps a Vigil severity to OCSF severity_id and caption.
func ocsfSeverity(s string) (int64, string) {
	switch severityRank(s) {
	case 0:
		return 1, "Informational"
	case 1:
		return 2, "Low"
	case 2:
		return 3, "Medium"
	case 3:
		return 4, "High"
	case 4:
		return 5, "Critical"
	}
	return 0, "Unknown"
}

// ocsfStatus maps the alert triage status to the finding status.
func ocsfStatus(s string) (int64, string) {
	switch s {
	case "open", "":
		return 1, "New"
	case "acknowledged":
		return 2, "In Progress"
	case "resolved":
		return 4, "Resolved"
	case "false-positive":
		return 3, "Suppressed"
	}
	return 99, s
}

func (r ocsfRenderer) finding(a *Alert) *ocsfFinding {
	sevID, sev := ocsfSeverity(a.Severity)
	stID, st := ocsfStatus(a.Status)
	f := &ocsfFinding{
		ClassUID: ocsfDetectionFinding, ClassName: "Detection Finding",
		CategoryUID: ocsfFindings, CategoryName: "Findings",
		ActivityID: ocsfActivityCreate, ActivityName: "Create",
		TypeUID: ocsfDetectionFinding*100 + ocsfActivityCreate, TypeName: "Detection Finding: Create",
		Time:       a.Time.UnixMilli(),
		SeverityID: sevID, Severity: sev, StatusID: stID, Status: st,
		IsAlert:   true,
		RiskScore: int64(a.RiskScore + 0.5),
		Message:   a.Title,
		Metadata: ocsfMetadata{
			Version: event.OCSFVersion, UID: a.ID, CorrelationUID: a.DecisionID,
			Product: ocsfProduct{Name: productName, VendorName: vendorName, Version: r.opts.Version},
			Labels:  a.Tags,
		},
		FindingInfo: ocsfFindingInfo{
			UID: a.ID, Title: a.Title, Desc: strings.Join(a.Reasons, "; "), Types: a.Tags,
		},
		Unmapped: &ocsfVigilFields{Vigil: ocsfVigil{
			AlertStatus: a.Status, Severity: a.Severity, RiskScore: a.RiskScore, RuleIDs: a.RuleIDs,
			BundleName: a.BundleName, BundleRevision: a.BundleRevision, Reasons: a.Reasons, Action: a.Action,
		}},
	}
	if !a.Created.IsZero() {
		f.Metadata.LoggedTime = a.Created.UnixMilli()
		f.FindingInfo.CreatedTime = a.Created.UnixMilli()
	}
	for i, id := range a.RuleIDs {
		an := ocsfAnalytic{UID: id, Type: "Rule", TypeID: 1}
		for _, fd := range a.Findings {
			if fd.Rule == id {
				an.Name = fd.Title
				if fd.RuleVersion > 0 {
					an.Version = itoa(fd.RuleVersion)
				}
				break
			}
		}
		if i == 0 {
			f.FindingInfo.Analytic = &an
		} else {
			f.FindingInfo.RelatedAnalytics = append(f.FindingInfo.RelatedAnalytics, an)
		}
	}
	if a.User != "" {
		f.Actor = &ocsfActor{User: &ocsfUser{Name: a.User}}
	}
	if a.Host != "" {
		f.Device = &ocsfDevice{Hostname: a.Host, TypeID: 0, Type: "Unknown"}
	}
	if a.Event != nil {
		oe := NewOCSFEvent(a.Event, r.opts.Version)
		if a.EventID != "" || a.Event.Event.ID != "" {
			uid := a.EventID
			if uid == "" {
				uid = a.Event.Event.ID
			}
			f.FindingInfo.RelatedEvents = []ocsfRelatedEvent{{UID: uid, TypeUID: oe.TypeUID, TypeName: oe.TypeName}}
		}
		f.Evidences = []ocsfEvidence{{
			Actor: oe.Actor, Device: oe.Device, File: oe.File, Process: oe.Process,
			URL: oe.URL, DstEndpoint: oe.DstEndpoint, Email: oe.Email, Data: oe,
		}}
		if oe.Actor != nil {
			f.Actor = oe.Actor
		}
		if oe.Device != nil {
			f.Device = oe.Device
		}
	}
	return f
}
