module github.com/snapcore-ng/usersession-agent/tests/snapdcompat

go 1.26.8

require github.com/snapcore-ng/usersession-agent v0.0.0

require (
	github.com/coreos/go-systemd/v22 v22.7.0 // indirect
	github.com/godbus/dbus v4.1.0+incompatible // indirect
	github.com/godbus/dbus/v5 v5.2.4 // indirect
	github.com/snapcore/snapd v0.0.0-20201005140838-501d14ac146e
	golang.org/x/sys v0.50.0 // indirect
	gopkg.in/check.v1 v1.0.0-20201130134442-10cb98267c6c // indirect
	gopkg.in/yaml.v2 v2.4.0 // indirect
)

replace github.com/snapcore-ng/usersession-agent => ../..
