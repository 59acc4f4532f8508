package client

import (
	"strings"
	"testing"
)

func TestCheckMembersCountsElementsAndKeysAtAnyDepth(t *testing.T) {
	// a, 1, 2, 3, b, c, the {} element and d: 8 members.
	const data = `{"a":[1,2,3],"b":{"c":[{}]},"d":"x"}`
	if err := checkMembers([]byte(data), 8); err != nil {
		t.Errorf("8 members within a budget of 8: %v", err)
	}
	if err := checkMembers([]byte(data), 7); err == nil || !strings.Contains(err.Error(), "more than 7 entries") {
		t.Errorf("8 members within a budget of 7: got %v", err)
	}
	if err := checkMembers([]byte(`{"a":`), 1); err != nil {
		t.Errorf("a syntax error is left to decoding, got %v", err)
	}
}
