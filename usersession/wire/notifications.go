package wire

import "time"

// Notification endpoints. The two refresh ones are snapd's, with its bodies; the
// others are this agent's general notification API.
const (
	// PathNotifications: POST a Notification (answers a NotificationStatus), GET
	// ?id=ID[&wait=DURATION] a NotificationStatus, waiting up to wait (a Go duration,
	// at most MaxNotificationWait) for it to become final.
	PathNotifications = "/v1/notifications"
	// PathNotificationClose: POST a NotificationClose.
	PathNotificationClose = "/v1/notifications/close"
	PathPendingRefresh    = "/v1/notifications/pending-refresh"
	PathFinishRefresh     = "/v1/notifications/finish-refresh"
)

// MaxNotificationWait is the longest wait of one GET of a notification's status;
// clients that wait longer ask again.
const MaxNotificationWait = 60 * time.Second

// PendingRefreshInfo is the body of POST /v1/notifications/pending-refresh, as snapd
// sends it: a snap has an update waiting for its apps to close.
type PendingRefreshInfo struct {
	InstanceName string `json:"instance-name"`
	// TimeRemaining is how long until the refresh happens anyway; on the wire,
	// integer nanoseconds, as snapd's time.Duration.
	TimeRemaining time.Duration `json:"time-remaining,omitempty"`
	// BusyAppName and BusyAppDesktopEntry name the app keeping the snap busy.
	BusyAppName         string `json:"busy-app-name,omitempty"`
	BusyAppDesktopEntry string `json:"busy-app-desktop-entry,omitempty"`
}

// FinishRefreshInfo is the body of POST /v1/notifications/finish-refresh: the snap's
// refresh is done.
type FinishRefreshInfo struct {
	InstanceName string `json:"instance-name"`
}

// Notification is the body of POST /v1/notifications.
type Notification struct {
	Title string `json:"title"`
	Body  string `json:"body,omitempty"`
	// Icon is a themed icon name or an absolute path.
	Icon string `json:"icon,omitempty"`
	// Urgency is "low", "normal" (the default) or "critical".
	Urgency string `json:"urgency,omitempty"`
	// Category is the freedesktop category hint, such as "device" or
	// "x-snapcraft.refresh"; GNOME ignores it.
	Category string               `json:"category,omitempty"`
	Actions  []NotificationAction `json:"actions,omitempty"`
	// Expiry is how long the server shows it, in nanoseconds; zero means the
	// server's default.
	Expiry time.Duration `json:"expiry,omitempty"`
	// Replaces is the id of a notification of this agent to replace.
	Replaces string `json:"replaces,omitempty"`
}

// NotificationDefaultAction is the ID of the action a click on the notification
// itself chooses (the freedesktop "default" action key, GTK's default action).
const NotificationDefaultAction = "default"

// NotificationAction is a button: ID comes back when the user picks it.
type NotificationAction struct {
	ID    string `json:"id"`
	Label string `json:"label"`
}

// States of a notification.
const (
	NotificationStateShown      = "shown"
	NotificationStateAction     = "action"
	NotificationStateDismissed  = "dismissed"
	NotificationStateExpired    = "expired"
	NotificationStateClosed     = "closed"
	NotificationStateServerGone = "server-gone"
)

// NotificationStatus is what the agent knows of a notification.
type NotificationStatus struct {
	ID string `json:"id"`
	// State is one of the NotificationState* states.
	State string `json:"state"`
	// Action is the chosen action's ID, when State is "action".
	Action string `json:"action,omitempty"`
	// Server is the protocol it was shown with: "freedesktop" or "gtk".
	Server string `json:"server,omitempty"`
	// ServerName is the server's name and version, such as "dunst 1.9.0", when it
	// says.
	ServerName string `json:"server-name,omitempty"`
	// ActionsShown is false when the server cannot show the actions.
	ActionsShown bool `json:"actions-shown"`
}

// NotificationClose is the body of POST /v1/notifications/close.
type NotificationClose struct {
	ID string `json:"id"`
}

// Error kinds of the notification endpoints.
const (
	// ErrorKindNoSessionBus: the agent has no session bus (503).
	ErrorKindNoSessionBus = "no-session-bus"
	// ErrorKindNoNotificationServer: no notification server runs or can be started
	// on the session bus (503).
	ErrorKindNoNotificationServer = "no-notification-server"
	// ErrorKindNotificationServer: the notification server answered with an error
	// (502).
	ErrorKindNotificationServer = "notification-server-error"
	// ErrorKindNotificationTimeout: the notification server did not answer in time
	// (504).
	ErrorKindNotificationTimeout = "notification-server-timeout"
	// ErrorKindUnknownNotification: no notification has that id in this agent (404),
	// for instance because the agent restarted since.
	ErrorKindUnknownNotification = "unknown-notification"
	// ErrorKindTooManyNotifications: too many notifications are open (429).
	ErrorKindTooManyNotifications = "too-many-notifications"
)
