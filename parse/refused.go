package parse

import "strings"

// This file holds the matches ctmatch refuses for good, with the reason: no
// nft expression does what their kernel module does (-m physdev,
// -m hashlimit, -m set, -m string). Each is refused (Unsupported) at its
// name, and its options are still read as iptables 1.8.9 reads them (how
// many values each takes, which take "!", which are required), so that an
// invalid word anywhere in the rule still makes it Invalid.

// refusedModule is a match ctmatch refuses: why, what to do instead, its
// options (extensions/libxt_*.c), and what iptables requires of them once
// every word is read.
type refusedModule struct {
	why, hint string
	v6only    bool // an ip6tables match: iptables has none of that name
	once      bool // each option at most once (libxtables' x6 parser: "can only be used once")
	specs     []optSpec
	// check returns the message of iptables' final check, or "" when the
	// options given pass it.
	check func(given map[string]bool) string
	// value, when set, reads the value of each option that takes one as
	// iptables reads it, and returns an Invalid error for a value iptables
	// refuses (nil: any value).
	value func(p *parser, opt string, v word) error
}

// refusedUse is one refused match of the rule: its name word and the
// options given to it, by their full names.
type refusedUse struct {
	module string
	name   word
	given  map[string]bool
	at     map[string]word // the word of each option given (the last one)
	last   string          // the option given last
}

// refusedSpecs builds the options of a refused module: each name with the
// number of values it takes, "!" allowed when it ends in "!".
func refusedSpecs(module, what string, opts ...string) []optSpec {
	specs := make([]optSpec, 0, len(opts))
	for _, o := range opts {
		name, args, _ := strings.Cut(o, "/")
		inv := strings.HasSuffix(args, "!")
		args = strings.TrimSuffix(args, "!")
		specs = append(specs, optSpec{long: name, unsupported: what, args: int(args[0] - '0'), invertible: inv, refused: module})
	}
	return specs
}

// oneOf returns a check that one of names was given.
func oneOf(msg string, names ...string) func(map[string]bool) string {
	return func(given map[string]bool) string {
		for _, n := range names {
			if given[n] {
				return ""
			}
		}
		return msg
	}
}

var refusedModules = map[string]*refusedModule{
	"physdev": {
		once: true,
		why:  "it reads the bridge ports a bridged packet came in and goes out on (xt_physdev, through br_netfilter); no nft expression reads them in ip, ip6 or inet tables",
		hint: "match bridge ports in an nft bridge table (iifname and oifname there name the port), or keep this rule in iptables",
		specs: refusedSpecs("physdev", "-m physdev",
			"physdev-in/1!", "physdev-out/1!", "physdev-is-in/0!", "physdev-is-out/0!", "physdev-is-bridged/0!"),
		check: func(given map[string]bool) string {
			if len(given) == 0 {
				return "physdev: no physdev option specified"
			}
			return ""
		},
	},
	"hashlimit": {
		once: true,
		why:  "it keeps a token bucket per flow in its own hash table (xt_hashlimit: credits in jiffies, its own expiry and garbage collection); nft's meters and limit statement count and expire otherwise",
		hint: "write an nft meter (meter NAME { ip saddr limit rate 5/second }) if its behaviour is close enough, or keep this rule in iptables",
		specs: refusedSpecs("hashlimit", "-m hashlimit",
			"hashlimit-upto/1!", "hashlimit-above/1!", "hashlimit/1", "hashlimit-mode/1", "hashlimit-srcmask/1",
			"hashlimit-dstmask/1", "hashlimit-name/1", "hashlimit-burst/1", "hashlimit-htable-size/1",
			"hashlimit-htable-max/1", "hashlimit-htable-gcinterval/1", "hashlimit-htable-expire/1",
			"hashlimit-rate-match/0", "hashlimit-rate-interval/1"),
		check: func(given map[string]bool) string {
			switch {
			case given["hashlimit-upto"] && given["hashlimit-above"]:
				return "hashlimit: option \"--hashlimit-upto\" cannot be used together with \"--hashlimit-above\""
			case !given["hashlimit-upto"] && !given["hashlimit-above"] && !given["hashlimit"]:
				return "You have to specify --hashlimit"
			case !given["hashlimit-name"]:
				return "hashlimit: option \"--hashlimit-name\" must be specified"
			}
			return ""
		},
	},
	"set": {
		why:  "it looks up an ipset, whose contents live in the kernel's ip_set module; nft cannot read an ipset, and the rule means nothing without the set's contents",
		hint: "make an nft set with the ipset's elements (ipset list NAME) and match it with ip saddr @NAME, or keep this rule in iptables",
		specs: refusedSpecs("set", "-m set",
			"match-set/2!", "set/2!", "return-nomatch/0", "update-counters/0!", "update-subcounters/0!",
			"packets-eq/1!", "packets-lt/1", "packets-gt/1", "bytes-eq/1!", "bytes-lt/1", "bytes-gt/1"),
		check: oneOf("You must specify `--match-set' with proper arguments", "match-set", "set"),
	},
	"rt": {
		once:   true,
		why:    "xt's rt match holds only when the whole routing header, as long as its length field says, is in the packet (ip6t_rt.c: skb->len - ptr < hdrlen is no match), which nft's exthdr expression does not test, and --rt-0-addrs searches the type 0 header's address list",
		hint:   "keep this rule in ip6tables; nft's rt type, rt seg-left and rt0 addr[N] test the fields without the length check",
		v6only: true,
		specs: refusedSpecs("rt", "-m rt",
			"rt-type/1!", "rt-segsleft/1!", "rt-len/1!", "rt-0-res/0", "rt-0-addrs/1", "rt-0-not-strict/0"),
		check: func(given map[string]bool) string {
			switch {
			case (given["rt-0-res"] || given["rt-0-addrs"]) && !given["rt-type"]:
				return "`--rt-type 0' required before `--rt-0-res' and `--rt-0-addrs'"
			case given["rt-0-not-strict"] && !given["rt-0-addrs"]:
				return "`--rt-0-addr ...' required before `--rt-0-not-strict'"
			}
			return ""
		},
	},
	"string": {
		once: true,
		why:  "it searches the packet's bytes for a string (xt_string: the kernel's Boyer-Moore or KMP text search between --from and --to); nft has no expression that searches a packet",
		hint: "keep this rule in iptables",
		specs: refusedSpecs("string", "-m string",
			"from/1", "to/1", "algo/1", "icase/0", "string/1!", "hex-string/1!"),
		check: func(given map[string]bool) string {
			if !given["algo"] {
				return "string: option \"--algo\" must be specified"
			}
			if given["string"] && given["hex-string"] {
				return "string: option \"--string\" cannot be used together with \"--hex-string\""
			}
			if !given["string"] && !given["hex-string"] {
				return "STRING match: You must specify `--string' or `--hex-string'"
			}
			return ""
		},
	},
}

// refusedLoad reads -m NAME of a refused module: it is valid iptables that
// ctmatch refuses, with the reason, and its options are read from now on.
func (p *parser) refusedLoad(v word) error {
	mod := refusedModules[v.val]
	if mod.v6only && p.opts.Family != IPv6 {
		return p.errorf(v, "unknown match %q: iptables has no %s match (it is ip6tables')", v.val, v.val)
	}
	p.refused = append(p.refused, &refusedUse{module: v.val, name: v, given: map[string]bool{}})
	e := p.unsupportedf(v, "match -m %s is an iptables match that ctmatch cannot translate exactly: %s", v.val, mod.why)
	e.Hint = mod.hint
	return e
}

// refusedSpecExact returns the option named name exactly of a loaded
// refused module, the newest first, or nil.
func (p *parser) refusedSpecExact(name string) *optSpec {
	for i := len(p.refused) - 1; i >= 0; i-- {
		specs := p.refused[i].mod().specs
		for j := range specs {
			if specs[j].long == name {
				return &specs[j]
			}
		}
	}
	return nil
}

// refusedSpecsLoaded calls add with the options of every loaded refused
// module.
func (p *parser) refusedSpecsLoaded(add func([]optSpec)) {
	for _, u := range p.refused {
		add(u.mod().specs)
	}
}

// refusedGiven records that option w of a refused module was given, for
// the last match of that module, and refuses it given twice where iptables
// does.
func (p *parser) refusedGiven(w word, spec *optSpec) error {
	for i := len(p.refused) - 1; i >= 0; i-- {
		u := p.refused[i]
		if u.module != spec.refused {
			continue
		}
		if u.given[spec.long] && u.mod().once {
			return p.errorf(w, "%s: option \"--%s\" can only be used once", u.module, spec.long)
		}
		u.given[spec.long] = true
		if u.at == nil {
			u.at = map[string]word{}
		}
		u.at[spec.long], u.last = w, spec.long
		return nil
	}
	return nil
}

// checkRefused checks, once every word is read, what iptables requires of
// each refused match's options.
func (p *parser) checkRefused() error {
	for _, u := range p.refused {
		if msg := u.mod().check(u.given); msg != "" {
			return p.errorf(u.name, "%s", msg)
		}
		if err := p.checkRefusedTarget(u); err != nil {
			return err
		}
	}
	return nil
}

// refusedValue reads the value of option spec (word w) of a refused match
// or target, when its module reads values: the value is only looked at,
// unsupportedOption then takes it. An option after a "!" it does not take,
// or without its value, is left to unsupportedOption, which refuses it as
// iptables does before it reads the value.
func (p *parser) refusedValue(w word, neg *word, spec *optSpec, attached string, hasValue bool) error {
	mod := (&refusedUse{module: spec.refused}).mod()
	if mod == nil || mod.value == nil || spec.args == 0 || neg != nil && !spec.invertible {
		return nil
	}
	var v word
	switch {
	case hasValue:
		off := len(w.val) - len(attached)
		if attached == "" {
			off-- // at the "=", as value places it
		}
		v = word{val: attached, pos: w.at(off), end: w.end}
	case p.i < len(p.words):
		v = p.words[p.i]
	default:
		return nil
	}
	return mod.value(p, spec.long, v)
}
