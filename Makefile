# Build, test and install the snap user session agent.
# Where `make install` puts things (README, "Building and installing"): the snap binary
# in a directory of its own (SNAPDIR), never on PATH, where it would shadow the
# distribution's snapd; root's `snap-sessions` in BINDIR; the user units and D-Bus
# files where systemd and dbus-daemon read them before the distribution's.
PREFIX ?= /usr
BINDIR ?= $(PREFIX)/bin
LIBDIR ?= $(PREFIX)/lib
SNAPDIR ?= $(LIBDIR)/usersession-agent
ifeq ($(PREFIX),/usr)
# /usr/lib/systemd/user, /usr/share/dbus-1/services and /usr/share/applications are the
# packages' (snapd ships files of the same names there): /etc/systemd/user comes before
# them in systemd's user unit path, /usr/local/share in dbus-daemon's service path and
# in XDG_DATA_DIRS (there is no /etc one for either).
USERUNITDIR ?= /etc/systemd/user
DBUSSERVICEDIR ?= /usr/local/share/dbus-1/services
APPLICATIONSDIR ?= /usr/local/share/applications
else
USERUNITDIR ?= $(LIBDIR)/systemd/user
DBUSSERVICEDIR ?= $(PREFIX)/share/dbus-1/services
APPLICATIONSDIR ?= $(PREFIX)/share/applications
endif
MANDIR ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
# APPLICATIONSDIR: GNOME Shell looks up the desktop entry of a notification's
# application ID.
# AUTOSTARTDIR: desktop sessions start `snap userd --autostart` from here (XDG
# Autostart; there is no directory before /etc/xdg for it).
SYSCONFDIR ?= /etc
AUTOSTARTDIR ?= $(SYSCONFDIR)/xdg/autostart
DESTDIR ?=

GO ?= go
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo 0.1.0-dev)
# A static binary: no dynamic loader at every socket-activated start and no libc pages
# in the agent's memory (measured: 1.6 MiB less RSS). Without NSS in the binary, root's
# commands look users up through getent (internal/userdb). (Tests need cgo: -race.)
GOFLAGS_BUILD = -trimpath -ldflags "-s -w -X main.Version=$(VERSION)"
BUILDDIR ?= build
# Dates the manual page (go-flags reads it), so that the same commit gives the same page.
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || date +%s)

.PHONY: all build test check fmt-check vet no-binaries race demo screenshot bench bench-notifications install uninstall clean \
	suite-binaries spread-local real-snapd

all: build

build:
	CGO_ENABLED=0 $(GO) build $(GOFLAGS_BUILD) -o $(BUILDDIR)/snap ./cmd/snap
	$(MAKE) $(BUILDDIR)/snap.8

# install uses an existing binary (for instance one built on another machine) as is,
# and its manual page if there is one.
$(BUILDDIR)/snap:
	$(MAKE) build

# snap.8, referenced by the units as man:snap(8), is what `snap help --man` writes.
$(BUILDDIR)/snap.8: $(BUILDDIR)/snap
	SOURCE_DATE_EPOCH=$(SOURCE_DATE_EPOCH) $(BUILDDIR)/snap help --man >$@.tmp
	mv $@.tmp $@

# The whole suite, integration tests against real user managers included (they need
# root; outside CI they skip without it).
# The integration package runs real user managers two at a time (GOMAXPROCS on these
# 2-core machines); on a loaded machine it needs more than 15 minutes.
# tests/snapdcompat is a module of its own (it drives the agent with snapd's client,
# which the project's module must not depend on).
test: build
	SNAP_TEST_BINARY=$(CURDIR)/$(BUILDDIR)/snap $(GO) test -race -count=1 -timeout 30m ./...
	cd tests/snapdcompat && SNAP_TEST_BINARY=$(CURDIR)/$(BUILDDIR)/snap $(GO) test -race -count=1 -timeout 5m ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...
	cd tests/snapdcompat && $(GO) vet ./...

# Built binaries are outputs (.gitignore), never sources: fail on any tracked ELF file.
no-binaries:
	@out=$$(git ls-files 2>/dev/null | while IFS= read -r f; do \
		[ -f "$$f" ] && [ "$$(head -c 4 "$$f")" = "$$(printf '\177ELF')" ] && echo "$$f"; \
	done); \
	if [ -n "$$out" ]; then echo "tracked ELF binaries:"; echo "$$out"; exit 1; fi

check: fmt-check vet no-binaries test spread-local real-snapd

# The binaries the spread suite uses: this build, the same code under another
# version as the "upgrade" of the agent-exit-upgrade task, the OpenFile client of
# the userd-open-file task and the fake user manager of the manager-impostor task.
suite-binaries: build
	$(MAKE) build BUILDDIR=$(BUILDDIR)/next VERSION=$(VERSION)-next
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BUILDDIR)/openfile ./tests/lib/openfile
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BUILDDIR)/impostor ./tests/lib/impostor

# The spread suite without spread: on this machine, then in a booted Debian container.
spread-local: suite-binaries
	./tests/lib/run-spread-local

# Real snapd (Debian 12's and Debian 13's) drives user daemons through the
# distribution's agent and through this one, in booted containers (docs/real-snapd.md).
real-snapd: build
	./tests/real-snapd/run

# As root: a throwaway user session on this machine, and root talking to its agent.
demo: build
	SNAP_BINARY=$(CURDIR)/$(BUILDDIR)/snap ./tests/demo.sh

# As root: the README's pictures (docs/): notifications on dunst under Xvfb, and the
# question snap userd asks through zenity.
screenshot: build
	SNAP_BINARY=$(CURDIR)/$(BUILDDIR)/snap ./tests/notifications-screenshot.sh
	SNAP_BINARY=$(CURDIR)/$(BUILDDIR)/snap ./tests/userd-screenshot.sh

bench: build
	./bench/run.sh

bench-notifications: build
	./bench/notifications.sh

# install and uninstall: build-aux/install says what they write and remove.
INSTALL_ENV = DESTDIR="$(DESTDIR)" SNAPDIR="$(SNAPDIR)" BINDIR="$(BINDIR)" \
	USERUNITDIR="$(USERUNITDIR)" DBUSSERVICEDIR="$(DBUSSERVICEDIR)" MANDIR="$(MANDIR)" \
	BASHCOMPDIR="$(BASHCOMPDIR)" APPLICATIONSDIR="$(APPLICATIONSDIR)" \
	AUTOSTARTDIR="$(AUTOSTARTDIR)" BUILDDIR="$(BUILDDIR)"

install: $(BUILDDIR)/snap $(BUILDDIR)/snap.8
	$(INSTALL_ENV) ./build-aux/install install

uninstall:
	$(INSTALL_ENV) ./build-aux/install uninstall

clean:
	rm -rf $(BUILDDIR)
