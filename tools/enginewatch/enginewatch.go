// Package enginewatch tells a plugin that the Pulumi engine which started it is gone.
//
// Why: a SIGKILLed `pulumi up` cannot stop its plugins, and the SDK's own health check
// (rpcutil.Healthcheck) asks only every 5 minutes, so a killed run's language hosts lingered for
// minutes. Both language hosts this project builds (tools/pulumi-language-python and
// tools/pulumi-language-yaml) use this one watch, so that no process of a killed run outlives it
// by more than a few seconds.
package enginewatch

import (
	"errors"
	"net"
	"os"
	"syscall"
	"time"
)

// Misses is how many failed checks in a row mean the engine is gone.
const Misses = 2

// Alive reports whether the engine still listens at address and the process that started this
// plugin is still its parent. A refused connect means nobody listens there any more; a timeout
// or any other error is not proof of a dead engine. A changed parent means the engine process
// died and this one was re-parented (to init or a subreaper).
func Alive(address string, parent int) bool {
	if os.Getppid() != parent {
		return false
	}
	conn, err := net.DialTimeout("tcp", address, time.Second)
	if err == nil {
		_ = conn.Close()
		return true
	}
	return !errors.Is(err, syscall.ECONNREFUSED)
}

// Watch calls gone once the engine at address has failed Misses checks in a row, one every
// interval. It blocks: run it in its own goroutine.
func Watch(address string, parent int, interval time.Duration, gone func()) {
	misses := 0
	for {
		time.Sleep(interval)
		if Alive(address, parent) {
			misses = 0
			continue
		}
		misses++
		if misses >= Misses {
			gone()
			return
		}
	}
}
