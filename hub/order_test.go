package hub

import (
	"testing"
	"time"
)

func TestOrderer(t *testing.T) {
	var got []uint64
	seqOf := map[*Push]uint64{}
	out := make(chan uint64, 100)
	o := newOrderer(func(p *Push) { out <- seqOf[p] })
	defer o.close()
	send := func(seq uint64) {
		p := &Push{}
		seqOf[p] = seq
		o.push(p, "g", seq)
	}
	collect := func(n int) {
		t.Helper()
		for i := 0; i < n; i++ {
			select {
			case s := <-out:
				got = append(got, s)
			case <-time.After(2 * time.Second):
				t.Fatalf("released %v, want %d more", got, n-i)
			}
		}
	}
	send(5) // the first sequence seen starts the group
	send(7)
	send(6) // fills the gap: 6 and 7 go out
	collect(3)
	send(4) // lower than the start while the group is new: delivered, not lost
	collect(1)
	send(8)
	collect(1)
	send(10) // 8 and 9 never come: 10 goes out after the wait
	collect(1)
	time.Sleep(reorderWait)
	send(9) // older than what was released: dropped
	send(11)
	collect(1)
	want := []uint64{5, 6, 7, 4, 8, 10, 11}
	if len(got) != len(want) {
		t.Fatalf("released %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("released %v, want %v", got, want)
		}
	}
	o.push(&Push{}, "", 0) // unsequenced: at once
	select {
	case <-out:
	case <-time.After(time.Second):
		t.Fatal("unsequenced push held")
	}
}
