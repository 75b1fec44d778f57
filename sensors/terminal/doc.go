// Package terminal owns terminal-session recording: the `vigil shell`
// login-shell wrapper that runs the user's real shell in a pty, records its
// input and output as asciicast v2 and reconstructs the command lines typed
// into it; the framed wire protocol between the wrapper and the agent; and
// the "terminal" sensor that listens on the agent's unix socket, trusts the
// peer's uid (SO_PEERCRED) rather than anything the client says about the
// user, emits command-executed events and hands the recording to the
// endpoint's evidence buffers.
//
// It must not import the engine, the store, the API or other sensors.
package terminal
