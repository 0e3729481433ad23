package parse

// targetOptionOnce refuses an option of the -j target that ctmatch does not
// take (CT's --zone, CONNMARK's --left-shift-mark …) when it is given a
// second time, as iptables 1.8.9 does for every option of those targets
// (libxtables' xtables_option_parse: "can only be used once", after its
// test of "!"). The options ctmatch takes are counted in targetOption.
func (p *parser) targetOptionOnce(w word, neg *word, spec *optSpec) error {
	t := p.rule.Target
	if t == nil || t.Kind != TargetExtension || neg != nil && !spec.invertible {
		return nil
	}
	specs := targetSpecs[t.Name]
	mine := false
	for i := range specs {
		mine = mine || &specs[i] == spec
	}
	if !mine {
		return nil
	}
	if p.targetGiven[spec.long] {
		return p.errorf(w, "%s: option \"--%s\" can only be used once", t.Name, spec.long)
	}
	if p.targetGiven == nil {
		p.targetGiven = map[string]bool{}
	}
	p.targetGiven[spec.long] = true
	return nil
}
