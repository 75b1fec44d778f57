// Package event owns Vigil's common event schema: the Go types every sensor
// fills in, the action vocabulary, JSON encoding and decoding, validation, the
// JSON Schema document and the mapping of every action to its OCSF class.
//
// Field names follow the Elastic Common Schema (ECS) where ECS has a name for
// the thing, so that detection rules read naturally. The package must not
// import any other Vigil package: every stage of the flow imports it.
package event

import "time"

// Event is one thing that happened on an endpoint, normalised by a sensor.
//
// Every field set other than Event is optional and is present only when the
// sensor knows it. The JSON form uses ECS dotted names ("@timestamp",
// "event.action", "file.path", ...).
type Event struct {
	// Timestamp is when the activity happened on the endpoint (event time).
	Timestamp time.Time `json:"@timestamp"`
	// Message is an optional human-readable summary.
	Message string `json:"message,omitempty"`
	// Tags are free-form labels added by sensors or enrichment.
	Tags []string `json:"tags,omitempty"`
	// Labels are free-form key/value pairs for site-specific data.
	Labels map[string]string `json:"labels,omitempty"`

	Event       Meta         `json:"event"`
	Host        *Host        `json:"host,omitempty"`
	User        *User        `json:"user,omitempty"`
	Process     *Process     `json:"process,omitempty"`
	File        *File        `json:"file,omitempty"`
	Volume      *Volume      `json:"volume,omitempty"`
	Device      *Device      `json:"device,omitempty"`
	URL         *URL         `json:"url,omitempty"`
	Source      *Endpoint    `json:"source,omitempty"`
	Destination *Destination `json:"destination,omitempty"`
	Network     *Network     `json:"network,omitempty"`
	Email       *Email       `json:"email,omitempty"`
	Print       *Print       `json:"print,omitempty"`
	Clipboard   *Clipboard   `json:"clipboard,omitempty"`
	Keys        *Keys        `json:"keys,omitempty"`
	Window      *Window      `json:"window,omitempty"`
	Session     *Session     `json:"session,omitempty"`
	Command     *Command     `json:"command,omitempty"`
	Agent       *Agent       `json:"agent,omitempty"`
}

// Meta is the ECS "event" field set: what kind of event this is.
type Meta struct {
	// ID uniquely identifies the event (a ULID or UUID); ingest is idempotent by it.
	ID string `json:"id"`
	// Kind is "event" for sensor observations, "alert" for alerts, "metric", "state".
	Kind string `json:"kind,omitempty"`
	// Category is the ECS category list, such as ["file"].
	Category []string `json:"category,omitempty"`
	// Type is the ECS type list, such as ["creation"].
	Type []string `json:"type,omitempty"`
	// Action is one value of the action vocabulary (see Actions).
	Action string `json:"action"`
	// Module names the sensor that produced the event, such as "removable".
	Module string `json:"module,omitempty"`
	// Outcome is "success", "failure" or "unknown".
	Outcome string `json:"outcome,omitempty"`
	// Sequence is the per-agent sequence number, used to make ingest idempotent.
	Sequence int64 `json:"sequence,omitempty"`
	// Ingested is when the server received the event.
	Ingested *time.Time `json:"ingested,omitempty"`
	// OCSF holds the OCSF class and activity the event maps to.
	OCSF *OCSF `json:"ocsf,omitempty"`
}

// OCSF names an OCSF event class and activity.
type OCSF struct {
	ClassUID   int64 `json:"class_uid"`
	ActivityID int64 `json:"activity_id"`
}

// Host is the endpoint the event happened on.
type Host struct {
	ID       string   `json:"id,omitempty"`
	Name     string   `json:"name,omitempty"`
	IP       []string `json:"ip,omitempty"`
	OS       *OS      `json:"os,omitempty"`
	Timezone string   `json:"timezone,omitempty"`
}

// OS describes the host operating system.
type OS struct {
	Family  string `json:"family,omitempty"`
	Name    string `json:"name,omitempty"`
	Version string `json:"version,omitempty"`
}

// User is the person behind the event. Sensors fill ID, Name and Domain;
// directory enrichment adds the rest before evaluation.
type User struct {
	ID          string      `json:"id,omitempty"`
	Name        string      `json:"name,omitempty"`
	Domain      string      `json:"domain,omitempty"`
	Email       string      `json:"email,omitempty"`
	FullName    string      `json:"full_name,omitempty"`
	Department  string      `json:"department,omitempty"`
	Title       string      `json:"title,omitempty"`
	Manager     string      `json:"manager,omitempty"`
	Groups      []string    `json:"groups,omitempty"`
	Roles       []string    `json:"roles,omitempty"`
	Watchlists  []string    `json:"watchlists,omitempty"`
	Timezone    string      `json:"timezone,omitempty"`
	Employment  *Employment `json:"employment,omitempty"`
	Privileged  bool        `json:"privileged,omitempty"`
	Contractor  bool        `json:"contractor,omitempty"`
	Active      *bool       `json:"active,omitempty"`
	RiskScore   float64     `json:"risk_score,omitempty"`
	EffectiveID string      `json:"effective_id,omitempty"`
}

// Employment is the HR context of a user. Dates are calendar dates (YYYY-MM-DD).
type Employment struct {
	// Status is "active", "notice", "leave", "terminated" or "contractor".
	Status     string `json:"status,omitempty"`
	Type       string `json:"type,omitempty"`
	StartDate  string `json:"start_date,omitempty"`
	NoticeDate string `json:"notice_date,omitempty"`
	EndDate    string `json:"end_date,omitempty"`
}

// Process is the process that performed the activity.
type Process struct {
	PID              int64          `json:"pid,omitempty"`
	Name             string         `json:"name,omitempty"`
	Executable       string         `json:"executable,omitempty"`
	CommandLine      string         `json:"command_line,omitempty"`
	Args             []string       `json:"args,omitempty"`
	WorkingDirectory string         `json:"working_directory,omitempty"`
	Hash             *Hash          `json:"hash,omitempty"`
	Parent           *ProcessParent `json:"parent,omitempty"`
	ExitCode         *int64         `json:"exit_code,omitempty"`
}

// ProcessParent is the parent of a process.
type ProcessParent struct {
	PID         int64  `json:"pid,omitempty"`
	Name        string `json:"name,omitempty"`
	Executable  string `json:"executable,omitempty"`
	CommandLine string `json:"command_line,omitempty"`
}

// Hash holds content digests, hex encoded.
type Hash struct {
	SHA256 string `json:"sha256,omitempty"`
	MD5    string `json:"md5,omitempty"`
}

// File is the file the activity touched.
type File struct {
	Path       string `json:"path,omitempty"`
	Name       string `json:"name,omitempty"`
	Extension  string `json:"extension,omitempty"`
	Directory  string `json:"directory,omitempty"`
	Size       int64  `json:"size,omitempty"`
	MimeType   string `json:"mime_type,omitempty"`
	Owner      string `json:"owner,omitempty"`
	Hash       *Hash  `json:"hash,omitempty"`
	SourcePath string `json:"source_path,omitempty"`
	TargetPath string `json:"target_path,omitempty"`
}

// Volume is a mounted filesystem, such as a USB stick.
type Volume struct {
	Removable      bool   `json:"removable,omitempty"`
	BusType        string `json:"bus_type,omitempty"`
	MountPoint     string `json:"mount_point,omitempty"`
	DeviceName     string `json:"device_name,omitempty"`
	Label          string `json:"label,omitempty"`
	VendorName     string `json:"vendor_name,omitempty"`
	ProductName    string `json:"product_name,omitempty"`
	SerialNumber   string `json:"serial_number,omitempty"`
	FileSystemType string `json:"file_system_type,omitempty"`
	Size           int64  `json:"size,omitempty"`
}

// Device is a hardware device that was connected or disconnected.
type Device struct {
	ID           string `json:"id,omitempty"`
	BusType      string `json:"bus_type,omitempty"`
	Class        string `json:"class,omitempty"`
	VendorID     string `json:"vendor_id,omitempty"`
	ProductID    string `json:"product_id,omitempty"`
	VendorName   string `json:"vendor_name,omitempty"`
	ProductName  string `json:"product_name,omitempty"`
	SerialNumber string `json:"serial_number,omitempty"`
	Removable    bool   `json:"removable,omitempty"`
	Size         int64  `json:"size,omitempty"`
}

// URL is a web address the user visited, downloaded from or uploaded to.
type URL struct {
	Original string `json:"original,omitempty"`
	Full     string `json:"full,omitempty"`
	Scheme   string `json:"scheme,omitempty"`
	Domain   string `json:"domain,omitempty"`
	Port     int64  `json:"port,omitempty"`
	Path     string `json:"path,omitempty"`
	Query    string `json:"query,omitempty"`
	Category string `json:"category,omitempty"`
}

// Endpoint is a network peer (ECS source).
type Endpoint struct {
	IP     string `json:"ip,omitempty"`
	Port   int64  `json:"port,omitempty"`
	Domain string `json:"domain,omitempty"`
	Bytes  int64  `json:"bytes,omitempty"`
}

// Destination is where data went on the network.
type Destination struct {
	IP            string `json:"ip,omitempty"`
	Port          int64  `json:"port,omitempty"`
	Domain        string `json:"domain,omitempty"`
	Bytes         int64  `json:"bytes,omitempty"`
	CloudProvider string `json:"cloud_provider,omitempty"`
	Category      string `json:"category,omitempty"`
}

// Network describes a connection.
type Network struct {
	Transport string `json:"transport,omitempty"`
	Protocol  string `json:"protocol,omitempty"`
	Direction string `json:"direction,omitempty"`
	Bytes     int64  `json:"bytes,omitempty"`
}

// Email is a message the user sent.
type Email struct {
	From               string       `json:"from,omitempty"`
	To                 []string     `json:"to,omitempty"`
	CC                 []string     `json:"cc,omitempty"`
	BCC                []string     `json:"bcc,omitempty"`
	Subject            string       `json:"subject,omitempty"`
	MessageID          string       `json:"message_id,omitempty"`
	Size               int64        `json:"size,omitempty"`
	Attachments        []Attachment `json:"attachments,omitempty"`
	ExternalRecipients int64        `json:"external_recipients,omitempty"`
	Client             string       `json:"client,omitempty"`
}

// Attachment is one file attached to an email.
type Attachment struct {
	Name     string `json:"name,omitempty"`
	Size     int64  `json:"size,omitempty"`
	SHA256   string `json:"sha256,omitempty"`
	MimeType string `json:"mime_type,omitempty"`
}

// Print is a print job.
type Print struct {
	Printer       string `json:"printer,omitempty"`
	JobID         string `json:"job_id,omitempty"`
	Pages         int64  `json:"pages,omitempty"`
	Copies        int64  `json:"copies,omitempty"`
	DocumentTitle string `json:"document_title,omitempty"`
	Size          int64  `json:"size,omitempty"`
	Color         bool   `json:"color,omitempty"`
}

// Clipboard is a clipboard operation. Content carries text only where the
// bundle's policy allows it.
type Clipboard struct {
	Operation     string   `json:"operation,omitempty"`
	Format        string   `json:"format,omitempty"`
	ContentLength int64    `json:"content_length,omitempty"`
	ContentSHA256 string   `json:"content_sha256,omitempty"`
	Content       string   `json:"content,omitempty"`
	SourceApp     string   `json:"source_app,omitempty"`
	Files         []string `json:"files,omitempty"`
}

// Keys is a key combination the user pressed, such as "ctrl+c".
type Keys struct {
	Combo string `json:"combo,omitempty"`
}

// Window is the focused application window.
type Window struct {
	App   string `json:"app,omitempty"`
	Title string `json:"title,omitempty"`
	Class string `json:"class,omitempty"`
	PID   int64  `json:"pid,omitempty"`
	URL   string `json:"url,omitempty"`
}

// Session is a user logon session.
type Session struct {
	ID            string `json:"id,omitempty"`
	Type          string `json:"type,omitempty"`
	TTY           string `json:"tty,omitempty"`
	RemoteAddress string `json:"remote_address,omitempty"`
}

// Command is a command line run in a terminal.
type Command struct {
	Line     string `json:"line,omitempty"`
	Cwd      string `json:"cwd,omitempty"`
	ExitCode *int64 `json:"exit_code,omitempty"`
	Shell    string `json:"shell,omitempty"`
}

// Agent describes the Vigil agent itself, for agent-* events.
type Agent struct {
	ID             string `json:"id,omitempty"`
	Version        string `json:"version,omitempty"`
	Health         string `json:"health,omitempty"`
	Sensor         string `json:"sensor,omitempty"`
	Error          string `json:"error,omitempty"`
	Dropped        int64  `json:"dropped,omitempty"`
	BundleName     string `json:"bundle_name,omitempty"`
	BundleRevision string `json:"bundle_revision,omitempty"`
}
