package main

import "github.com/ctmatch/ctmatch/parse"

// caveats prints the caveats of the rules a command loads (ctmatch.Rule.
// Caveats: what the nft rules do otherwise than the xt modules, or what
// other tools cannot read of them) as warnings, the first of each kind in
// the run only, as translate does: a rule loaded into the kernel deserves
// the same word as one printed.
type caveats struct{ said map[string]bool }

// say prints the caveats of kinds not said yet, at src.
func (c *caveats) say(rep *reporter, src source, cs []*parse.Error) {
	for _, cv := range cs {
		if c.said[cv.Hint] {
			continue
		}
		if c.said == nil {
			c.said = map[string]bool{}
		}
		c.said[cv.Hint] = true
		rep.warnLine(src, cv)
	}
}
