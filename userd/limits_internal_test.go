package userd

import (
	"errors"
	"strings"
	"testing"
)

func isLimit(err error) bool {
	var r *refusal
	return errors.As(err, &r) && r.name == errLimitsExceeded
}

// One question per snap, max in all; a question that ends frees its slot.
func TestQuestionsPerSnapAndInAll(t *testing.T) {
	q := &questions{max: 2}
	endA, err := q.begin("a")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := q.begin("a"); !isLimit(err) || !strings.Contains(err.Error(), `snap "a" is already open`) {
		t.Errorf("a second question of snap a: %v", err)
	}
	if _, err := q.begin("b"); err != nil {
		t.Fatal(err)
	}
	if _, err := q.begin("c"); !isLimit(err) || !strings.Contains(err.Error(), "2 questions are open") {
		t.Errorf("a question past the cap: %v", err)
	}
	endA()
	if _, err := q.begin("c"); err != nil {
		t.Errorf("a question once one has ended: %v", err)
	}
}

// perSender identifications per connection, max in all.
func TestGatePerSenderAndInAll(t *testing.T) {
	g := identifyingBound(3, 2)
	leave1, err := g.enter(":1.1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.enter(":1.1"); err != nil {
		t.Fatal(err)
	}
	if _, err := g.enter(":1.1"); !isLimit(err) || !strings.Contains(err.Error(), "from this connection") {
		t.Errorf("a third identification of one sender: %v", err)
	}
	if _, err := g.enter(":1.2"); err != nil {
		t.Fatalf("another sender: %v", err)
	}
	if _, err := g.enter(":1.3"); !isLimit(err) || !strings.Contains(err.Error(), "the most at once") {
		t.Errorf("an identification past the cap: %v", err)
	}
	leave1()
	if _, err := g.enter(":1.3"); err != nil {
		t.Errorf("an identification once one has ended: %v", err)
	}
	if g.total != 3 || len(g.byKey) != 3 {
		t.Errorf("gate counts %d in %v, want 3 in 3 senders", g.total, g.byKey)
	}
}

// perSnap commands for one snap (callers outside any snap counting as one), max in
// all, each refusal naming its bound.
func TestCommandsPerSnapAndInAll(t *testing.T) {
	b := commandsBound(3, 2)
	done, err := b.enter("a")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.enter("a"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.enter("a"); !isLimit(err) || !strings.Contains(err.Error(), `2 commands are running for snap "a"`) {
		t.Errorf("a third command of snap a: %v", err)
	}
	if _, err := b.enter(""); err != nil {
		t.Fatal(err)
	}
	if _, err := b.enter("b"); !isLimit(err) || !strings.Contains(err.Error(), "3 commands are running, the most userd runs at once") {
		t.Errorf("a command past the cap: %v", err)
	}
	done()
	if _, err := b.enter(""); err != nil {
		t.Fatal(err)
	}
	if _, err := b.enter(""); !isLimit(err) || !strings.Contains(err.Error(), "for callers outside any snap") {
		t.Errorf("a third command outside any snap: %v", err)
	}
}
