module github.com/snapcore-ng/usersession-agent

go 1.26.8

require (
	github.com/coreos/go-systemd/v22 v22.7.0
	github.com/godbus/dbus/v5 v5.2.4
	github.com/jessevdk/go-flags v1.6.1
	golang.org/x/sys v0.50.0
)

require gopkg.in/yaml.v3 v3.0.1 // indirect
