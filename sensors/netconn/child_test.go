package netconn

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
)

// childEnv makes the test binary act as the uploading child process: it
// connects to the address in the variable, sends childBytesEnv bytes,
// and keeps the connection open until its standard input closes.
const (
	childEnv      = "VIGIL_NETCONN_TEST_CHILD"
	childBytesEnv = "VIGIL_NETCONN_TEST_BYTES"
)

func runChild(addr string) int {
	n, err := strconv.Atoi(os.Getenv(childBytesEnv))
	if err != nil {
		fmt.Fprintln(os.Stderr, "child: bytes:", err)
		return 2
	}
	c, err := net.Dial("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "child: dial:", err)
		return 1
	}
	defer c.Close()
	if _, err := c.Write(bytes.Repeat([]byte{'v'}, n)); err != nil {
		fmt.Fprintln(os.Stderr, "child: write:", err)
		return 1
	}
	fmt.Println("sent")
	_, _ = io.Copy(io.Discard, os.Stdin)
	return 0
}
