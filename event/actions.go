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
