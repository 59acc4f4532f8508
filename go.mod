module github.com/snapcore-ng/usersession-agent

go 1.26.8

require (
	github.com/coreos/go-systemd/v22 v22.7.0 // indirect
	github.com/godbus/dbus/v5 v5.2.4 // indirect
	github.com/jessevdk/go-flags v1.6.1 // indirect
	golang.org/x/sys v0.50.0 // indirect
)
