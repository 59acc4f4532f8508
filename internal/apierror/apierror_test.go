package apierror_test

import (
	"errors"
	"io/fs"
	"testing"

	"github.com/snapcore-ng/usersession-agent/internal/apierror"
)

func TestErrorfKeepsMessageAndCause(t *testing.T) {
	err := apierror.Errorf("notification", "cannot show notification: %w", fs.ErrNotExist)
	if err.Kind != "notification" || err.Message != "cannot show notification: file does not exist" {
		t.Errorf("got kind %q message %q", err.Kind, err.Message)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("%v does not wrap its cause", err)
	}
	if plain := apierror.Errorf("bad-request", "no action given"); plain.Err != nil || plain.Error() != "no action given" {
		t.Errorf("got %#v", plain)
	}
}
