package event

import "strconv"

// OCSFVersion is the OCSF schema version the action mapping targets. Peripheral
// Activity (class 1010) first appeared in OCSF 1.7.0.
const OCSFVersion = "1.7.0"

// ocsfClass names one OCSF event class and the activities Vigil uses.
type ocsfClass struct {
	name       string
	activities map[int64]string
}

// ocsfClasses holds the OCSF classes the action table refers to, with the
// activity names of the schema. Activity 0 (Unknown) and 99 (Other) exist in
// every class.
var ocsfClasses = map[int64]ocsfClass{
	ocsfBaseEvent:               {name: "Base Event"},
	ocsfFileSystemActivity:      {name: "File System Activity", activities: map[int64]string{1: "Create", 2: "Read", 3: "Update", 4: "Delete", 5: "Rename", 6: "Set Attributes", 7: "Set Security", 8: "Get Attributes", 9: "Get Security", 10: "Encrypt", 11: "Decrypt", 12: "Mount", 13: "Unmount", 14: "Open"}},
	ocsfProcessActivity:         {name: "Process Activity", activities: map[int64]string{1: "Launch", 2: "Terminate", 3: "Open", 4: "Inject", 5: "Set User ID"}},
	ocsfEventLogActivity:        {name: "Event Log Activity", activities: map[int64]string{1: "Clear", 2: "Delete", 3: "Export", 4: "Archive", 5: "Rotate", 6: "Start", 7: "Stop"}},
	ocsfPeripheralActivity:      {name: "Peripheral Activity", activities: map[int64]string{1: "Connect", 2: "Disconnect", 3: "Enable", 4: "Disable", 5: "Eject"}},
	ocsfAuthentication:          {name: "Authentication", activities: map[int64]string{1: "Logon", 2: "Logoff", 3: "Authentication Ticket", 4: "Service Ticket Request", 5: "Service Ticket Renew", 6: "Preauth", 7: "Account Switch"}},
	ocsfNetworkActivity:         {name: "Network Activity", activities: map[int64]string{1: "Open", 2: "Close", 3: "Reset", 4: "Fail", 5: "Refuse", 6: "Traffic", 7: "Listen"}},
	ocsfHTTPActivity:            {name: "HTTP Activity", activities: map[int64]string{1: "Connect", 2: "Delete", 3: "Get", 4: "Head", 5: "Options", 6: "Post", 7: "Put", 8: "Trace", 9: "Patch"}},
	ocsfEmailActivity:           {name: "Email Activity", activities: map[int64]string{1: "Send", 2: "Receive", 3: "Scan", 4: "Trace", 5: "MTA Relay"}},
	ocsfDeviceConfigStateChange: {name: "Device Config State Change", activities: map[int64]string{1: "Log", 2: "Collect"}},
	ocsfApplicationLifecycle:    {name: "Application Lifecycle", activities: map[int64]string{1: "Install", 2: "Remove", 3: "Start", 4: "Stop", 5: "Restart", 6: "Enable", 7: "Disable", 8: "Update"}},
}

// CategoryUID returns the OCSF category of the class: 1 System Activity,
// 3 Identity & Access Management, 4 Network Activity, 5 Discovery,
// 6 Application Activity, 0 for the Base Event.
func (o OCSF) CategoryUID() int64 { return o.ClassUID / 1000 }

// TypeUID returns the OCSF type_uid, class_uid * 100 + activity_id.
func (o OCSF) TypeUID() int64 { return o.ClassUID*100 + o.ActivityID }

// ClassName returns the OCSF class caption, such as "File System Activity",
// or "class <uid>" for a class outside the vocabulary's mapping.
func (o OCSF) ClassName() string {
	if c, ok := ocsfClasses[o.ClassUID]; ok {
		return c.name
	}
	return "class " + strconv.FormatInt(o.ClassUID, 10)
}

// ActivityName returns the OCSF activity caption, such as "Create". Activity
// 0 is "Unknown" and 99 "Other" in every class.
func (o OCSF) ActivityName() string {
	switch o.ActivityID {
	case 0:
		return "Unknown"
	case ocsfActivityOther:
		return "Other"
	}
	if name, ok := ocsfClasses[o.ClassUID].activities[o.ActivityID]; ok {
		return name
	}
	return "activity " + strconv.FormatInt(o.ActivityID, 10)
}
