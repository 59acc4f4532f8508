package main

// cascadeCases are spread.yaml fixtures, one a rule of spread's job expansion, with the
// lists spread -list printed for them (jobs_test.go: which spread, and how to check
// again).
var cascadeCases = []jobsCase{{
	// Backends cascade from the project (all of them) through the suite to the task,
	// systems from the backend through the suite to the task: a plain list replaces,
	// +name adds, -name removes, and names are shell patterns over the names the
	// levels so far list. A system no backend has selects nothing.
	name: "systems and backends",
	yaml: `
project: fixture
path: /fixture
backends:
    alpha:
        type: adhoc
        allocate: ADDRESS a
        systems: [ubuntu-16.04-64, debian-12-64]
    beta:
        type: adhoc
        allocate: ADDRESS b
        systems: [debian-12-64, fedora-40-64]
    gamma:
        type: qemu
        systems: [ubuntu-16.04-64]
suites:
    main/:
        summary: no selection
    nofedora/:
        summary: a pattern removed
        systems: [-fedora-*]
    betaonly/:
        summary: a plain backend list
        backends: [beta]
    nogamma/:
        summary: a backend removed
        backends: [-gamma]
`,
	tasks: map[string]string{
		"main/all":           "",
		"main/not16":         "systems: [-ubuntu-16.04-*]\n",
		"main/only16":        "systems: [ubuntu-16.04-64]\n",
		"main/pattern":       "systems: [ubuntu-*, fedora-*]\n",
		"main/nohost":        "backends: [-host]\n",
		"main/nosuch":        "systems: [arch-1-64]\n",
		"nofedora/all":       "",
		"nofedora/readd":     "systems: [+fedora-40-64]\n",
		"betaonly/all":       "",
		"betaonly/addalpha":  "backends: [+alpha]\n",
		"betaonly/debian":    "systems: [debian-12-64]\n",
		"nogamma/all":        "",
		"nogamma/dropalpha":  "backends: [-alpha]\n",
		"nogamma/addgamma16": "backends: [+gamma]\nsystems: [ubuntu-16.04-64]\n",
	},
	lists: []jobsList{
		{want: `
			alpha:debian-12-64:betaonly/addalpha
			alpha:debian-12-64:main/all
			alpha:debian-12-64:main/nohost
			alpha:debian-12-64:main/not16
			alpha:debian-12-64:nofedora/all
			alpha:debian-12-64:nofedora/readd
			alpha:debian-12-64:nogamma/all
			alpha:ubuntu-16.04-64:betaonly/addalpha
			alpha:ubuntu-16.04-64:main/all
			alpha:ubuntu-16.04-64:main/nohost
			alpha:ubuntu-16.04-64:main/only16
			alpha:ubuntu-16.04-64:main/pattern
			alpha:ubuntu-16.04-64:nofedora/all
			alpha:ubuntu-16.04-64:nofedora/readd
			alpha:ubuntu-16.04-64:nogamma/addgamma16
			alpha:ubuntu-16.04-64:nogamma/all
			beta:debian-12-64:betaonly/addalpha
			beta:debian-12-64:betaonly/all
			beta:debian-12-64:betaonly/debian
			beta:debian-12-64:main/all
			beta:debian-12-64:main/nohost
			beta:debian-12-64:main/not16
			beta:debian-12-64:nofedora/all
			beta:debian-12-64:nofedora/readd
			beta:debian-12-64:nogamma/all
			beta:debian-12-64:nogamma/dropalpha
			beta:fedora-40-64:betaonly/addalpha
			beta:fedora-40-64:betaonly/all
			beta:fedora-40-64:main/all
			beta:fedora-40-64:main/nohost
			beta:fedora-40-64:main/not16
			beta:fedora-40-64:main/pattern
			beta:fedora-40-64:nofedora/readd
			beta:fedora-40-64:nogamma/all
			beta:fedora-40-64:nogamma/dropalpha
			gamma:ubuntu-16.04-64:main/all
			gamma:ubuntu-16.04-64:main/nohost
			gamma:ubuntu-16.04-64:main/only16
			gamma:ubuntu-16.04-64:main/pattern
			gamma:ubuntu-16.04-64:nofedora/all
			gamma:ubuntu-16.04-64:nofedora/readd
			gamma:ubuntu-16.04-64:nogamma/addgamma16
		`},
		{host: "debian-12-64", args: []string{"host:"}, want: `
			host:debian-12-64:main/all
			host:debian-12-64:main/not16
			host:debian-12-64:nofedora/all
			host:debian-12-64:nofedora/readd
			host:debian-12-64:nogamma/all
			host:debian-12-64:nogamma/dropalpha
		`},
		{host: "ubuntu-16.04-64", args: []string{"host:"}, want: `
			host:ubuntu-16.04-64:main/all
			host:ubuntu-16.04-64:main/only16
			host:ubuntu-16.04-64:main/pattern
			host:ubuntu-16.04-64:nofedora/all
			host:ubuntu-16.04-64:nofedora/readd
			host:ubuntu-16.04-64:nogamma/addgamma16
			host:ubuntu-16.04-64:nogamma/all
			host:ubuntu-16.04-64:nogamma/dropalpha
		`},
	},
}, {
	// Variants come from NAME/variant keys of the environments (the project's replace
	// the default of none, the others add) and from variants: lists, level by level:
	// project, backend, system, suite, task.
	name: "variants",
	yaml: `
project: fixture
path: /fixture
environment:
    P/pa: 1
    P/pb: 2
backends:
    alpha:
        type: adhoc
        allocate: ADDRESS a
        environment:
            B/ba: 1
        variants: [-pb]
        systems:
            - ubuntu-16.04-64:
                environment:
                    S/sa,sb: 1
            - ubuntu-18.04-64:
                variants: [pb]
            - debian-12-64:
                variants: [-p*]
    beta:
        type: adhoc
        allocate: ADDRESS b
        variants: [bz]
        systems: [debian-12-64]
suites:
    v/:
        summary: suite variants
        environment:
            X/sx: 1
        variants: [-ba]
`,
	tasks: map[string]string{
		"v/plain": "",
		"v/env":   "environment:\n    T/ta,tb: 1\n",
		"v/minus": "variants: [-s*]\n",
		"v/only":  "variants: [pa]\n",
		"v/new":   "variants: [zz]\n",
	},
	lists: []jobsList{
		{want: `
			alpha:debian-12-64:v/env:sx
			alpha:debian-12-64:v/env:ta
			alpha:debian-12-64:v/env:tb
			alpha:debian-12-64:v/new:zz
			alpha:debian-12-64:v/only:pa
			alpha:debian-12-64:v/plain:sx
			alpha:ubuntu-16.04-64:v/env:pa
			alpha:ubuntu-16.04-64:v/env:sa
			alpha:ubuntu-16.04-64:v/env:sb
			alpha:ubuntu-16.04-64:v/env:sx
			alpha:ubuntu-16.04-64:v/env:ta
			alpha:ubuntu-16.04-64:v/env:tb
			alpha:ubuntu-16.04-64:v/minus:pa
			alpha:ubuntu-16.04-64:v/new:zz
			alpha:ubuntu-16.04-64:v/only:pa
			alpha:ubuntu-16.04-64:v/plain:pa
			alpha:ubuntu-16.04-64:v/plain:sa
			alpha:ubuntu-16.04-64:v/plain:sb
			alpha:ubuntu-16.04-64:v/plain:sx
			alpha:ubuntu-18.04-64:v/env:pb
			alpha:ubuntu-18.04-64:v/env:sx
			alpha:ubuntu-18.04-64:v/env:ta
			alpha:ubuntu-18.04-64:v/env:tb
			alpha:ubuntu-18.04-64:v/minus:pb
			alpha:ubuntu-18.04-64:v/new:zz
			alpha:ubuntu-18.04-64:v/only:pa
			alpha:ubuntu-18.04-64:v/plain:pb
			alpha:ubuntu-18.04-64:v/plain:sx
			beta:debian-12-64:v/env:bz
			beta:debian-12-64:v/env:sx
			beta:debian-12-64:v/env:ta
			beta:debian-12-64:v/env:tb
			beta:debian-12-64:v/minus:bz
			beta:debian-12-64:v/new:zz
			beta:debian-12-64:v/only:pa
			beta:debian-12-64:v/plain:bz
			beta:debian-12-64:v/plain:sx
		`},
		{host: "debian-12-64", args: []string{"host:"}, want: `
			host:debian-12-64:v/env:pa
			host:debian-12-64:v/env:pb
			host:debian-12-64:v/env:sx
			host:debian-12-64:v/env:ta
			host:debian-12-64:v/env:tb
			host:debian-12-64:v/minus:pa
			host:debian-12-64:v/minus:pb
			host:debian-12-64:v/new:zz
			host:debian-12-64:v/only:pa
			host:debian-12-64:v/plain:pa
			host:debian-12-64:v/plain:pb
			host:debian-12-64:v/plain:sx
		`},
	},
}, {
	// Without project variants a job has none unless a level adds some; removing
	// them all leaves the job without a variant.
	name: "no variant",
	yaml: oneSystemSpread,
	tasks: map[string]string{
		"t/none":    "",
		"t/plus":    "variants: [+x]\n",
		"t/env":     "environment:\n    K/y: 1\n    K: 2\n",
		"t/dropall": "environment:\n    K/y: 1\nvariants: [-y]\n",
	},
	lists: []jobsList{{want: `
		alpha:debian-12-64:t/dropall
		alpha:debian-12-64:t/env:y
		alpha:debian-12-64:t/none
		alpha:debian-12-64:t/plus:x
	`}},
}}
