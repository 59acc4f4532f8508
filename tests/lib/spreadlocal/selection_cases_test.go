package main

// selectionCases are spread.yaml fixtures for the manual rule and command-line
// filters (jobs_test.go: the lists are spread's, which spread, and how to check again).
var selectionCases = []jobsCase{{
	// A manual backend, system, suite or task is left out unless every job the
	// arguments select is manual at that level (spread's tests/manual).
	name: "manual",
	yaml: `
project: fixture
path: /fixture
backends:
    auto:
        type: adhoc
        allocate: ADDRESS a
        systems:
            - debian-12-64
            - debian-13-64:
                manual: true
    hand:
        type: adhoc
        allocate: ADDRESS h
        manual: true
        systems: [debian-12-64]
suites:
    auto/:
        summary: automatic
    hand/:
        summary: by hand
        manual: true
`,
	tasks: map[string]string{"auto/a": "", "auto/m": "manual: true\n", "hand/a": ""},
	lists: []jobsList{
		{want: `
			auto:debian-12-64:auto/a
		`},
		{args: []string{"hand:"}, want: `
			hand:debian-12-64:auto/a
		`},
		{args: []string{"debian-13-64"}, want: `
			auto:debian-13-64:auto/a
		`},
		{args: []string{"hand/"}, want: `
			auto:debian-12-64:hand/a
		`},
		{args: []string{"/m"}, want: `
			auto:debian-12-64:auto/m
		`},
		{args: []string{"auto/..."}, want: `
			auto:debian-12-64:auto/a
		`},
		{args: []string{"hand:debian-12-64:hand/a"}, want: `
			hand:debian-12-64:hand/a
		`},
		{args: []string{"hand:", "auto:debian-13-64:"}, err: "nothing matches"},
		{host: "debian-12-64", args: []string{"/m"}, want: `
			auto:debian-12-64:auto/m
			host:debian-12-64:auto/m
		`},
		{host: "debian-12-64", args: []string{"debian-12-64:hand/"}, want: `
			auto:debian-12-64:hand/a
			host:debian-12-64:hand/a
		`},
	},
}, {
	// Arguments are regular expressions over job names with spread's rewrites of
	// ".", "...", ":", leading and trailing "/" or ":", and "#N".
	name: "filters",
	yaml: `
project: fixture
path: /fixture
backends:
    alpha:
        type: adhoc
        allocate: ADDRESS a
        systems: [debian-12-64, ubuntu-16.04-64]
    alpha-2:
        type: adhoc
        allocate: ADDRESS a
        systems: [debian-12-64]
suites:
    tests/main/:
        summary: main
    tests/other/:
        summary: other
`,
	tasks: map[string]string{
		"tests/main/service-control":   "",
		"tests/main/service-control-2": "",
		"tests/main/agent":             "",
		"tests/other/agent":            "environment:\n    V/v1,v2: 1\n",
	},
	lists: []jobsList{
		{args: []string{"/service-control"}, want: `
			alpha-2:debian-12-64:tests/main/service-control
			alpha:debian-12-64:tests/main/service-control
			alpha:ubuntu-16.04-64:tests/main/service-control
		`},
		{args: []string{"tests/main/"}, want: `
			alpha-2:debian-12-64:tests/main/agent
			alpha-2:debian-12-64:tests/main/service-control
			alpha-2:debian-12-64:tests/main/service-control-2
			alpha:debian-12-64:tests/main/agent
			alpha:debian-12-64:tests/main/service-control
			alpha:debian-12-64:tests/main/service-control-2
			alpha:ubuntu-16.04-64:tests/main/agent
			alpha:ubuntu-16.04-64:tests/main/service-control
			alpha:ubuntu-16.04-64:tests/main/service-control-2
		`},
		{args: []string{"main/"}, err: "nothing matches"},
		{args: []string{"/main/"}, want: `
			alpha-2:debian-12-64:tests/main/agent
			alpha-2:debian-12-64:tests/main/service-control
			alpha-2:debian-12-64:tests/main/service-control-2
			alpha:debian-12-64:tests/main/agent
			alpha:debian-12-64:tests/main/service-control
			alpha:debian-12-64:tests/main/service-control-2
			alpha:ubuntu-16.04-64:tests/main/agent
			alpha:ubuntu-16.04-64:tests/main/service-control
			alpha:ubuntu-16.04-64:tests/main/service-control-2
		`},
		{args: []string{"alpha"}, want: `
			alpha:debian-12-64:tests/main/agent
			alpha:debian-12-64:tests/main/service-control
			alpha:debian-12-64:tests/main/service-control-2
			alpha:debian-12-64:tests/other/agent:v1
			alpha:debian-12-64:tests/other/agent:v2
			alpha:ubuntu-16.04-64:tests/main/agent
			alpha:ubuntu-16.04-64:tests/main/service-control
			alpha:ubuntu-16.04-64:tests/main/service-control-2
			alpha:ubuntu-16.04-64:tests/other/agent:v1
			alpha:ubuntu-16.04-64:tests/other/agent:v2
		`},
		{args: []string{"alpha...:/agent"}, err: "nothing matches"},
		{args: []string{"alpha:ubuntu-16.04-64:"}, want: `
			alpha:ubuntu-16.04-64:tests/main/agent
			alpha:ubuntu-16.04-64:tests/main/service-control
			alpha:ubuntu-16.04-64:tests/main/service-control-2
			alpha:ubuntu-16.04-64:tests/other/agent:v1
			alpha:ubuntu-16.04-64:tests/other/agent:v2
		`},
		{args: []string{"debian-12-64:tests/other/agent"}, want: `
			alpha-2:debian-12-64:tests/other/agent:v1
			alpha-2:debian-12-64:tests/other/agent:v2
			alpha:debian-12-64:tests/other/agent:v1
			alpha:debian-12-64:tests/other/agent:v2
		`},
		{args: []string{":v1"}, want: `
			alpha-2:debian-12-64:tests/other/agent:v1
			alpha:debian-12-64:tests/other/agent:v1
			alpha:ubuntu-16.04-64:tests/other/agent:v1
		`},
		{args: []string{"v2"}, want: `
			alpha-2:debian-12-64:tests/other/agent:v2
			alpha:debian-12-64:tests/other/agent:v2
			alpha:ubuntu-16.04-64:tests/other/agent:v2
		`},
		{args: []string{"agent"}, err: "nothing matches"},
		{args: []string{"tests/.../agent"}, want: `
			alpha-2:debian-12-64:tests/main/agent
			alpha-2:debian-12-64:tests/other/agent:v1
			alpha-2:debian-12-64:tests/other/agent:v2
			alpha:debian-12-64:tests/main/agent
			alpha:debian-12-64:tests/other/agent:v1
			alpha:debian-12-64:tests/other/agent:v2
			alpha:ubuntu-16.04-64:tests/main/agent
			alpha:ubuntu-16.04-64:tests/other/agent:v1
			alpha:ubuntu-16.04-64:tests/other/agent:v2
		`},
		{args: []string{"/service-control-(2|x)"}, want: `
			alpha-2:debian-12-64:tests/main/service-control-2
			alpha:debian-12-64:tests/main/service-control-2
			alpha:ubuntu-16.04-64:tests/main/service-control-2
		`},
		{args: []string{"tests/main/agent#1"}, want: `
			alpha-2:debian-12-64:tests/main/agent
			alpha:debian-12-64:tests/main/agent
			alpha:ubuntu-16.04-64:tests/main/agent
		`},
		{args: []string{"tests/main/agent#2"}, err: "nothing matches"},
		{args: []string{"/agent", "alpha-2:"}, want: `
			alpha-2:debian-12-64:tests/main/agent
			alpha-2:debian-12-64:tests/main/service-control
			alpha-2:debian-12-64:tests/main/service-control-2
			alpha-2:debian-12-64:tests/other/agent:v1
			alpha-2:debian-12-64:tests/other/agent:v2
			alpha:debian-12-64:tests/main/agent
			alpha:debian-12-64:tests/other/agent:v1
			alpha:debian-12-64:tests/other/agent:v2
			alpha:ubuntu-16.04-64:tests/main/agent
			alpha:ubuntu-16.04-64:tests/other/agent:v1
			alpha:ubuntu-16.04-64:tests/other/agent:v2
		`},
		{host: "debian-12-64", args: []string{"debian-12-64:/agent"}, err: "nothing matches"},
		{args: []string{"a..b"}, err: `invalid filter string: ".."`},
		{args: []string{"a::b"}, err: `invalid filter string: "::"`},
		{args: []string{"a#b"}, err: `invalid filter string: "#"`},
		{args: []string{"a#0"}, err: "invalid sample range"},
		{args: []string{"a#2..1"}, err: "invalid sample range"},
		{args: []string{"a(b"}, err: "invalid filter string"},
	},
}}
