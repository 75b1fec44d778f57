package event

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// allActionConstants lists the Action constants; the table must hold
// exactly these.
var allActionConstants = []string{
	ActionLogon, ActionLogoff, ActionScreenLock, ActionScreenUnlock,
	ActionDeviceConnected, ActionDeviceDisconnected, ActionVolumeMounted, ActionVolumeUnmounted,
	ActionFileCreated, ActionFileModified, ActionFileDeleted, ActionFileRenamed,
	ActionFileCopiedToRemovable, ActionFileCopiedToCloudSync,
	ActionConnectionOpened, ActionWebVisit, ActionWebDownload, ActionWebUpload,
	ActionEmailSent, ActionPrintJob,
	ActionClipboardCopy, ActionClipboardCut, ActionClipboardPaste,
	ActionProcessStarted, ActionProcessEnded, ActionWindowFocused, ActionCommandExecuted,
	ActionAgentStarted, ActionAgentStopped, ActionSensorFailed, ActionEventsDropped, ActionPolicyActivated,
}

func TestActionsCoverVocabulary(t *testing.T) {
	var names []string
	for _, a := range Actions() {
		names = append(names, a.Name)
	}
	require.Equal(t, allActionConstants, names, "Actions() must list every constant once, in documentation order")
	require.Equal(t, Actions(), Actions(), "order must be stable")
}

func TestActionInfoIsConsistent(t *testing.T) {
	areas := []string{"session", "device", "file", "network", "web", "email", "print", "clipboard", "app", "agent"}
	for _, a := range Actions() {
		t.Run(a.Name, func(t *testing.T) {
			require.Contains(t, areas, a.Area)
			require.NotEmpty(t, a.Category)
			require.NotEmpty(t, a.Type)
			for _, c := range a.Category {
				require.Contains(t, ecsCategories, c)
			}
			for _, ty := range a.Type {
				require.Contains(t, ecsTypes, ty)
			}
			require.True(t, strings.HasSuffix(a.Description, "."), "description must be a sentence: %q", a.Description)
			_, known := ocsfClasses[a.OCSF.ClassUID]
			require.True(t, known, "OCSF class %d has no name", a.OCSF.ClassUID)
			require.NotContains(t, a.OCSF.ActivityName(), "activity ", "OCSF activity %d of class %d has no name", a.OCSF.ActivityID, a.OCSF.ClassUID)
		})
	}
}

// TestActionOCSFMapping pins the OCSF class and activity of every action;
// docs/event-schema.md explains each choice.
func TestActionOCSFMapping(t *testing.T) {
	tests := []struct {
		action   string
		class    string
		activity string
		typeUID  int64
	}{
		{ActionLogon, "Authentication", "Logon", 300201},
		{ActionLogoff, "Authentication", "Logoff", 300202},
		{ActionScreenLock, "Base Event", "Other", 99},
		{ActionScreenUnlock, "Authentication", "Logon", 300201},
		{ActionDeviceConnected, "Peripheral Activity", "Connect", 101001},
		{ActionDeviceDisconnected, "Peripheral Activity", "Disconnect", 101002},
		{ActionVolumeMounted, "File System Activity", "Mount", 100112},
		{ActionVolumeUnmounted, "File System Activity", "Unmount", 100113},
		{ActionFileCreated, "File System Activity", "Create", 100101},
		{ActionFileModified, "File System Activity", "Update", 100103},
		{ActionFileDeleted, "File System Activity", "Delete", 100104},
		{ActionFileRenamed, "File System Activity", "Rename", 100105},
		{ActionFileCopiedToRemovable, "File System Activity", "Create", 100101},
		{ActionFileCopiedToCloudSync, "File System Activity", "Create", 100101},
		{ActionConnectionOpened, "Network Activity", "Open", 400101},
		{ActionWebVisit, "HTTP Activity", "Get", 400203},
		{ActionWebDownload, "HTTP Activity", "Get", 400203},
		{ActionWebUpload, "HTTP Activity", "Post", 400206},
		{ActionEmailSent, "Email Activity", "Send", 400901},
		{ActionPrintJob, "Base Event", "Other", 99},
		{ActionClipboardCopy, "Base Event", "Other", 99},
		{ActionClipboardCut, "Base Event", "Other", 99},
		{ActionClipboardPaste, "Base Event", "Other", 99},
		{ActionProcessStarted, "Process Activity", "Launch", 100701},
		{ActionProcessEnded, "Process Activity", "Terminate", 100702},
		{ActionWindowFocused, "Base Event", "Other", 99},
		{ActionCommandExecuted, "Process Activity", "Launch", 100701},
		{ActionAgentStarted, "Application Lifecycle", "Start", 600203},
		{ActionAgentStopped, "Application Lifecycle", "Stop", 600204},
		{ActionSensorFailed, "Application Lifecycle", "Other", 600299},
		{ActionEventsDropped, "Event Log Activity", "Other", 100899},
		{ActionPolicyActivated, "Device Config State Change", "Log", 501901},
	}
	require.Len(t, tests, len(actionTable))
	for _, tt := range tests {
		t.Run(tt.action, func(t *testing.T) {
			a, ok := LookupAction(tt.action)
			require.True(t, ok)
			require.Equal(t, tt.class, a.OCSF.ClassName())
			require.Equal(t, tt.activity, a.OCSF.ActivityName())
			require.Equal(t, tt.typeUID, a.OCSF.TypeUID())
		})
	}
}

func TestLookupAction(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
		area string
	}{
		{"file-created", true, "file"},
		{"email-sent", true, "email"},
		{"policy-activated", true, "agent"},
		{"File-Created", false, ""},
		{"fil-created", false, ""},
		{"", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, ok := LookupAction(tt.name)
			require.Equal(t, tt.ok, ok)
			require.Equal(t, tt.ok, KnownAction(tt.name))
			require.Equal(t, tt.area, a.Area)
			if ok {
				require.Equal(t, tt.name, a.Name)
			}
		})
	}
}

func TestLookupActionReturnsCopies(t *testing.T) {
	a, _ := LookupAction(ActionFileCreated)
	a.Category[0] = "changed"
	all := Actions()
	all[0].Type[0] = "changed"
	b, _ := LookupAction(ActionFileCreated)
	require.Equal(t, []string{"file"}, b.Category)
	c, _ := LookupAction(all[0].Name)
	require.NotEqual(t, "changed", c.Type[0])
}

func TestKnownActionDoesNotAllocate(t *testing.T) {
	name := strings.Clone("file-copied-to-removable")
	allocs := testing.AllocsPerRun(100, func() {
		if !KnownAction(name) {
			t.Fatal("not known")
		}
	})
	require.Zero(t, allocs)
}

func TestOCSFNames(t *testing.T) {
	tests := []struct {
		o        OCSF
		class    string
		activity string
		category int64
	}{
		{OCSF{1001, 1}, "File System Activity", "Create", 1},
		{OCSF{3002, 2}, "Authentication", "Logoff", 3},
		{OCSF{4002, 6}, "HTTP Activity", "Post", 4},
		{OCSF{6002, 0}, "Application Lifecycle", "Unknown", 6},
		{OCSF{0, 99}, "Base Event", "Other", 0},
		{OCSF{5019, 1}, "Device Config State Change", "Log", 5},
		{OCSF{2004, 1}, "class 2004", "activity 1", 2},
	}
	for _, tt := range tests {
		t.Run(tt.class, func(t *testing.T) {
			require.Equal(t, tt.class, tt.o.ClassName())
			require.Equal(t, tt.activity, tt.o.ActivityName())
			require.Equal(t, tt.category, tt.o.CategoryUID())
			require.Equal(t, tt.o.ClassUID*100+tt.o.ActivityID, tt.o.TypeUID())
		})
	}
}

func TestDidYouMean(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		{"fil-created", `file-created`},
		{"file-create", `file-created`},
		{"email-send", `email-sent`},
		{"usb-copy", ""},
		{"", ""},
		{"logn", "logon"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			require.Equal(t, tt.want, nearest(tt.in, actionNames))
		})
	}
}
