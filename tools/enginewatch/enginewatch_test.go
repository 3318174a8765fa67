package enginewatch

import (
	"net"
	"os"
	"testing"
	"time"
)

func TestWatchCallsGoneOnlyAfterTheEngineStopsListening(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	address := ln.Addr().String()
	gone := make(chan time.Time, 1)
	go Watch(address, os.Getppid(), 50*time.Millisecond, func() { gone <- time.Now() })

	select {
	case <-gone:
		t.Fatal("gone called while the engine still listens")
	case <-time.After(300 * time.Millisecond):
	}
	closed := time.Now()
	_ = ln.Close()
	select {
	case at := <-gone:
		if at.Sub(closed) < 50*time.Millisecond { // the second miss comes an interval after the first
			t.Fatalf("gone after %v: fewer than %d missed checks", at.Sub(closed), Misses)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("gone not called 5 s after the engine stopped listening")
	}
}

func TestAliveIsFalseForAnotherParent(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if !Alive(ln.Addr().String(), os.Getppid()) {
		t.Fatal("a listening engine and our own parent must count as alive")
	}
	if Alive(ln.Addr().String(), os.Getppid()+1_000_000) {
		t.Fatal("a changed parent must count as gone")
	}
}
