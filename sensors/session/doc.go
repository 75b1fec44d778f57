// Package session owns the session sensor: it turns the login accounting
// files (utmp and wtmp, in glibc's binary record format) into logon and
// logoff events with the terminal line, the remote address and a session id.
// It also owns the utmp record parser.
//
// Screen lock and unlock come from the desktop sensors, not from here. The
// package must not import the engine, the store, the API or other sensors.
package session
