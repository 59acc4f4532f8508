package notification

// State is what became of a notification.
type State string

const (
	// StateShown: the server took the notification and has not said more.
	StateShown State = "shown"
	// StateAction: the user chose an action; Status.Action says which.
	StateAction State = "action"
	// StateDismissed: the user closed it.
	StateDismissed State = "dismissed"
	// StateExpired: the server took it down when its time was up.
	StateExpired State = "expired"
	// StateClosed: it was closed by a call (Close) or for a reason the server did not
	// give.
	StateClosed State = "closed"
	// StateServerGone: the server left the bus while it was shown.
	StateServerGone State = "server-gone"
)

// Final says whether nothing more will happen to a notification in state s.
func (s State) Final() bool { return s != StateShown }

// Backend names, as Status.Server reports them.
const (
	ServerFreedesktop = "freedesktop"
	ServerGTK         = "gtk"
)

// Status is what the manager knows of one notification.
type Status struct {
	ID    string
	State State
	// Action is the ID of the chosen action when State is StateAction.
	Action string
	// Server is the protocol it was posted with: ServerFreedesktop or ServerGTK.
	Server string
	// ServerName is the freedesktop server's name and version (GetServerInformation),
	// such as "dunst 1.9.0"; empty for GTK, which does not say.
	ServerName string
	// ActionsShown says the server shows the message's actions: false without
	// actions, or on a freedesktop server without the "actions" capability.
	ActionsShown bool
}
