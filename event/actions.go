package event

// Actions of the vocabulary. Every sensor must set Meta.Action to one of these.
const (
	ActionLogon        = "logon"
	ActionLogoff       = "logoff"
	ActionScreenLock   = "screen-lock"
	ActionScreenUnlock = "screen-unlock"

	ActionDeviceConnected    = "device-connected"
	ActionDeviceDisconnected = "device-disconnected"
	ActionVolumeMounted      = "volume-mounted"
	ActionVolumeUnmounted    = "volume-unmounted"

	ActionFileCreated           = "file-created"
	ActionFileModified          = "file-modified"
	ActionFileDeleted           = "file-deleted"
	ActionFileRenamed           = "file-renamed"
	ActionFileCopiedToRemovable = "file-copied-to-removable"
	ActionFileCopiedToCloudSync = "file-copied-to-cloud-sync"

	ActionConnectionOpened = "connection-opened"
	ActionWebVisit         = "web-visit"
	ActionWebDownload      = "web-download"
	ActionWebUpload        = "web-upload"

	ActionEmailSent = "email-sent"

	ActionPrintJob = "print-job"

	ActionClipboardCopy  = "clipboard-copy"
	ActionClipboardCut   = "clipboard-cut"
	ActionClipboardPaste = "clipboard-paste"

	ActionProcessStarted  = "process-started"
	ActionProcessEnded    = "process-ended"
	ActionWindowFocused   = "window-focused"
	ActionCommandExecuted = "command-executed"

	ActionAgentStarted    = "agent-started"
	ActionAgentStopped    = "agent-stopped"
	ActionSensorFailed    = "sensor-failed"
	ActionEventsDropped   = "events-dropped"
	ActionPolicyActivated = "policy-activated"
)

// ActionInfo describes one action of the vocabulary: where it belongs, the
// ECS categorisation Normalize fills in and the OCSF class it exports as.
type ActionInfo struct {
	// Name is the event.action value, such as "file-created".
	Name string
	// Area groups related actions: session, device, file, network, web,
	// email, print, clipboard, app or agent.
	Area string
	// Category is the ECS event.category list for the action.
	Category []string
	// Type is the ECS event.type list for the action.
	Type []string
	// OCSF is the OCSF class and activity the action maps to.
	OCSF OCSF
	// Description says what happened, in one sentence.
	Description string
}

// The OCSF classes the vocabulary maps to. A class_uid is its category_uid
// times 1000 plus the class's number within the category.
const (
	ocsfBaseEvent               = 0
	ocsfFileSystemActivity      = 1001
	ocsfProcessActivity         = 1007
	ocsfEventLogActivity        = 1008
	ocsfPeripheralActivity      = 1010
	ocsfAuthentication          = 3002
	ocsfNetworkActivity         = 4001
	ocsfHTTPActivity            = 4002
	ocsfEmailActivity           = 4009
	ocsfDeviceConfigStateChange = 5019
	ocsfApplicationLifecycle    = 6002
	ocsfActivityOther           = 99
	ocsfAuthenticationLogon     = 1
	ocsfAuthenticationLogoff    = 2
	ocsfPeripheralConnect       = 1
	ocsfPeripheralDisconnect    = 2
	ocsfFileCreate              = 1
	ocsfFileUpdate              = 3
	ocsfFileDelete              = 4
	ocsfFileRename              = 5
	ocsfFileMount               = 12
	ocsfFileUnmount             = 13
	ocsfNetworkOpen             = 1
	ocsfHTTPGet                 = 3
	ocsfHTTPPost                = 6
	ocsfEmailSend               = 1
	ocsfProcessLaunch           = 1
	ocsfProcessTerminate        = 2
	ocsfApplicationStart        = 3
	ocsfApplicationStop         = 4
	ocsfDeviceConfigStateLog    = 1
)

// actionTable is the vocabulary in documentation order. The OCSF choices and
// the reasons for them are listed in docs/event-schema.md.
var actionTable = []ActionInfo{
	{
		Name: ActionLogon, Area: "session",
		Category: []string{"authentication", "session"}, Type: []string{"start"},
		OCSF:        OCSF{ClassUID: ocsfAuthentication, ActivityID: ocsfAuthenticationLogon},
		Description: "A user logged on to the endpoint, locally or remotely.",
	},
	{
		Name: ActionLogoff, Area: "session",
		Category: []string{"authentication", "session"}, Type: []string{"end"},
		OCSF:        OCSF{ClassUID: ocsfAuthentication, ActivityID: ocsfAuthenticationLogoff},
		Description: "A user's logon session ended.",
	},
	{
		Name: ActionScreenLock, Area: "session",
		Category: []string{"session"}, Type: []string{"change"},
		OCSF:        OCSF{ClassUID: ocsfBaseEvent, ActivityID: ocsfActivityOther},
		Description: "The user's session was locked, by the user or by an idle timeout.",
	},
	{
		Name: ActionScreenUnlock, Area: "session",
		Category: []string{"authentication", "session"}, Type: []string{"start"},
		OCSF:        OCSF{ClassUID: ocsfAuthentication, ActivityID: ocsfAuthenticationLogon},
		Description: "The user authenticated to unlock a locked session.",
	},
	{
		Name: ActionDeviceConnected, Area: "device",
		Category: []string{"host"}, Type: []string{"change"},
		OCSF:        OCSF{ClassUID: ocsfPeripheralActivity, ActivityID: ocsfPeripheralConnect},
		Description: "A hardware device (USB storage, phone, printer, ...) was connected.",
	},
	{
		Name: ActionDeviceDisconnected, Area: "device",
		Category: []string{"host"}, Type: []string{"change"},
		OCSF:        OCSF{ClassUID: ocsfPeripheralActivity, ActivityID: ocsfPeripheralDisconnect},
		Description: "A hardware device was disconnected.",
	},
	{
		Name: ActionVolumeMounted, Area: "device",
		Category: []string{"file", "host"}, Type: []string{"change"},
		OCSF:        OCSF{ClassUID: ocsfFileSystemActivity, ActivityID: ocsfFileMount},
		Description: "A filesystem was mounted, such as a USB stick or a network share.",
	},
	{
		Name: ActionVolumeUnmounted, Area: "device",
		Category: []string{"file", "host"}, Type: []string{"change"},
		OCSF:        OCSF{ClassUID: ocsfFileSystemActivity, ActivityID: ocsfFileUnmount},
		Description: "A filesystem was unmounted.",
	},
	{
		Name: ActionFileCreated, Area: "file",
		Category: []string{"file"}, Type: []string{"creation"},
		OCSF:        OCSF{ClassUID: ocsfFileSystemActivity, ActivityID: ocsfFileCreate},
		Description: "A file was created.",
	},
	{
		Name: ActionFileModified, Area: "file",
		Category: []string{"file"}, Type: []string{"change"},
		OCSF:        OCSF{ClassUID: ocsfFileSystemActivity, ActivityID: ocsfFileUpdate},
		Description: "A file's content was written.",
	},
	{
		Name: ActionFileDeleted, Area: "file",
		Category: []string{"file"}, Type: []string{"deletion"},
		OCSF:        OCSF{ClassUID: ocsfFileSystemActivity, ActivityID: ocsfFileDelete},
		Description: "A file was deleted.",
	},
	{
		Name: ActionFileRenamed, Area: "file",
		Category: []string{"file"}, Type: []string{"change"},
		OCSF:        OCSF{ClassUID: ocsfFileSystemActivity, ActivityID: ocsfFileRename},
		Description: "A file was renamed or moved; file.source_path holds the old path.",
	},
	{
		Name: ActionFileCopiedToRemovable, Area: "file",
		Category: []string{"file"}, Type: []string{"creation"},
		OCSF:        OCSF{ClassUID: ocsfFileSystemActivity, ActivityID: ocsfFileCreate},
		Description: "A file was written to removable media; volume describes the medium.",
	},
	{
		Name: ActionFileCopiedToCloudSync, Area: "file",
		Category: []string{"file"}, Type: []string{"creation"},
		OCSF:        OCSF{ClassUID: ocsfFileSystemActivity, ActivityID: ocsfFileCreate},
		Description: "A file was written into a folder that a cloud storage client synchronises.",
	},
	{
		Name: ActionConnectionOpened, Area: "network",
		Category: []string{"network"}, Type: []string{"connection", "start"},
		OCSF:        OCSF{ClassUID: ocsfNetworkActivity, ActivityID: ocsfNetworkOpen},
		Description: "A process opened an outbound network connection.",
	},
	{
		Name: ActionWebVisit, Area: "web",
		Category: []string{"network", "web"}, Type: []string{"access"},
		OCSF:        OCSF{ClassUID: ocsfHTTPActivity, ActivityID: ocsfHTTPGet},
		Description: "The user visited a web page.",
	},
	{
		Name: ActionWebDownload, Area: "web",
		Category: []string{"network", "web"}, Type: []string{"access"},
		OCSF:        OCSF{ClassUID: ocsfHTTPActivity, ActivityID: ocsfHTTPGet},
		Description: "The user downloaded a file from the web.",
	},
	{
		Name: ActionWebUpload, Area: "web",
		Category: []string{"network", "web"}, Type: []string{"access"},
		OCSF:        OCSF{ClassUID: ocsfHTTPActivity, ActivityID: ocsfHTTPPost},
		Description: "The user uploaded a file to a web site or cloud service.",
	},
	{
		Name: ActionEmailSent, Area: "email",
		Category: []string{"email"}, Type: []string{"info"},
		OCSF:        OCSF{ClassUID: ocsfEmailActivity, ActivityID: ocsfEmailSend},
		Description: "The user sent an email message.",
	},
	{
		Name: ActionPrintJob, Area: "print",
		Category: []string{"host"}, Type: []string{"info"},
		OCSF:        OCSF{ClassUID: ocsfBaseEvent, ActivityID: ocsfActivityOther},
		Description: "The user sent a document to a printer.",
	},
	{
		Name: ActionClipboardCopy, Area: "clipboard",
		Category: []string{"host"}, Type: []string{"info"},
		OCSF:        OCSF{ClassUID: ocsfBaseEvent, ActivityID: ocsfActivityOther},
		Description: "Content was copied to the clipboard.",
	},
	{
		Name: ActionClipboardCut, Area: "clipboard",
		Category: []string{"host"}, Type: []string{"info"},
		OCSF:        OCSF{ClassUID: ocsfBaseEvent, ActivityID: ocsfActivityOther},
		Description: "Content was cut to the clipboard.",
	},
	{
		Name: ActionClipboardPaste, Area: "clipboard",
		Category: []string{"host"}, Type: []string{"info"},
		OCSF:        OCSF{ClassUID: ocsfBaseEvent, ActivityID: ocsfActivityOther},
		Description: "Clipboard content was pasted into an application.",
	},
	{
		Name: ActionProcessStarted, Area: "app",
		Category: []string{"process"}, Type: []string{"start"},
		OCSF:        OCSF{ClassUID: ocsfProcessActivity, ActivityID: ocsfProcessLaunch},
		Description: "A process started.",
	},
	{
		Name: ActionProcessEnded, Area: "app",
		Category: []string{"process"}, Type: []string{"end"},
		OCSF:        OCSF{ClassUID: ocsfProcessActivity, ActivityID: ocsfProcessTerminate},
		Description: "A process exited.",
	},
	{
		Name: ActionWindowFocused, Area: "app",
		Category: []string{"process"}, Type: []string{"info"},
		OCSF:        OCSF{ClassUID: ocsfBaseEvent, ActivityID: ocsfActivityOther},
		Description: "An application window received the keyboard focus.",
	},
	{
		Name: ActionCommandExecuted, Area: "app",
		Category: []string{"process"}, Type: []string{"start"},
		OCSF:        OCSF{ClassUID: ocsfProcessActivity, ActivityID: ocsfProcessLaunch},
		Description: "A command line was run in an interactive terminal session.",
	},
	{
		Name: ActionAgentStarted, Area: "agent",
		Category: []string{"host"}, Type: []string{"start"},
		OCSF:        OCSF{ClassUID: ocsfApplicationLifecycle, ActivityID: ocsfApplicationStart},
		Description: "The Vigil agent started.",
	},
	{
		Name: ActionAgentStopped, Area: "agent",
		Category: []string{"host"}, Type: []string{"end"},
		OCSF:        OCSF{ClassUID: ocsfApplicationLifecycle, ActivityID: ocsfApplicationStop},
		Description: "The Vigil agent stopped.",
	},
	{
		Name: ActionSensorFailed, Area: "agent",
		Category: []string{"host"}, Type: []string{"error"},
		OCSF:        OCSF{ClassUID: ocsfApplicationLifecycle, ActivityID: ocsfActivityOther},
		Description: "A sensor of the agent failed and is being restarted; agent.sensor names it. Raised for a new failure (the first, a different error, or after 10 minutes of running), not for each retry of the same one.",
	},
	{
		Name: ActionEventsDropped, Area: "agent",
		Category: []string{"host"}, Type: []string{"error"},
		OCSF:        OCSF{ClassUID: ocsfEventLogActivity, ActivityID: ocsfActivityOther},
		Description: "The agent lost events (queue full, spool full); agent.dropped counts them.",
	},
	{
		Name: ActionPolicyActivated, Area: "agent",
		Category: []string{"configuration"}, Type: []string{"change"},
		OCSF:        OCSF{ClassUID: ocsfDeviceConfigStateChange, ActivityID: ocsfDeviceConfigStateLog},
		Description: "The agent activated a policy bundle revision.",
	},
}

// actionIndex maps an action name to its position in actionTable.
var actionIndex = func() map[string]int {
	m := make(map[string]int, len(actionTable))
	for i, a := range actionTable {
		if _, dup := m[a.Name]; dup {
			panic("event: duplicate action " + a.Name)
		}
		m[a.Name] = i
	}
	return m
}()

// actionNames lists the action names in table order, for suggestions.
var actionNames = func() []string {
	out := make([]string, len(actionTable))
	for i, a := range actionTable {
		out[i] = a.Name
	}
	return out
}()

// Actions returns the whole action vocabulary in a stable order (grouped by
// area, as in the documentation). The result is a copy: callers may modify it.
func Actions() []ActionInfo {
	out := make([]ActionInfo, len(actionTable))
	for i, a := range actionTable {
		out[i] = a.clone()
	}
	return out
}

// LookupAction returns the description of the named action, and false when
// the name is not in the vocabulary.
func LookupAction(name string) (ActionInfo, bool) {
	i, ok := actionIndex[name]
	if !ok {
		return ActionInfo{}, false
	}
	return actionTable[i].clone(), true
}

// KnownAction reports whether name is in the action vocabulary. It does not
// allocate.
func KnownAction(name string) bool {
	_, ok := actionIndex[name]
	return ok
}

func (a ActionInfo) clone() ActionInfo {
	a.Category = append([]string(nil), a.Category...)
	a.Type = append([]string(nil), a.Type...)
	return a
}
