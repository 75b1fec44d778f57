package alerts

import (
	"strconv"

	"github.com/vigil-itm/vigil/event"
)

// OCSFEvent is a Vigil event in the OCSF class its action maps to (File
// System Activity, Process Activity, Peripheral Activity, Authentication,
// Network Activity, HTTP Activity, Email Activity, …), with the attributes
// Vigil knows filled in. Detection Findings carry one as the evidence of
// the event they were raised on; event exports write one per line.
type OCSFEvent struct {
	ClassUID     int64         `json:"class_uid"`
	ClassName    string        `json:"class_name"`
	CategoryUID  int64         `json:"category_uid"`
	ActivityID   int64         `json:"activity_id"`
	ActivityName string        `json:"activity_name"`
	TypeUID      int64         `json:"type_uid"`
	TypeName     string        `json:"type_name"`
	Time         int64         `json:"time"`
	SeverityID   int64         `json:"severity_id"`
	StatusID     int64         `json:"status_id,omitempty"`
	Status       string        `json:"status,omitempty"`
	Message      string        `json:"message,omitempty"`
	Metadata     ocsfEventMeta `json:"metadata"`
	Actor        *ocsfActor    `json:"actor,omitempty"`
	Device       *ocsfDevice   `json:"device,omitempty"`
	File         *ocsfFile     `json:"file,omitempty"`
	Process      *ocsfProcess  `json:"process,omitempty"`
	URL          *ocsfURL      `json:"url,omitempty"`
	DstEndpoint  *ocsfEndpoint `json:"dst_endpoint,omitempty"`
	Email        *ocsfEmail    `json:"email,omitempty"`
	Unmapped     *ocsfEventExt `json:"unmapped,omitempty"`
}

type (
	ocsfEventMeta struct {
		Version string      `json:"version"`
		UID     string      `json:"uid,omitempty"`
		Product ocsfProduct `json:"product"`
	}
	ocsfActor struct {
		User    *ocsfUser    `json:"user,omitempty"`
		Process *ocsfProcess `json:"process,omitempty"`
	}
	ocsfUser struct {
		Name   string `json:"name,omitempty"`
		UID    string `json:"uid,omitempty"`
		Domain string `json:"domain,omitempty"`
		Email  string `json:"email_addr,omitempty"`
	}
	ocsfDevice struct {
		Hostname string  `json:"hostname,omitempty"`
		UID      string  `json:"uid,omitempty"`
		IP       string  `json:"ip,omitempty"`
		TypeID   int64   `json:"type_id"`
		Type     string  `json:"type"`
		OS       *ocsfOS `json:"os,omitempty"`
	}
	ocsfOS struct {
		Name    string `json:"name"`
		TypeID  int64  `json:"type_id"`
		Type    string `json:"type,omitempty"`
		Version string `json:"version,omitempty"`
	}
	ocsfFile struct {
		Name   string       `json:"name"`
		Path   string       `json:"path,omitempty"`
		Size   int64        `json:"size,omitempty"`
		TypeID int64        `json:"type_id"`
		Hashes []ocsfHashes `json:"hashes,omitempty"`
	}
	ocsfHashes struct {
		AlgorithmID int64  `json:"algorithm_id"`
		Algorithm   string `json:"algorithm"`
		Value       string `json:"value"`
	}
	ocsfProcess struct {
		PID     int64     `json:"pid,omitempty"`
		Name    string    `json:"name,omitempty"`
		CmdLine string    `json:"cmd_line,omitempty"`
		File    *ocsfFile `json:"file,omitempty"`
	}
	ocsfURL struct {
		URLString string `json:"url_string,omitempty"`
		Hostname  string `json:"hostname,omitempty"`
		Path      string `json:"path,omitempty"`
		Scheme    string `json:"scheme,omitempty"`
		Port      int64  `json:"port,omitempty"`
		Category  string `json:"category,omitempty"`
	}
	ocsfEndpoint struct {
		Hostname string `json:"hostname,omitempty"`
		IP       string `json:"ip,omitempty"`
		Port     int64  `json:"port,omitempty"`
	}
	ocsfEmail struct {
		From    string   `json:"from,omitempty"`
		To      []string `json:"to,omitempty"`
		CC      []string `json:"cc,omitempty"`
		Subject string   `json:"subject,omitempty"`
		UID     string   `json:"uid,omitempty"`
		Size    int64    `json:"size,omitempty"`
	}
	ocsfEventExt struct {
		Vigil ocsfEventVigil `json:"vigil"`
	}
	ocsfEventVigil struct {
		Action string           `json:"action"`
		Module string           `json:"module,omitempty"`
		Volume *event.Volume    `json:"volume,omitempty"`
		Device *event.Device    `json:"device,omitempty"`
		Print  *event.Print     `json:"print,omitempty"`
		Clip   *event.Clipboard `json:"clipboard,omitempty"`
		Window *event.Window    `json:"window,omitempty"`
		Cmd    *event.Command   `json:"command,omitempty"`
	}
)

// NewOCSFEvent maps e to its OCSF class. The class and activity come from
// the event's own OCSF field, or from the action vocabulary when the event
// does not carry them. version is the product version for metadata.
func NewOCSFEvent(e *event.Event, version string) *OCSFEvent {
	cls := event.OCSF{}
	if e.Event.OCSF != nil {
		cls = *e.Event.OCSF
	} else if info, ok := event.LookupAction(e.Event.Action); ok {
		cls = info.OCSF
	}
	o := &OCSFEvent{
		ClassUID: cls.ClassUID, ClassName: cls.ClassName(), CategoryUID: cls.CategoryUID(),
		ActivityID: cls.ActivityID, ActivityName: cls.ActivityName(),
		TypeUID: cls.TypeUID(), TypeName: cls.ClassName() + ": " + cls.ActivityName(),
		Time: e.Timestamp.UnixMilli(), SeverityID: 1, Message: e.Message,
		Metadata: ocsfEventMeta{Version: event.OCSFVersion, UID: e.Event.ID, Product: ocsfProduct{Name: productName, VendorName: vendorName, Version: version}},
		Unmapped: &ocsfEventExt{Vigil: ocsfEventVigil{
			Action: e.Event.Action, Module: e.Event.Module, Volume: e.Volume, Device: e.Device,
			Print: e.Print, Clip: e.Clipboard, Window: e.Window, Cmd: e.Command,
		}},
	}
	switch e.Event.Outcome {
	case "success":
		o.StatusID, o.Status = 1, "Success"
	case "failure":
		o.StatusID, o.Status = 2, "Failure"
	}
	if u := e.User; u != nil && (u.Name != "" || u.ID != "") {
		o.Actor = &ocsfActor{User: &ocsfUser{Name: u.Name, UID: u.ID, Domain: u.Domain, Email: u.Email}}
	}
	if p := ocsfProcessOf(e.Process); p != nil {
		if o.Actor == nil {
			o.Actor = &ocsfActor{}
		}
		o.Actor.Process = p
	}
	if h := e.Host; h != nil {
		d := &ocsfDevice{Hostname: h.Name, UID: h.ID, TypeID: 0, Type: "Unknown"}
		if len(h.IP) > 0 {
			d.IP = h.IP[0]
		}
		if h.OS != nil {
			d.OS = ocsfOSOf(h.OS)
		}
		o.Device = d
	}
	if f := e.File; f != nil {
		o.File = ocsfFileOf(f)
	}
	if u := e.URL; u != nil {
		s := u.Full
		if s == "" {
			s = u.Original
		}
		o.URL = &ocsfURL{URLString: s, Hostname: u.Domain, Path: u.Path, Scheme: u.Scheme, Port: u.Port, Category: u.Category}
	}
	if d := e.Destination; d != nil {
		o.DstEndpoint = &ocsfEndpoint{Hostname: d.Domain, IP: d.IP, Port: d.Port}
	}
	if m := e.Email; m != nil {
		o.Email = &ocsfEmail{From: m.From, To: m.To, CC: m.CC, Subject: m.Subject, UID: m.MessageID, Size: m.Size}
	}
	return o
}

func ocsfProcessOf(p *event.Process) *ocsfProcess {
	if p == nil {
		return nil
	}
	out := &ocsfProcess{PID: p.PID, Name: p.Name, CmdLine: p.CommandLine}
	if p.Executable != "" {
		out.File = &ocsfFile{Name: baseName(p.Executable), Path: p.Executable, TypeID: 1}
	}
	return out
}

func ocsfFileOf(f *event.File) *ocsfFile {
	name := f.Name
	if name == "" {
		name = baseName(f.Path)
	}
	out := &ocsfFile{Name: name, Path: f.Path, Size: f.Size, TypeID: 1}
	if f.Hash != nil {
		if f.Hash.MD5 != "" {
			out.Hashes = append(out.Hashes, ocsfHashes{AlgorithmID: 1, Algorithm: "MD5", Value: f.Hash.MD5})
		}
		if f.Hash.SHA256 != "" {
			out.Hashes = append(out.Hashes, ocsfHashes{AlgorithmID: 3, Algorithm: "SHA-256", Value: f.Hash.SHA256})
		}
	}
	return out
}

func ocsfOSOf(os *event.OS) *ocsfOS {
	out := &ocsfOS{Name: os.Name, Version: os.Version}
	if out.Name == "" {
		out.Name = os.Family
	}
	switch os.Family {
	case "windows":
		out.TypeID, out.Type = 100, "Windows"
	case "linux":
		out.TypeID, out.Type = 200, "Linux"
	case "macos", "darwin":
		out.TypeID, out.Type = 300, "macOS"
	default:
		out.TypeID, out.Type = 0, "Unknown"
	}
	return out
}

// baseName is the last element of a slash or backslash separated path.
func baseName(p string) string {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '/' || p[i] == '\\' {
			return p[i+1:]
		}
	}
	return p
}

func itoa(n int) string { return strconv.Itoa(n) }
