// Package owner owns the answers to "whose is this?" that sensors give in
// user.id and user.name: the numeric id of the user owning a file, the user
// name behind a numeric id (or the id behind a name), looked up in the OS
// user database and remembered, and where the users' home directories are.
//
// It must not import the engine, the store, the API or any sensor package.
package owner

import (
	"os/user"
	"runtime"
	"sync"

	"github.com/vigil-itm/vigil/event"
)

// DefaultMaxUsers is how many answers a Users remembers in each direction
// when its Max is 0.
const DefaultMaxUsers = 1024

// Users looks users up by numeric id or by name and remembers the answers,
// failures too, so a busy sensor does not read the user database for every
// event. When more than Max answers are remembered they are all forgotten.
// The zero value is ready to use; it is safe for concurrent use.
type Users struct {
	// Max bounds the answers remembered in each direction; 0 means
	// DefaultMaxUsers.
	Max int

	mu    sync.Mutex
	names map[string]string // uid → name
	ids   map[string]string // name → uid
}

// Name returns the name of the user with numeric id uid, "" when uid is
// empty or names no user.
func (u *Users) Name(uid string) string {
	if uid == "" {
		return ""
	}
	return u.cached(&u.names, uid, func() string {
		if usr, err := user.LookupId(uid); err == nil {
			return usr.Username
		}
		return ""
	})
}

// ID returns the numeric id of the user called name, "" when there is no
// such user.
func (u *Users) ID(name string) string {
	return u.cached(&u.ids, name, func() string {
		if usr, err := user.Lookup(name); err == nil {
			return usr.Uid
		}
		return ""
	})
}

// User returns the event's user field for numeric id uid, with the name
// when it is known; nil when uid is empty.
func (u *Users) User(uid string) *event.User {
	if uid == "" {
		return nil
	}
	return &event.User{ID: uid, Name: u.Name(uid)}
}

// cached returns the answer remembered in *m for k, or looks it up and
// remembers it, forgetting everything first when *m is full.
func (u *Users) cached(m *map[string]string, k string, look func() string) string {
	u.mu.Lock()
	defer u.mu.Unlock()
	if v, ok := (*m)[k]; ok {
		return v
	}
	v := look()
	limit := u.Max
	if limit <= 0 {
		limit = DefaultMaxUsers
	}
	if *m == nil {
		*m = map[string]string{}
	}
	if len(*m) > limit {
		clear(*m)
	}
	(*m)[k] = v
	return v
}

// HomeGlobs returns the glob patterns that match the users' home
// directories on the OS the agent runs on: the default of the sensors that
// search homes for the folders of mail and sync clients.
func HomeGlobs() []string {
	switch runtime.GOOS {
	case "windows":
		return []string{`C:\Users\*`}
	case "darwin":
		return []string{"/Users/*"}
	default:
		return []string{"/home/*", "/root"}
	}
}
