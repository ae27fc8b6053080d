package main

import (
	"context"
	"testing"
	"time"
)

// A paced session's due times are n/rate apart, the index-th session
// offset by index/rate, whether it waits for them or is late.
func TestScheduleDueTimes(t *testing.T) {
	before := time.Now()
	s := newSchedule(1000, 4, 2) // every 4 ms, the first 2 ms in
	defer s.stop()
	ctx := context.Background()
	first, ok := s.wait(ctx)
	if !ok || first.Before(before.Add(2*time.Millisecond)) || time.Now().Before(first) {
		t.Fatalf("first due %v (ok %v): want 2 ms after %v and not in the future", first, ok, before)
	}
	time.Sleep(20 * time.Millisecond) // late by several slots: each is due at once
	prev := first
	for range 5 {
		due, ok := s.wait(ctx)
		if !ok || due.Sub(prev) != 4*time.Millisecond {
			t.Fatalf("due %v after %v (ok %v): want 4 ms apart", due, prev, ok)
		}
		prev = due
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, ok := s.wait(cancelled); ok {
		t.Fatal("wait after the end of the run: want false")
	}
}

// Without a rate every request is due when it is sent.
func TestScheduleClosedLoop(t *testing.T) {
	s := newSchedule(0, 64, 3)
	before := time.Now()
	due, ok := s.wait(context.Background())
	if !ok || due.Before(before) || time.Since(due) > time.Second {
		t.Fatalf("due %v, ok %v: want now", due, ok)
	}
}
